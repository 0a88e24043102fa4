"""A bounded load test of the HTTP service on the loopback: ``python -m face2sketch.serve`` started as a user starts
it, a fixed number of requests from a fixed number of concurrent clients, stopping by itself; throughput, latency
quantiles, status counts and the server's resident memory; the same load with a SIGTERM part-way (every request the
server took answered, exit code 0); and how fast a full server answers 503."""

from __future__ import annotations

import asyncio
import os
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from face2sketch.inference.api import Model
from face2sketch.service.limits import Limits


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_tree_mb(pid: int, field: str = "VmRSS") -> float:
    """``field`` of /proc/<pid>/status (VmRSS: resident now, VmHWM: its peak) summed over the process and its
    descendants (a server's worker processes), in MB."""
    total, waiting = 0.0, [pid]
    while waiting:
        current = waiting.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                waiting += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # it ended meanwhile
            continue
        total += next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith(f"{field}:")), 0.0)
    return total


@contextmanager
def loopback_server(models: dict[str, Model], limits: Limits) -> Iterator[str]:
    """The service over ``models`` on a free loopback port, in a thread of this process; its base URL."""
    import uvicorn

    from face2sketch.service.app import build_app

    server = uvicorn.Server(uvicorn.Config(build_app(models, limits), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def serve_command(port: int, batch_window_ms: float, output_root: str) -> list[str]:
    """``python -m face2sketch.serve`` with the shipped models on the CPU, as a user starts it; no API key, even where
    $FACE2SKETCH_API_KEY is set, since its requests carry none."""
    command = [sys.executable, "-m", "face2sketch.serve", f"port={port}", "device=cpu", f"batch_window_ms={batch_window_ms:g}"]
    return [*command, "api_key=null", f"paths.output_root={output_root}"]


@contextmanager
def started_server(command: list[str], port: int, timeout: float = 120) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``command`` (a server that listens on ``port`` and answers ``GET /health``) in a process group of its own, once
    it answers; sent SIGTERM afterwards if it still runs, killed if it has not ended a minute later, and whatever of
    its group is left killed then. Its messages go to a file (a pipe nobody reads would stall a talkative server)."""

    with tempfile.TemporaryFile() as messages:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=messages, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while not answers_health(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    messages.seek(0)
                    error = messages.read().decode(errors="replace").strip() if server.poll() is not None else ""
                    raise RuntimeError(f"the server did not start: {error.splitlines()[-1] if error else shlex.join(command)}")
                time.sleep(0.3)
            yield server, url
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
            with suppress(ProcessLookupError):  # worker processes the server left behind (LitServe's do)
                os.killpg(server.pid, signal.SIGKILL)


def answers_health(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def send_kwargs(body: bytes, multipart: bool) -> dict[str, Any]:
    """The picture as the request's body, or as a multipart file named ``file``."""
    return {"files": {"file": ("picture.jpg", body, "image/jpeg")}} if multipart else {"content": body}


async def _hammer(url: str, body: bytes, requests: int, clients: int, multipart: bool) -> list[tuple[int, float]]:
    import httpx

    remaining = iter(range(requests))
    results: list[tuple[int, float]] = []

    async def client(session: httpx.AsyncClient) -> None:
        for _ in remaining:
            started = time.perf_counter()
            answer = await session.post(url, **send_kwargs(body, multipart))
            results.append((answer.status_code, time.perf_counter() - started))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return results


def load_test(url: str, body: bytes, requests: int, clients: int, server_pid: int | None = None, multipart: bool = False) -> dict[str, Any]:
    """``requests`` POSTs of ``body`` to ``url`` from ``clients`` concurrent clients: statuses, throughput, latencies,
    and the resident memory (MB) of the server process ``server_pid`` (now and its peak afterwards) or, without one,
    this process's peak before and after."""
    before = process_tree_mb(server_pid) if server_pid else peak_rss_mb()
    started = time.perf_counter()
    results = asyncio.run(_hammer(url, body, requests, clients, multipart))
    wall = time.perf_counter() - started
    latencies = sorted(seconds for _, seconds in results)
    statuses = counted_outcomes([str(status) for status, _ in results])
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "requests": requests,
        "clients": clients,
        "statuses": statuses,
        "requests_per_second": len(results) / wall,
        "latency_ms": {"p50": 1000 * quantiles[49], "p95": 1000 * quantiles[94], "p99": 1000 * quantiles[98]},
        "peak_rss_mb": {"before": before, "after": process_tree_mb(server_pid, "VmHWM") if server_pid else peak_rss_mb()},
    }


@dataclass
class Shutdown:
    """What a load with a SIGTERM part-way saw: each request's (sent before the signal, answered after it, outcome),
    and when the signal went out and the server ended (``time.perf_counter``)."""

    requests: list[tuple[bool, bool, str]] = field(default_factory=list)
    signalled: float | None = None
    ended: float | None = None

    def signal(self, server: subprocess.Popen[bytes]) -> None:
        self.signalled = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        threading.Thread(target=self._wait, args=(server,), daemon=True).start()

    def _wait(self, server: subprocess.Popen[bytes]) -> None:
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=120)
            self.ended = time.perf_counter()


