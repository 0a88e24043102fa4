"""The report's tables: a metric table per protocol and direction beside the study's numbers, the leak (paper minus
standard), the spread across seeds, and results.csv."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from typing import Any

from face2sketch.evaluation.study import METRIC_LABEL, METRIC_ORDER, MODEL_ORDER, PROTOCOL_ORDER, SPREAD_METRICS, STUDY, STUDY_CELL, models_in_order


def seed_spread_table(summaries: list[dict[str, Any]]) -> str | None:
    """Mean ± sample standard deviation across seeds of each cell's test mean, for cells run with several seeds."""
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for s in summaries:
        cells[(s["protocol"], s["direction"], s["model"])].append(s)
    repeated = {k: v for k, v in cells.items() if len({r.get("seed") for r in v}) > 1}
    if not repeated:
        return None
    lines = ["| protocol | direction | model | seeds | " + " | ".join(METRIC_LABEL[m] for m in SPREAD_METRICS) + " |", "|" + "---|" * (4 + len(SPREAD_METRICS))]
    order = sorted(repeated, key=lambda k: (PROTOCOL_ORDER.index(k[0]), k[1], MODEL_ORDER.index(k[2]) if k[2] in MODEL_ORDER else 99))
    for key in order:
        runs = repeated[key]
        seeds = ", ".join(str(r.get("seed")) for r in sorted(runs, key=lambda r: r.get("seed") or 0))
        texts = []
        for metric in SPREAD_METRICS:
            means = [r["metrics"].get(metric, {}).get("mean") for r in runs]
            means = [m for m in means if m is not None]
            texts.append(f"{_fmt(statistics.mean(means), metric)} ± {_fmt(statistics.stdev(means), metric)}" if len(means) > 1 else "–")
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {seeds} | " + " | ".join(texts) + " |")
    return "\n".join(lines)


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if metric in ("psnr", "fid") else f"{value:.3f}"


def metric_table(runs: list[dict], direction: str, with_study: bool) -> str:
    """Rows = metrics, columns = models (best per row in bold), then the study's numbers as a reference block."""
    models = models_in_order(runs)
    by_model = {r["model"]: r for r in runs}
    study_models = [m for m in MODEL_ORDER if with_study]
    header = ["metric", *models, *[f"study: {m}" for m in study_models]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric in METRIC_ORDER:
        entries = [by_model[m]["metrics"].get(metric, {}) for m in models]
        means = [e.get("mean") for e in entries]
        if all(v is None for v in means):
            status = next((e.get("status") for e in entries if e.get("status")), "n/a")
            lines.append(f"| {METRIC_LABEL[metric]} | " + " | ".join([status] + [" "] * (len(models) + len(study_models) - 1)) + " |")
            continue
        higher = entries[0].get("higher_is_better", True)
        valid = [v for v in means if v is not None]
        best = (max if higher else min)(valid)
        cells = []
        for entry, mean in zip(entries, means, strict=False):
            text = _fmt(mean, metric)
            if mean is not None and entry.get("std") is not None:
                text += f" ± {_fmt(entry['std'], metric)}"
            cells.append(f"**{text}**" if mean == best and len(valid) > 1 else text)
        study = [_fmt(STUDY[direction][STUDY_CELL[metric]][m], metric) if metric in STUDY_CELL else "" for m in study_models]
        lines.append(f"| {METRIC_LABEL[metric]} | " + " | ".join(cells + study) + " |")
    return "\n".join(lines)


def leak_table(paper: list[dict], standard: list[dict]) -> str:
    """Paper minus standard per metric and model: how much the study's leaky split flatters each model."""
    paper_by, standard_by = {r["model"]: r for r in paper}, {r["model"]: r for r in standard}
    models = [m for m in models_in_order(paper) if m in standard_by]
    lines = ["| metric | " + " | ".join(models) + " |", "|" + "---|" * (len(models) + 1)]
    for metric in METRIC_ORDER:
        cells = []
        for m in models:
            a, b = paper_by[m]["metrics"].get(metric, {}).get("mean"), standard_by[m]["metrics"].get(metric, {}).get("mean")
            cells.append("–" if a is None or b is None else f"{a - b:+.3f}" if metric not in ("psnr", "fid") else f"{a - b:+.2f}")
        if any(c != "–" for c in cells):
            lines.append(f"| {METRIC_LABEL[metric]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_csv(summaries: list[dict[str, Any]], resolution: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["protocol", "leaky", "direction", "model", "seed", "metric", "mean", "std", "status", "num_images", "resolution", "scored_weights", "run"])
    for s in summaries:
        for metric in METRIC_ORDER:
            m = s["metrics"].get(metric, {})
            writer.writerow(
                [s["protocol"], s["leaky"], s["direction"], s["model"], s.get("seed"), metric, m.get("mean"), m.get("std"), m.get("status"),
                 s["num_images"], resolution, s.get("scored_weights"), s["run"]]
            )  # fmt: skip
    return buffer.getvalue()
