"""Real servers for tests: FerretDB processes on loopback ports, and a socket that never answers."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

FERRETDB_VERSION = "v1.24.2"


def ferretdb_binary() -> Path:
    """The FerretDB binary: ``$FERRETDB_BIN`` or the one ``.ci/build-ferretdb`` builds."""
    explicit = os.environ.get("FERRETDB_BIN")
    if explicit:
        return Path(explicit)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "eventlens" / f"ferretdb-{FERRETDB_VERSION}"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(uri: str, timeout_s: float) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client = MongoClient(uri, serverSelectionTimeoutMS=int(timeout_s * 1000), connectTimeoutMS=int(timeout_s * 1000))
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


class FerretDB:
    """One FerretDB process with the SQLite handler in its own folder; restartable on the same port."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.binary = ferretdb_binary()
        if not (self.binary.is_file() and os.access(self.binary, os.X_OK)):
            raise RuntimeError(
                f"FerretDB binary not found at {self.binary}: run `bash .ci/build-ferretdb` "
                "(or set FERRETDB_BIN, or MONGODB_URI to use a server of your own)"
            )
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None
        self._log = self.data_dir / "ferretdb.log"

    def start(self, wait_s: float = 30.0) -> "FerretDB":
        """Start the process (again, on the same port and data) and wait until it answers ``ping``."""
        if self.running:
            return self
        args = [
            str(self.binary),
            *self._handler_args(),
            f"--state-dir={self.data_dir}",
            f"--listen-addr=127.0.0.1:{self.port}",
            "--debug-addr=127.0.0.1:0",
            "--telemetry=disable",
            "--log-level=error",
            *self._extra_args(),
        ]
        with open(self._log, "ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"FerretDB exited with {self.process.returncode}: {self._tail()}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"FerretDB did not answer ping within {wait_s}s: {self._tail()}")

    # Hooks for servers with another handler (bench/servers.py) or extra flags (tests/reliability).
    def _handler_args(self) -> list[str]:
        return ["--handler=sqlite", f"--sqlite-url=file:{self.data_dir}/"]

    def _extra_args(self) -> list[str]:
        return []

    def _answers(self) -> bool:
        return _ping(self.uri, 0.5)

    def stop(self) -> None:
        """Stop the process (the data stays, so ``start`` resumes it)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def kill(self) -> None:
        """Kill the process without warning, as a crash would."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def remove_data(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def _tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


class SilentServer:
    """A TCP server that accepts connections and never answers: a hung database."""

    def __init__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._held.append(conn)  # keep it open and say nothing

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._held:
            conn.close()
        self._sock.close()
