"""Load generators for HTTP benchmarks: ``wrk`` (C, the real tool), a Python fallback (16
threads of keep-alive httpx clients), and an in-process ASGI driver that measures the server's
own CPU time per request without any HTTP client competing for the cores.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = str(Path(__file__).resolve().parents[2]) + "/"
WRK_LUA = """
wrk.method = "POST"
wrk.body   = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def load_wrk(url: str, body: str, token: str, seconds: int, connections: int) -> dict[str, Any]:
    """``connections`` keep-alive connections over 2 threads for ``seconds``; wrk's
    ``--latency`` percentiles. Raises ``RuntimeError`` on any non-2xx answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_LUA.replace("{body}", body).replace("{token}", token))
    try:
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", fh.name, url]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    finally:
        os.unlink(fh.name)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr[-2000:]}")
    pct = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"wrk saw {non2xx.group(1)} error responses:\n{out}")
    return {
        "p50_ms": _ms(pct["50"]),
        "p99_ms": _ms(pct["99"]),
        "requests_per_second": rps,
        "tool": "wrk",
    }


def load_python(
    url: str, body: str, token: str, requests_each: int, connections: int
) -> dict[str, Any]:
    """``connections`` threads, one keep-alive httpx client each, ``requests_each`` POSTs per
    thread. The clients share the machine (and a GIL) with nothing else but cost CPU: on 2
    cores they cap the throughput they can measure."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[int] = []

    def worker() -> None:
        mine = []
        with httpx.Client(headers=headers, timeout=30) as client:
            for _ in range(requests_each):
                t = time.perf_counter()
                r = client.post(url, content=body)
                mine.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors.append(r.status_code)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} error responses, e.g. {errors[0]}")
    lat = np.array(latencies) * 1e3
    return {
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "requests_per_second": len(lat) / wall,
        "tool": f"python-httpx-{connections}-threads",
    }


async def _asgi_post(app: Any, path: str, body: bytes, token: str) -> int:
    """One POST through the ASGI app, in process; returns the status."""
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never: the request body was complete
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


def asgi_per_request(
    app: Any, path: str, body: bytes, token: str, n: int, *, profile: bool = False
) -> dict[str, Any]:
    """Server-side time of one request: ``n`` sequential POSTs through ``app`` in process
    (middleware, auth, routing, handler, serialisation; no sockets, no HTTP parsing, no
    client). Runs the app's lifespan. With ``profile``, also the top functions by own time
    under cProfile (a second pass; profiling inflates the times)."""

    async def run() -> dict[str, Any]:
        async with app.router.lifespan_context(app):
            for _ in range(max(n // 10, 5)):  # warm-up
                status = await _asgi_post(app, path, body, token)
                if status != 200:
                    raise RuntimeError(f"in-process POST {path}: status {status}")
            start = time.perf_counter()
            for _ in range(n):
                await _asgi_post(app, path, body, token)
            out: dict[str, Any] = {"us_per_request": (time.perf_counter() - start) / n * 1e6}
            if profile:
                prof = cProfile.Profile()
                prof.enable()
                for _ in range(n):
                    await _asgi_post(app, path, body, token)
                prof.disable()
                out["profile"] = top_functions(prof, n)
            return out

    return asyncio.run(run())


def top_functions(prof: cProfile.Profile, n: int, count: int = 12) -> list[dict[str, Any]]:
    """The ``count`` functions with the most own time (excluding callees), per request."""
    stats = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (file, line, name), (_, calls, own, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = file.split("site-packages/")[-1].removeprefix(ROOT)
        rows.append(
            {
                "function": f"{where}:{line}({name})",
                "calls_per_request": calls / n,
                "own_us": own / n * 1e6,
                "cumulative_us": cum / n * 1e6,
            }
        )
    rows.sort(key=lambda r: -r["own_us"])
    return rows[:count]
