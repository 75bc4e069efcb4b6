"""Run an app under a real uvicorn server in a background thread (tests, benchmarks, demos).

>>> # with live_server(app) as base_url: httpx.get(f"{base_url}/healthz")

The server binds 127.0.0.1 on a free port, runs the app's lifespan (so the audit writer is
started and drained on exit) and is stopped -- gracefully -- when the block ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(
    app: Any,
    *,
    port: int | None = None,
    start_timeout: float = 30.0,
    loop: str = "uvloop",
    http: str = "httptools",
) -> Iterator[str]:
    """Serve ``app`` on ``http://127.0.0.1:<port>`` for the duration of the block.

    Raises ``RuntimeError`` when the server does not come up within ``start_timeout``.
    """
    chosen = port if port is not None else free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=chosen,
        log_level="warning",
        access_log=False,
        loop=loop,
        http=http,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{chosen}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{chosen}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{chosen}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
