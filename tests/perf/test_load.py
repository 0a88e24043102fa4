"""The service's bounded load test: the server started as a user starts it, the load stopping by itself after its
requests, every answer counted by status, the server's memory read; a server that does not start says why; and a
server with no room answers 503 without translating."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import face2sketch
from face2sketch.perf.load import free_port, full_server_answer_ms, load_test, process_tree_mb, serve_command, started_server
from face2sketch.perf.tables import service_lines
from tests.service.test_app import portrait_bytes


def test_a_small_load_on_the_serve_command_is_answered_whole_with_its_latency_quantiles_and_the_servers_memory(tmp_path: Path) -> None:
    port = free_port()
    with started_server(serve_command(port, 5.0, str(tmp_path)), port) as (server, url):
        result = load_test(f"{url}/v1/translate/f2sk", portrait_bytes(), requests=6, clients=2, server_pid=server.pid)
        multipart = load_test(f"{url}/v1/translate/f2sk", portrait_bytes(), requests=2, clients=1, multipart=True)
    assert server.returncode == 0, "stopped by SIGTERM, gracefully"
    assert (result["requests"], result["clients"], result["statuses"]) == (6, 2, {"200": 6}) and multipart["statuses"] == {"200": 2}
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] and result["requests_per_second"] > 0
    assert result["peak_rss_mb"]["after"] >= result["peak_rss_mb"]["before"] > 100, "the server process's, models loaded"


def test_a_servers_memory_counts_its_worker_processes() -> None:
    """A parent holding 60 MB with a child holding 200 MB (as LitServe's server and its inference worker): the tree's
    resident memory counts both."""
    child = "import time; held = b'1' * (200 * 2**20); print(flush=True); time.sleep(60)"
    parent = f"import subprocess, sys, time; held = b'1' * (60 * 2**20); c = subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"
    server = subprocess.Popen([sys.executable, "-c", parent])
    try:
        deadline = time.monotonic() + 30
        while process_tree_mb(server.pid) < 260 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert 260 <= process_tree_mb(server.pid) <= process_tree_mb(server.pid, "VmHWM") < 400
    finally:
        for task in Path(f"/proc/{server.pid}/task").iterdir():
            for worker in (task / "children").read_text().split():
                os.kill(int(worker), signal.SIGKILL)
        server.kill()
        server.wait()


def test_a_server_stopped_leaves_no_worker_process_behind() -> None:
    """A server whose worker outlives it on SIGTERM (as LitServe's do): stopping it ends the worker too, so that it
    takes no CPU from the next measurement."""
    port = free_port()
    server_script = (
        "import http.server, subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "class Health(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self): self.send_response(200); self.end_headers()\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), Health).serve_forever()\n"
    )
    with started_server([sys.executable, "-c", server_script], port) as (server, _):
        workers = [int(child) for task in Path(f"/proc/{server.pid}/task").iterdir() for child in (task / "children").read_text().split()]
    assert len(workers) == 1
    deadline = time.monotonic() + 10
    while Path(f"/proc/{workers[0]}").exists() and "Z" not in process_state(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{workers[0]}").exists() or "Z" in process_state(workers[0]), "the worker was left running"


def process_state(pid: int) -> str:
    try:
        return next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State:"))
    except (OSError, StopIteration):
        return "gone"


def test_a_server_that_does_not_start_says_why(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="^the server did not start: port 1 is taken$"),
        started_server([sys.executable, "-c", "import sys; sys.exit('port 1 is taken')"], free_port()),
    ):
        pass


def test_a_full_server_answers_at_once() -> None:
    models = {"f2sk": face2sketch.load("f2sk", device="cpu", batch_size=1)}
    assert full_server_answer_ms(models, portrait_bytes(), attempts=3) < 1000


def test_the_service_rows_name_every_number() -> None:
    run = {"requests": 300, "clients": 16, "statuses": {"200": 300}, "requests_per_second": 17.94, "batch_window_ms": 0.0}
    run |= {"latency_ms": {"p50": 880.2, "p95": 930.0, "p99": 990.4}, "peak_rss_mb": {"before": 700.0, "after": 760.4}}
    stop = {"requests": 300, "clients": 16, "signal_after_answers": 100, "outcomes": {"200": 113, "refused": 187}, "exit_code": 0}
    stop |= {"in_progress_at_signal": {"200": 13}, "sent_after_signal": {"refused": 187}, "seconds_from_signal_to_exit": 1.234}
    lines = service_lines({"runs": [run, {**run, "batch_window_ms": 5.0}], "full_server_503_ms": 2.34, "sigterm": stop})
    assert "a full server answers 503 in 2.3 ms" in lines[1]
    assert lines[-1] == (
        "SIGTERM once 100 of 300 requests (from 16 clients, a connection each) were answered: 113 x 200, 187 x refused; of those in progress "
        "at the signal 13 x 200, of those sent after it 187 x refused; exit code 0, 1.23 s after the signal."
    )
    assert lines[-4:-2] == ["| none (one by one) | 17.9 | 880 | 930 | 990 | 300 x 200 | 700, 760 |", "| 5 ms | 17.9 | 880 | 930 | 990 | 300 x 200 | 700, 760 |"]
