"""TLS options reach pymongo from the URI, from open_store's keywords and from the GUI's connection,
and work for real against FerretDB listening with TLS and requiring client certificates."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from model.errors import StoreError, StoreUnavailable
from store.connect import open_store, tls_options
from tests.reliability.servers import FlaggedFerretDB
from tests.servers import free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make certificates")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, str]:
    """A private CA, a server certificate for 'localhost' only, and a client certificate with its key."""
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=EventLens Test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
    for name, subject in (("server", "/CN=localhost"), ("client", "/CN=eventlens-client")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subject, cwd=d)
        extra = ["-extfile", "server.ext"] if name == "server" else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", *extra, cwd=d)
    (d / "client.pem").write_text((d / "client.crt").read_text() + (d / "client.key").read_text())
    return {"ca": str(d / "ca.pem"), "server_cert": str(d / "server.crt"), "server_key": str(d / "server.key"),
            "client": str(d / "client.pem")}


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, certs):
    """FerretDB with a TLS listener that requires a client certificate signed by the test CA."""
    port = free_port()
    flags = [f"--listen-tls=127.0.0.1:{port}", f"--listen-tls-cert-file={certs['server_cert']}",
             f"--listen-tls-key-file={certs['server_key']}", f"--listen-tls-ca-file={certs['ca']}"]
    server = FlaggedFerretDB(tmp_path_factory.mktemp("tls-ferretdb"), flags,
                             ping_uri=f"mongodb://localhost:{port}/",
                             ping_options={"tls": True, "tlsCAFile": certs["ca"], "tlsCertificateKeyFile": certs["client"]})
    server.tls_port = port
    server.start()
    yield server
    server.stop()


def client_options(store) -> dict:
    """The TLS settings pymongo's client was built with (validated option names are lower case)."""
    options = store._client.options._options
    return {k: options.get(k) for k in ("tls", "tlscafile", "tlscertificatekeyfile", "tlsallowinvalidhostnames")}


def test_tls_from_open_store_keywords_connects_for_real(tls_server, certs):
    uri = f"mongodb://localhost:{tls_server.tls_port}/tls_kw"
    with open_store(uri, tls_ca_file=certs["ca"], tls_cert_file=certs["client"], timeout_s=5) as store:
        assert store.streams() == []
        assert client_options(store) == {"tls": True, "tlscafile": certs["ca"],
                                         "tlscertificatekeyfile": certs["client"], "tlsallowinvalidhostnames": None}


def test_tls_from_the_uri_connects_for_real(tls_server, certs):
    uri = (f"mongodb://localhost:{tls_server.tls_port}/tls_uri?tls=true&tlsCAFile={certs['ca']}"
           f"&tlsCertificateKeyFile={certs['client']}")
    with open_store(uri, timeout_s=5) as store:
        assert store.count_streams() == 0
        assert client_options(store)["tlscafile"] == certs["ca"]
        assert client_options(store)["tlscertificatekeyfile"] == certs["client"]
        assert client_options(store)["tlsallowinvalidhostnames"] is None


def test_invalid_hostnames_are_allowed_only_when_asked(tls_server, certs):
    uri = f"mongodb://127.0.0.1:{tls_server.tls_port}/tls_host"  # the certificate names only localhost
    with pytest.raises(StoreUnavailable) as caught:
        open_store(uri, tls_ca_file=certs["ca"], tls_cert_file=certs["client"], timeout_s=2)
    assert "\n" not in str(caught.value)
    with open_store(uri, tls_ca_file=certs["ca"], tls_cert_file=certs["client"], tls_allow_invalid_hostnames=True,
                    timeout_s=5) as store:
        assert client_options(store)["tlsallowinvalidhostnames"] is True
        assert store.streams() == []
    assert "tlsAllowInvalidHostnames" not in tls_options(certs["ca"], certs["client"], None)
    assert "tlsAllowInvalidHostnames" not in tls_options(certs["ca"], certs["client"], False)


@pytest.mark.parametrize("missing", ["ca", "client certificate"])
def test_missing_ca_or_client_certificate_is_a_clear_error(tls_server, certs, missing):
    uri = f"mongodb://localhost:{tls_server.tls_port}/tls_missing"
    kwargs = {"tls_ca_file": certs["ca"], "tls_cert_file": certs["client"]}
    kwargs.pop("tls_ca_file" if missing == "ca" else "tls_cert_file")
    with pytest.raises(StoreError) as caught:
        open_store(uri, timeout_s=2, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and f"localhost:{tls_server.tls_port}" in message


def test_gui_connection_passes_tls_options(qtbot, window, tls_server, certs):
    from ui.session.connection import Connection

    connection = Connection(uri=f"mongodb://localhost:{tls_server.tls_port}/tls_gui", tls_ca_file=certs["ca"],
                            tls_cert_file=certs["client"], timeout_s=5)
    with qtbot.waitSignal(window.connected, timeout=20_000):
        window.connect_to(connection)
    assert client_options(window.store)["tlscafile"] == certs["ca"]
    assert client_options(window.store)["tlscertificatekeyfile"] == certs["client"]
    assert window.settings.recent()[0].tls_ca_file == certs["ca"]  # remembered: a path is not a secret
