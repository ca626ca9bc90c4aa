"""Servers for the benchmarks: a private PostgreSQL cluster behind FerretDB, or FerretDB on SQLite.

Each server keeps its data in a folder under ``bench/data/`` so a built data set survives
between runs. ``MONGODB_URI`` needs no server from here.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import FerretDB, ferretdb_binary, free_port  # noqa: E402  (the fixtures' FerretDB)

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
PG_USER = "postgres"


class BenchError(RuntimeError):
    """A server that cannot start; the message says what to install or fix."""


def pg_bin() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    for folder in PG_BIN_DIRS:
        if (folder / "postgres").is_file():
            return folder
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise BenchError("PostgreSQL is not installed: `apt-get install postgresql` (Debian/Ubuntu), then run again")


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; as root we run it as the postgres system user.
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *args]
    return args


class PostgreSQL:
    """A private PostgreSQL cluster in ``data_dir`` on a free loopback port (trust auth, no TCP from outside)."""

    def __init__(self, data_dir: Path):
        self.bin = pg_bin()
        self.data_dir = Path(data_dir).resolve()
        self.port = free_port()
        self.socket_dir = self.data_dir.parent / (self.data_dir.name + "-socket")
        self.log = self.data_dir.parent / (self.data_dir.name + ".log")

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, PG_USER, PG_USER)

    def start(self) -> "PostgreSQL":
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.socket_dir)
        if not (self.data_dir / "PG_VERSION").is_file():
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir.mkdir(parents=True)
            self._own(self.data_dir)
            self._run([str(self.bin / "initdb"), "-D", str(self.data_dir), "-U", PG_USER, "--auth=trust",
                       "--encoding=UTF8", "--no-locale"])
        self.log.touch()
        self._own(self.log)
        self.stop()  # a cluster left running by a run that crashed
        # Benchmarks measure reads; fsync off only speeds up building the data set.
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.socket_dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c shared_buffers=512MB -c max_connections=50")
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log), "-o", options,
                   "-w", "-t", "60", "start"])
        exists = self._run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
                            "-tAc", "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'"], capture=True)
        if exists.strip() != "1":
            self._run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "ferretdb"])
        return self

    @property
    def url(self) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/ferretdb"

    def version(self) -> str:
        out = self._run([str(self.bin / "postgres"), "--version"], capture=True)
        return out.strip()

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], check=False)

    def _run(self, args: list[str], *, capture: bool = False, check: bool = True) -> str:
        done = subprocess.run(_as_postgres(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd="/", stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise BenchError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stdout.strip()[-800:]}")
        return done.stdout if capture else ""


class FerretOnPostgres(FerretDB):
    """FerretDB v1 with the PostgreSQL handler, over a private :class:`PostgreSQL`."""

    def __init__(self, data_dir: Path):
        super().__init__(Path(data_dir) / "ferretdb")
        self.postgres = PostgreSQL(Path(data_dir) / "pg")

    def start(self, wait_s: float = 60.0) -> "FerretOnPostgres":
        self.postgres.start()
        try:
            return super().start(wait_s)
        except RuntimeError as error:
            self.postgres.stop()
            raise BenchError(str(error)) from None

    def _handler_args(self) -> list[str]:
        return ["--handler=postgresql", f"--postgresql-url={self.postgres.url}"]

    def stop(self) -> None:
        super().stop()
        self.postgres.stop()

    def describe(self) -> str:
        return f"FerretDB v1.24.2 (PostgreSQL handler, {self.postgres.version()})"


class FerretOnSQLite(FerretDB):
    """FerretDB v1 with the SQLite handler, for comparison (it filters most queries after a full scan)."""

    def describe(self) -> str:
        return "FerretDB v1.24.2 (SQLite handler)"


class External:
    """A server the user runs (``MONGODB_URI``); nothing to start or stop."""

    def __init__(self, uri: str):
        self.uri = uri

    def start(self) -> "External":
        return self

    def stop(self) -> None:
        pass

    def describe(self) -> str:
        from pymongo import MongoClient

        from store.uri import redact

        client = MongoClient(self.uri, serverSelectionTimeoutMS=5000)
        try:
            build = client.admin.command("buildInfo")
        finally:
            client.close()
        name = f"FerretDB {build['ferretdbVersion']}" if "ferretdbVersion" in build else f"MongoDB {build.get('version')}"
        return f"{name} at {redact(self.uri)}"


def open_server(kind: str, data_dir: Path):
    """``postgresql``, ``sqlite`` or a ``mongodb://`` URI: a started server with ``uri`` and ``describe()``."""
    if kind.startswith("mongodb://") or kind.startswith("mongodb+srv://"):
        return External(kind).start()
    if not ferretdb_binary().is_file():
        raise BenchError(f"FerretDB binary not found at {ferretdb_binary()}: run `bash .ci/build-ferretdb`")
    if kind == "postgresql":
        return FerretOnPostgres(data_dir).start()
    if kind == "sqlite":
        return FerretOnSQLite(data_dir).start()
    raise BenchError(f"unknown server {kind!r}: use postgresql, sqlite or a mongodb:// URI")
