"""A bounded load test of the HTTP service on the loopback: a fixed number of requests from a fixed number of
concurrent clients, stopping by itself; throughput, latency quantiles, status counts and the process's peak RSS; and
how fast a full server answers 503."""

from __future__ import annotations

import asyncio
import resource
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from face2sketch.inference.api import Model
from face2sketch.service.limits import Limits


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def loopback_server(models: dict[str, Model], limits: Limits) -> Iterator[str]:
    """The service over ``models`` on a free loopback port, in a thread of this process; its base URL."""
    import uvicorn

    from face2sketch.service.app import build_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_app(models, limits), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


async def _hammer(url: str, body: bytes, requests: int, clients: int) -> list[tuple[int, float]]:
    import httpx

    remaining = iter(range(requests))
    results: list[tuple[int, float]] = []

    async def client(session: httpx.AsyncClient) -> None:
        for _ in remaining:
            started = time.perf_counter()
            answer = await session.post(url, content=body)
            results.append((answer.status_code, time.perf_counter() - started))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return results


def load_test(url: str, body: bytes, requests: int, clients: int) -> dict[str, Any]:
    """``requests`` POSTs of ``body`` to ``url`` from ``clients`` concurrent clients: statuses, throughput, latencies."""
    before = peak_rss_mb()
    started = time.perf_counter()
    results = asyncio.run(_hammer(url, body, requests, clients))
    wall = time.perf_counter() - started
    latencies = sorted(seconds for _, seconds in results)
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "requests": requests,
        "clients": clients,
        "statuses": statuses,
        "requests_per_second": len(results) / wall,
        "latency_ms": {"p50": 1000 * quantiles[49], "p95": 1000 * quantiles[94], "p99": 1000 * quantiles[98]},
        "peak_rss_mb": {"before": before, "after": peak_rss_mb()},
    }


def full_server_answer_ms(models: dict[str, Model], body: bytes, attempts: int = 20) -> float:
    """The median time a server with no room answers a translation request (503), in ms."""
    import httpx

    with loopback_server(models, Limits(max_admitted=0)) as url, httpx.Client(timeout=30) as session:
        times = []
        for _ in range(attempts):
            started = time.perf_counter()
            answer = session.post(f"{url}/v1/translate/f2sk", content=body)
            times.append(time.perf_counter() - started)
            if answer.status_code != 503:
                raise RuntimeError(f"a server with no room answered {answer.status_code}, not 503")
    return 1000 * statistics.median(times)


def measure_service(body: bytes, requests: int, clients: int, batch_window_ms: float = 5.0) -> dict[str, Any]:
    """The bounded load test of the shipped models on the CPU, one request at a time and with a batching window, and
    the full server's answer time."""
    from face2sketch.inference.api import load

    models = {name: load(name, device="cpu", batch_size=1) for name in ("f2sk", "sk2f")}
    runs = []
    for window in (0.0, batch_window_ms):
        with loopback_server(models, Limits(batch_window_ms=window)) as url:
            runs.append({"batch_window_ms": window, **load_test(f"{url}/v1/translate/f2sk", body, requests, clients)})
    return {"runs": runs, "full_server_503_ms": full_server_answer_ms(models, body)}
