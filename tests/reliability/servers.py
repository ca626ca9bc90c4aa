"""FerretDB processes with extra flags (authentication, TLS) for the fault and security tests.

``tests/servers.py`` starts plain servers; these add flags it has no place for, and ping
with credentials or TLS where the server needs them.
"""
from __future__ import annotations

from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from tests.servers import FerretDB

USER, PASSWORD = "alice", "alice-pw-0d5c1e"


class FlaggedFerretDB(FerretDB):
    """A FerretDB with extra command-line flags; ``ping_uri`` is what proves it is up."""

    def __init__(self, data_dir: Path, flags: list[str], *, ping_uri: str | None = None, ping_options=None):
        super().__init__(data_dir)
        self.flags = list(flags)
        self.ping_uri = ping_uri or self.uri
        self.ping_options = dict(ping_options or {})

    def _extra_args(self) -> list[str]:
        return self.flags

    def _answers(self) -> bool:
        client = MongoClient(self.ping_uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500, **self.ping_options)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()


def auth_ferretdb(data_dir: Path) -> FlaggedFerretDB:
    """A FerretDB that enforces logins (v1.24: the experimental new authentication) with one user."""
    flags = ["--test-enable-new-auth", f"--setup-username={USER}", f"--setup-password={PASSWORD}",
             "--setup-database=admin"]
    server = FlaggedFerretDB(data_dir, flags)
    server.ping_uri = f"mongodb://{USER}:{PASSWORD}@127.0.0.1:{server.port}/"
    return server.start()


def user_uri(server: FerretDB, password: str, db: str = "") -> str:
    """A URI for the auth server's user with ``password`` (right or wrong)."""
    return f"mongodb://{USER}:{password}@127.0.0.1:{server.port}/{db}?authSource=admin"
