"""The service's bounded load test: it stops by itself after its requests, counts every answer by status, and a
server with no room answers 503 without translating."""

from __future__ import annotations

import face2sketch
from face2sketch.perf.load import full_server_answer_ms, load_test, loopback_server
from face2sketch.perf.tables import service_lines
from face2sketch.service.limits import Limits
from tests.service.test_app import portrait_bytes


def test_a_small_load_is_answered_whole_with_its_latency_quantiles_and_a_full_server_answers_at_once() -> None:
    models = {"f2sk": face2sketch.load("f2sk", device="cpu", batch_size=1)}
    with loopback_server(models, Limits(max_admitted=4)) as url:
        result = load_test(f"{url}/v1/translate/f2sk", portrait_bytes(), requests=6, clients=2)
    assert (result["requests"], result["clients"], result["statuses"]) == (6, 2, {"200": 6})
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] and result["requests_per_second"] > 0
    assert result["peak_rss_mb"]["after"] >= result["peak_rss_mb"]["before"] > 0
    assert full_server_answer_ms(models, portrait_bytes(), attempts=3) < 1000


def test_the_service_rows_name_every_number() -> None:
    run = {"requests": 300, "clients": 16, "statuses": {"200": 300}, "requests_per_second": 17.94, "batch_window_ms": 0.0}
    run |= {"latency_ms": {"p50": 880.2, "p95": 930.0, "p99": 990.4}, "peak_rss_mb": {"before": 700.0, "after": 760.4}}
    lines = service_lines({"runs": [run, {**run, "batch_window_ms": 5.0}], "full_server_503_ms": 2.34})
    assert "a full server answers 503 in 2.3 ms" in lines[1]
    assert lines[-2:] == ["| none (one by one) | 17.9 | 880 | 930 | 990 | 300 x 200 | 700, 760 |", "| 5 ms | 17.9 | 880 | 930 | 990 | 300 x 200 | 700, 760 |"]