async def _hammer_and_stop(server: subprocess.Popen[bytes], url: str, body: bytes, requests: int, clients: int, signal_after: int) -> Shutdown:
    import httpx

    remaining = iter(range(requests))
    shutdown = Shutdown()

    async def client() -> None:
        # a connection per request: a kept-alive connection the server closes at shutdown as the client sends the next
        # request on it fails on the client's side though the server never took that request
        no_keep_alive = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=120, limits=no_keep_alive, headers={"Connection": "close"}) as session:
            for _ in remaining:
                sent_before = shutdown.signalled is None
                try:
                    outcome = str((await session.post(url, content=body)).status_code)
                except httpx.ConnectError:  # the door is closed
                    outcome = "refused"
                except httpx.TransportError as err:
                    outcome = f"cut off ({type(err).__name__})"
                shutdown.requests.append((sent_before, shutdown.signalled is not None, outcome))
                if shutdown.signalled is None and sum(outcome == "200" for *_, outcome in shutdown.requests) >= signal_after:
                    shutdown.signal(server)

    await asyncio.gather(*(client() for _ in range(clients)))
    return shutdown


def counted_outcomes(outcomes: list[str]) -> dict[str, int]:
    return dict(Counter(outcomes))


def sigterm_under_load(server: subprocess.Popen[bytes], url: str, body: bytes, requests: int, clients: int, signal_after: int) -> dict[str, Any]:
    """``requests`` POSTs of ``body`` from ``clients`` concurrent clients, a connection each, and SIGTERM to ``server``
    once ``signal_after`` have been answered. What every request got ("200", "refused": the door was closed, "cut off":
    taken and not answered), in all, for those in progress at the signal and for those sent after it; the server's
    exit code and the seconds from the signal to its end."""
    shutdown = asyncio.run(_hammer_and_stop(server, url, body, requests, clients, signal_after))
    try:
        exit_code: int | None = server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        exit_code = None
    ended = shutdown.ended or time.perf_counter()
    return {
        "requests": requests,
        "clients": clients,
        "signal_after_answers": signal_after,
        "outcomes": counted_outcomes([outcome for *_, outcome in shutdown.requests]),
        "in_progress_at_signal": counted_outcomes([outcome for before, after, outcome in shutdown.requests if before and after]),
        "sent_after_signal": counted_outcomes([outcome for before, _, outcome in shutdown.requests if not before]),
        "exit_code": exit_code,
        "seconds_from_signal_to_exit": None if shutdown.signalled is None else ended - shutdown.signalled,
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


def warm_up(url: str, body: bytes, requests: int = 4, multipart: bool = False) -> None:
    """A few requests first, so that the first translations' one-off costs fall outside the measured load."""
    statuses = {status for status, _ in asyncio.run(_hammer(url, body, requests, 2, multipart))}
    if statuses != {200}:
        raise RuntimeError(f"the server answered the warm-up requests with {sorted(statuses)}, not 200")


def measure_service(body: bytes, requests: int, clients: int, batch_window_ms: float = 5.0) -> dict[str, Any]:
    """The bounded load test of ``python -m face2sketch.serve`` (the shipped models on the CPU, a process of its own),
    one request at a time and with a batching window; the same load with a SIGTERM once a third is answered; and the
    full server's answer time."""
    from face2sketch.inference.api import load

    runs = []
    with tempfile.TemporaryDirectory(prefix="face2sketch-serve-") as scratch:
        for window in (0.0, batch_window_ms):
            port = free_port()
            with started_server(serve_command(port, window, scratch), port) as (server, url):
                warm_up(f"{url}/v1/translate/f2sk", body)
                runs.append({"batch_window_ms": window, **load_test(f"{url}/v1/translate/f2sk", body, requests, clients, server.pid)})
        port = free_port()
        with started_server(serve_command(port, batch_window_ms, scratch), port) as (server, url):
            warm_up(f"{url}/v1/translate/f2sk", body)
            sigterm = sigterm_under_load(server, f"{url}/v1/translate/f2sk", body, requests, clients, signal_after=requests // 3)
    models = {"f2sk": load("f2sk", device="cpu", batch_size=1)}
    return {"runs": runs, "sigterm": sigterm, "full_server_503_ms": full_server_answer_ms(models, body)}
