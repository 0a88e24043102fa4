"""The serve command: settings that cannot work end in one line before a model loads; a real server answers a picture
and, sent SIGTERM while a request is in progress, answers it and exits 0."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import matplotlib.cbook
import pytest

from face2sketch.perf.load import free_port, serve_command, sigterm_under_load, started_server
from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("host=0.0.0.0", "face2sketch: error: host=0.0.0.0 serves other machines: pass api_key=<key> (or set FACE2SKETCH_API_KEY), or host=127.0.0.1"),
        ("port=0", "face2sketch: error: port=0 is not allowed: use a whole number >= 1 and <= 65535"),
        ("timeout_s=0", "face2sketch: error: timeout_s=0 is not allowed: use a number of seconds above 0"),
        ("batch_window_ms=-1", "face2sketch: error: batch_window_ms=-1 is not allowed: use a number of milliseconds >= 0 (0: one request at a time)"),
        ("max_batch=0", "face2sketch: error: max_batch=0 is not allowed: use a whole number >= 1"),
    ],
)
def test_a_setting_that_cannot_work_is_one_line_and_exit_2(tmp_path: Path, setting: str, line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACE2SKETCH_API_KEY", raising=False)  # with one, host=0.0.0.0 is allowed and serves for good
    result = run_cli("face2sketch.serve", setting, f"paths.output_root={tmp_path}")
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [line]


def test_the_server_answers_a_picture_and_on_sigterm_finishes_the_request_in_progress_and_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a key in the environment is not the measured server's: its requests carry none (the load test's server too)
    monkeypatch.setenv("FACE2SKETCH_API_KEY", "a key these requests do not carry")
    with running_server(tmp_path) as (server, url):
        picture = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes()
        answers: list[httpx.Response] = []
        requests = [threading.Thread(target=lambda: answers.append(httpx.post(f"{url}/v1/translate/f2sk", content=picture, timeout=60))) for _ in range(3)]
        for request in requests:
            request.start()
        taken = time.time() + 30
        while httpx.get(f"{url}/health", timeout=10).json()["requests_in_progress"] + len(answers) < 3:  # all three taken
            assert time.time() < taken, "the three requests were not taken"
            time.sleep(0.01)
        server.send_signal(signal.SIGTERM)
        for request in requests:
            request.join(timeout=60)
        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert server.wait(timeout=60) == 0


def test_sigterm_under_load_answers_every_accepted_request_and_exits_0(tmp_path: Path) -> None:
    """60 requests from 8 clients, a connection each, SIGTERM once 8 are answered: every request the server took is
    answered 200 (those in progress at the signal too); the others find the door closed (no connection), never a
    request cut off half-way; exit code 0."""
    picture = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes()
    with running_server(tmp_path) as (server, url):
        result = sigterm_under_load(server, f"{url}/v1/translate/f2sk", picture, requests=60, clients=8, signal_after=8)
    assert result["exit_code"] == 0
    assert set(result["outcomes"]) <= {"200", "refused"} and result["outcomes"]["200"] >= 8, result["outcomes"]
    in_progress = result["in_progress_at_signal"]
    assert set(in_progress) == {"200"} and in_progress["200"] >= 1, "the requests in progress at the signal are answered"


@contextmanager
def running_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``python -m face2sketch.serve`` on a free port, as a user starts it, once it answers /health; stopped afterwards
    if it is still running."""
    port = free_port()
    with started_server(serve_command(port, 5.0, str(tmp_path)), port) as running:
        yield running
