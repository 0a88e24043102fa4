"""Compare server libraries for the HTTP service: ``python -m face2sketch.serve`` (FastAPI + uvicorn) against LitServe
serving the same shipped f2sk model, under the same bounded load on the loopback.

    python -m venv <litserve-venv>                      # LitServe beside face2sketch, not in face2sketch's environment:
    <litserve-venv>/bin/pip install litserve            # it brings uvloop and httptools, which uvicorn then picks up
    echo "$(python -c 'import site; print(site.getsitepackages()[0])')" > <litserve-venv>/lib/python3.11/site-packages/f2s.pth
    echo "$PWD" >> <litserve-venv>/lib/python3.11/site-packages/f2s.pth
    python docs/compare_servers.py /path/to/cuhk --litserve-python <litserve-venv>/bin/python [--rounds 3]

Each server runs in a process of its own (LitServe's inference worker in another), started as a user starts it; the
load (``face2sketch.perf.load``) is ``--requests`` POSTs of CUHK's first test photo from ``--clients`` concurrent
clients, as a multipart file (LitServe reads JSON or form bodies only), after 4 warm-up requests. Each round runs every
server, starting one later than the round before, so that the machine's drift falls on each in turn. Resident memory
is the server's processes' peaks summed (libraries shared between them counted in each).
This file imports nothing of face2sketch at its top: LitServe's processes start by importing it again.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

try:  # only the LitServe server's Python has it; its worker process unpickles the API class by this module's name
    import litserve as ls
except ImportError:
    ls = None

if ls is not None:

    class Translate(ls.LitAPI):  # type: ignore[misc]
        """The shipped f2sk model at ``/v1/translate/f2sk``: a multipart ``file`` in, the PNG out."""

        def setup(self, device: str) -> None:
            import face2sketch

            self.model = face2sketch.load("f2sk", device="cpu", batch_size=1)

        def decode_request(self, request):  # type: ignore[no-untyped-def]  # unannotated: LitServe then reads a form body
            upload = request["file"]
            return upload.file.read() if hasattr(upload, "file") else upload

        def predict(self, bodies: Any) -> Any:
            single = isinstance(bodies, bytes)
            regions = [self.model.align_picture(body)[0] for body in ([bodies] if single else bodies)]
            images = [found.image for found in self.model.with_options(batch_size=len(regions)).translate_aligned(regions)]
            return images[0] if single else images

        def batch(self, inputs: list[bytes]) -> list[bytes]:
            return inputs

        def unbatch(self, output: list[Any]) -> list[Any]:
            return output

        def encode_response(self, image: Any) -> Any:
            from fastapi import Response

            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            return Response(buffer.getvalue(), media_type="image/png")


def litserve_main(port: int, max_batch: int) -> None:
    """LitServe serving ``Translate``, batching up to ``max_batch`` requests within 5 ms (1: one at a time)."""
    if ls is None:
        raise SystemExit("LitServe is not installed in this Python: pip install litserve")
    api = Translate(max_batch_size=max_batch, batch_timeout=0.005 if max_batch > 1 else 0.0, api_path="/v1/translate/f2sk")
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, timeout=60)
    server.run(host="127.0.0.1", port=port, num_api_servers=1, log_level="warning", generate_client_file=False)


def servers(litserve_python: str | None, scratch: str) -> dict[str, Any]:
    """Each compared server's command, made for a port."""
    from face2sketch.perf.load import serve_command

    made: dict[str, Any] = {
        "face2sketch.serve, one by one": lambda port: serve_command(port, 0.0, scratch),
        "face2sketch.serve, 5 ms window": lambda port: serve_command(port, 5.0, scratch),
    }
    if litserve_python:
        made["face2sketch.serve, 5 ms window, uvloop + httptools"] = lambda port: [litserve_python, *serve_command(port, 5.0, scratch)[1:]]
        made["LitServe, one by one"] = lambda port: [litserve_python, str(Path(__file__).resolve()), "--serve-litserve", str(port), "1"]
        made["LitServe, batches of 8 within 5 ms"] = lambda port: [litserve_python, str(Path(__file__).resolve()), "--serve-litserve", str(port), "8"]
    return made


def compare(body: bytes, litserve_python: str | None, rounds: int, requests: int, clients: int) -> list[dict[str, Any]]:
    from face2sketch.perf.load import free_port, load_test, started_server, warm_up

    runs = []
    with tempfile.TemporaryDirectory(prefix="face2sketch-compare-servers-") as scratch:
        made = list(servers(litserve_python, scratch).items())
        for round_ in range(rounds):
            shift = round_ % len(made)  # each round starts with the next server, so that drift falls on each in turn
            for name, command in made[shift:] + made[:shift]:
                port = free_port()
                with started_server(command(port), port) as (server, url):
                    warm_up(url + "/v1/translate/f2sk", body, multipart=True)
                    result = load_test(f"{url}/v1/translate/f2sk", body, requests, clients, server.pid, multipart=True)
                runs.append({"server": name, "round": round_, **result})
                print(json.dumps(runs[-1]), flush=True)
    return runs


def table(runs: list[dict[str, Any]]) -> str:
    """A row per server: the median over rounds of requests/s and of each latency quantile, every round's requests/s."""
    lines = ["| server | requests/s (median) | each round | p50 ms | p95 ms | p99 ms | answers | peak server RSS (MB) |", "|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(run["server"] for run in runs):
        mine = [run for run in runs if run["server"] == name]
        statuses = sum((Counter(run["statuses"]) for run in mine), Counter())
        quantile = {key: statistics.median(run["latency_ms"][key] for run in mine) for key in ("p50", "p95", "p99")}
        throughputs = [run["requests_per_second"] for run in mine]
        answers = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
        lines.append(
            f"| {name} | {statistics.median(throughputs):.1f} | {', '.join(f'{value:.1f}' for value in throughputs)} | {quantile['p50']:.0f} | "
            f"{quantile['p95']:.0f} | {quantile['p99']:.0f} | {answers} | {max(run['peak_rss_mb']['after'] for run in mine):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cuhk", type=Path, nargs="?", help="the CUHK folder (its first test photo is the request body)")
    parser.add_argument("--litserve-python", help="a Python with litserve and face2sketch importable (see above)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--output", type=Path, help="where to write the runs as JSON")
    parser.add_argument("--serve-litserve", nargs=2, type=int, metavar=("PORT", "MAX_BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_litserve:
        litserve_main(*args.serve_litserve)
        return
    if args.cuhk is None:
        parser.error("give the CUHK folder")
    from face2sketch.perf.video import first_test_photo

    runs = compare(first_test_photo(args.cuhk), args.litserve_python, args.rounds, args.requests, args.clients)
    if args.output:
        settings = {"rounds": args.rounds, "requests": args.requests, "clients": args.clients, "python": sys.version.split()[0]}
        args.output.write_text(json.dumps({"settings": settings, "runs": runs, "table": table(runs)}, indent=1) + "\n")
    print(table(runs))


if __name__ == "__main__":
    main()
