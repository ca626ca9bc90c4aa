"""Credentials never reach stdout, stderr, logs, settings, window titles, messages or exported files.

Each test uses a password no other test uses and searches every output for it (raw and
URL-encoded); the figures are printed at the end of the module (``pytest -s``).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from model.event import NewEvent
from tests.reliability.servers import PASSWORD, USER, user_uri

SEARCHED: list[tuple[str, int]] = []  # (output, hits)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def report_searches():
    yield
    hits = sum(h for _, h in SEARCHED)
    print(f"\n[security] secrets searched for in {len(SEARCHED)} outputs, found {hits} times")
    for kind in sorted({k.split(':')[0] for k, _ in SEARCHED}):
        print(f"  {kind}: {sum(1 for k, _ in SEARCHED if k.split(':')[0] == kind)}")


def assert_clean(where: str, text: str | bytes, *secrets: str) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    hits = sum(text.count(s) + (text.count(quote(s, safe="")) if quote(s, safe="") != s else 0) for s in secrets)
    SEARCHED.append((where, hits))
    assert hits == 0, f"secret found in {where}: {text[:300]!r}"


def log_text(caplog) -> str:
    return "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)


CLI_COMMANDS = [
    ["streams"], ["streams", "--json"], ["events", "acct-1"], ["events", "acct-1", "--format", "csv"],
    ["state", "acct-1"], ["diff", "acct-1", "0", "1"], ["snapshot", "create", "acct-1"], ["snapshot", "list", "acct-1"],
    ["snapshot", "verify", "acct-1"], ["check"], ["layout", "detect"], ["demo", "--streams", "1"],
]


def _targets(request, secret):
    server = request.getfixturevalue("auth_server")
    closed = request.getfixturevalue("closed_port_uri")
    silent = request.getfixturevalue("silent_server")
    hostport = closed.split("//")[1].rstrip("/")
    return {
        "refused login": user_uri(server, secret, "shop"),
        "refused login, secret with URL escapes": user_uri(server, quote(secret + "@/:%", safe=""), "shop"),
        "unreachable": f"mongodb://{USER}:{secret}@{hostport}/shop?authSource=admin",
        "never answers": f"mongodb://{USER}:{secret}@127.0.0.1:{silent.port}/shop",
    }


@pytest.mark.parametrize("target", ["refused login", "refused login, secret with URL escapes", "unreachable", "never answers"])
def test_cli_never_shows_the_password(request, secret, target, capfd, all_logs, tmp_path):
    from ui.cli import main

    uri = _targets(request, secret)[target]
    secrets = (secret, secret + "@/:%")
    for argv in CLI_COMMANDS + [["copy", "--to", str(tmp_path / "copy.sqlite")]]:
        code = main([*argv, "--uri", uri, "--timeout", "1"])
        out, err = capfd.readouterr()
        assert code == 1, (argv, err)
        assert err.startswith("eventlens: ") and err.count("\n") == 1, err
        assert_clean(f"cli stdout: {target} {argv[0]}", out, *secrets)
        assert_clean(f"cli stderr: {target} {argv[0]}", err, *secrets)
    assert_clean(f"logs: cli {target}", log_text(all_logs), *secrets)


def test_cli_process_stderr_never_shows_the_password(request, secret, tmp_path):
    uri = _targets(request, secret)["refused login"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "EVENTLENS_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "state", "acct-1", "--uri", uri, "--timeout", "2"],
                            capture_output=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 1
    assert b"login refused" in result.stderr
    assert_clean("process stderr: refused login", result.stderr, secret)
    assert_clean("process stdout: refused login", result.stdout, secret)


def test_cli_exports_with_the_right_password_hold_no_password(auth_server, tmp_path, capfd, all_logs):
    from store.connect import open_store
    from ui.cli import main

    uri = user_uri(auth_server, PASSWORD, "shop")
    with open_store(uri) as store:
        store.append("acct-1", [NewEvent("Opened", {"owner": "ann"}), NewEvent("Deposited", {"amount": 5})], 0)
    target = tmp_path / "copy.sqlite"
    for argv in (["events", "acct-1"], ["events", "acct-1", "--format", "csv"], ["state", "acct-1"],
                 ["snapshot", "create", "acct-1"], ["snapshot", "list", "acct-1", "--json"], ["streams", "--json"],
                 ["copy", "--to", str(target)]):
        assert main([*argv, "--uri", uri]) == 0, argv
        out, err = capfd.readouterr()
        assert_clean(f"cli stdout: export {argv[0]}", out, PASSWORD)
        assert_clean(f"cli stderr: export {argv[0]}", err, PASSWORD)
    assert_clean("exported file: copy (embedded store)", target.read_bytes(), PASSWORD)
    assert_clean("logs: cli exports", log_text(all_logs), PASSWORD)


# -- the GUI ---------------------------------------------------------------------------------------


def _settings_text(window) -> str:
    window.settings.sync()
    path = Path(window.settings.qsettings.fileName())
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _window_texts(window) -> dict[str, str]:
    return {"window title": window.windowTitle(), "banner": window.banner.text(),
            "status bar": window.statusBar().currentMessage(), "connection label": window.status.connection.text()}


@pytest.mark.parametrize("target", ["refused login", "unreachable"])
def test_gui_failed_connection_never_shows_or_saves_the_password(request, qtbot, window, secret, target, capfd, all_logs):
    from ui.session.connection import Connection

    uri = _targets(request, secret)[target]
    typed = Connection(uri=uri.replace(f":{secret}@", "@"), password=secret, timeout_s=1.0)
    for connection in (Connection(uri=uri, timeout_s=1.0), typed):  # in the URI, and typed in the dialog
        with qtbot.waitSignal(window.connectFailed, timeout=20_000) as failed:
            window.connect_to(connection)
        assert failed.args[0]
        assert_clean(f"gui message: {target}", failed.args[0], secret)
        for where, text in _window_texts(window).items():
            assert_clean(f"gui {where}: {target}", text, secret)
    window.close()
    assert_clean(f"settings file: {target}", _settings_text(window), secret)
    out, err = capfd.readouterr()
    assert_clean(f"gui stdout/stderr: {target}", out + err, secret)
    assert_clean(f"logs: gui {target}", log_text(all_logs), secret)


def test_gui_connected_with_a_password_keeps_it_out_of_title_settings_and_exports(qtbot, window, auth_server, tmp_path,
                                                                                  capfd, all_logs):
    from store.connect import open_store
    from ui.session.connection import Connection

    uri = user_uri(auth_server, PASSWORD, "shop")
    with open_store(uri) as store:
        store.append("acct-1", [NewEvent("Opened", {"owner": "ann"}), NewEvent("Deposited", {"amount": 5})], 0)
    for connection in (Connection(uri=uri), Connection(uri=uri.replace(f":{PASSWORD}@", "@"), password=PASSWORD)):
        with qtbot.waitSignal(window.connected, timeout=20_000):
            window.connect_to(connection)
        with qtbot.waitSignal(window.streamLoaded, timeout=20_000):
            window.open_stream("acct-1")
        for where, text in _window_texts(window).items():
            assert_clean(f"gui {where}: connected", text, PASSWORD)
        assert USER in window.windowTitle()  # the title names the connection, only without the secret
        for name in ("events.ndjson", "events.csv", "state.json"):
            path = tmp_path / name
            with qtbot.waitSignal(window.exported, timeout=20_000):
                (window.export_state if name == "state.json" else window.export_events)(str(path))
            assert path.stat().st_size > 0
            assert_clean(f"exported file: gui {name}", path.read_bytes(), PASSWORD)
        image = tmp_path / "timeline.png"
        window.export_timeline(str(image))
        if image.exists():
            assert_clean("exported file: gui timeline.png", image.read_bytes(), PASSWORD)
    recent = window.settings.recent()
    assert recent and all(PASSWORD not in c.uri and not c.password for c in recent)
    window.close()
    assert_clean("settings file: connected", _settings_text(window), PASSWORD)
    out, err = capfd.readouterr()
    assert_clean("gui stdout/stderr: connected", out + err, PASSWORD)
    assert_clean("logs: gui connected", log_text(all_logs), PASSWORD)
