"""The benchmark's records: the machine it ran on, benchmark.json and the Markdown table docs/performance.md shows."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import lightning
import torch


def machine() -> dict[str, Any]:
    """What the numbers depend on: processor, threads, accelerator and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        info["onnxruntime"] = None
    return info


COLUMNS = [
    ("model", "model", "{}"),
    ("px", "image_size", "{}"),
    ("batch", "batch_size", "{}"),
    ("precision", "precision", "{}"),
    ("train img/s", "train_images_per_s", "{:.1f}"),
    ("bare img/s", "bare_images_per_s", "{:.1f}"),
    ("ratio", "ratio", "{:.3f}"),
    ("train - bare ms/step", "overhead_ms_per_step", "{:+.2f}"),
    ("data samples/s", "data_samples_per_s", "{:.0f}"),
    ("headroom", "data_headroom", "{:.0f}x"),
    ("eager ms (b1)", "eager_ms", "{:.2f}"),
    ("ONNX ms (b1)", "onnx_ms", "{:.2f}"),
    ("eager img/s (b{batch})", "eager_images_per_s", "{:.1f}"),
    ("ONNX img/s (b{batch})", "onnx_images_per_s", "{:.1f}"),
    ("peak train MB", "peak_train_mb", "{:.0f}"),
    ("peak infer MB", "peak_inference_mb", "{:.0f}"),
]


def markdown(record: dict[str, Any]) -> str:
    """benchmark.json as the Markdown docs/performance.md shows: the machine, the command, a row per model."""
    m = record["machine"]
    inference_batch = record["settings"]["inference_batch"]
    lines = [
        f"Machine: {m['cpu']}, {m['cpu_cores']} cores ({m['torch_threads']} torch threads)"
        + (f", {m['gpu']}" if m.get("gpu") else ", no GPU")
        + f"; torch {m['torch']}, lightning {m['lightning']}, onnxruntime {m.get('onnxruntime') or 'not installed'}.",
        "",
        f"Command: `{record['command']}`",
        "",
    ]
    headers = [title.format(batch=inference_batch) for title, _, _ in COLUMNS]
    if record["results"]:
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    for row in record["results"]:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "n/a" for _, key, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    run = record.get("train_run")
    if run:
        lines += [
            "",
            f"`face2sketch.train` for {run['batches']} batches of {run['model']} at {run['image_size']} px, batch {run['batch_size']} "
            f"(fit time: validation and checkpoint saves included; the last write runs on after the fit) against {run['batches']} bare steps: "
            f"ratio {run['ratio']:.3f} (rounds: {', '.join(f'{r:.3f}' for r in run['ratio_per_round'])}); "
            f"fit {run['fit_seconds']:.1f} s, whole command {run['command_seconds']:.1f} s, bare loop {run['bare_seconds']:.1f} s.",
        ]
        if run.get("compare_checkout"):
            lines.append(
                f"The checkout at {run['compare_checkout']}, in the same rounds: ratio {run['compare_ratio']:.3f} "
                f"(rounds: {', '.join(f'{r:.3f}' for r in run['compare_ratio_per_round'])}); fit {run['compare_fit_seconds']:.1f} s, "
                f"whole command {run['compare_command_seconds']:.1f} s."
            )
    if record.get("video"):
        lines += video_lines(record["video"])
    if record.get("service"):
        lines += service_lines(record["service"])
    startup = record.get("startup")
    if startup:
        lines += [
            "",
            f"Start-up: `import face2sketch.train` {startup['import_seconds']:.1f} s in a fresh interpreter"
            + ("; " if record["results"] else "")
            + ", ".join(f"{r['model']} model and data set-up {r['setup_seconds']:.1f} s" for r in record["results"])
            + ".",
        ]
    return "\n".join(lines) + "\n"


def video_lines(video: dict[str, Any]) -> list[str]:
    """The video section: frames a second with each stage's share, then jitter, flicker and the quality ratios."""
    stages = ("decode", "find", "translate", "compose", "encode")
    lines = [
        "",
        f"Video, the shipped f2sk model on the CPU, a {video['seconds']:g} s clip of a CUHK test photo that pans, zooms and turns "
        "(decode, find or follow the face, translate, put the sketch over the face, encode):",
        "",
        "| frame size | faces | frames/s | detections | " + " | ".join(f"{stage} share" for stage in stages) + " |",
        "|" + "---|" * (4 + len(stages)),
    ]
    for row in video["speed"]:
        shares = " | ".join(f"{row['shares'][stage]:.0%}" for stage in stages)
        lines.append(f"| {row['size'][0]}x{row['size'][1]} | {row['mode']} | {row['fps']:.1f} | {row['detections']} of {row['frames']} | {shares} |")
    size = video["quality_size"]
    lines += [
        "",
        f"Steadiness and quality at {size[0]}x{size[1]}, clips of {video['quality'][0]['pairs']} CUHK test photos: eye jitter (px the eyes move "
        "between frames), flicker (mean absolute change of the sketch between frames, 0-255), and per-frame FSIM and SCOOT against the true "
        "sketch carried into the output frame, following as a share of a detection in every frame (the still-picture path) on the same frames:",
        "",
        "| clip | jitter, following | jitter, detecting | flicker, following | flicker, detecting | FSIM ratio | SCOOT ratio | frames |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in video["quality"]:
        follow, every = row["follow"], row["detect every frame"]
        lines.append(
            f"| {row['kind']} | {follow['jitter_px']:.3f} | {every['jitter_px']:.3f} | {follow['flicker']:.2f} | {every['flicker']:.2f} | "
            f"{row['fsim_ratio']:.3f} | {row['scoot_ratio']:.3f} | {row['frames_compared']} |"
        )
    return lines


def service_lines(service: dict[str, Any]) -> list[str]:
    """The service's load tests, a row each (one request at a time, then batched), the load with a SIGTERM part-way,
    and the full server's answer time."""
    first = service["runs"][0]
    lines = [
        "",
        f"HTTP service (the shipped models on the CPU, `POST /v1/translate/f2sk` with CUHK's first test photo), {first['requests']} requests "
        f"from {first['clients']} concurrent clients on the loopback; a full server answers 503 in {service['full_server_503_ms']:.1f} ms:",
        "",
        "| batching window | requests/s | p50 ms | p95 ms | p99 ms | answers | server RSS before, peak (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in service["runs"]:
        latency, rss = run["latency_ms"], run["peak_rss_mb"]
        window = "none (one by one)" if not run["batch_window_ms"] else f"{run['batch_window_ms']:g} ms"
        lines.append(
            f"| {window} | {run['requests_per_second']:.1f} | {latency['p50']:.0f} | {latency['p95']:.0f} | {latency['p99']:.0f} | "
            f"{counted(run['statuses'])} | {rss['before']:.0f}, {rss['after']:.0f} |"
        )
    if service.get("sigterm"):
        stop = service["sigterm"]
        lines += [
            "",
            f"SIGTERM once {stop['signal_after_answers']} of {stop['requests']} requests (from {stop['clients']} clients, a connection each) were answered: "
            f"{counted(stop['outcomes'])}; of those in progress at the signal {counted(stop['in_progress_at_signal']) or 'none'}, of those sent after it "
            f"{counted(stop['sent_after_signal']) or 'none'}; exit code {stop['exit_code']}, {stop['seconds_from_signal_to_exit']:.2f} s after the signal.",
        ]
    return lines


def counted(outcomes: dict[str, int]) -> str:
    """``{"200": 299, "503": 1}`` as "299 x 200, 1 x 503"."""
    return ", ".join(f"{count} x {outcome}" for outcome, count in sorted(outcomes.items()))
