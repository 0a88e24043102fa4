"""Robustness: the test split scored under each condition of a named set (and as photographed), each condition's
means and ratio to clean, as JSON, CSV and Markdown tables and a figure."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from PIL import Image

from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.io import write_json_atomic
from face2sketch.core.run_folder import EvaluationFolder
from face2sketch.evaluation.inputs import ConditionedInputs, PhotographedInputs
from face2sketch.evaluation.scoring import means_of, score
from face2sketch.evaluation.subjects import Subject
from face2sketch.realworld.conditions import condition_set

log = logging.getLogger(__name__)


def robustness(subject: Subject, cfg_eval: DictConfig, staging: Path, clean: dict[str, float]) -> dict[str, Any]:
    """Score the test split under every condition of ``cfg_eval.conditions``; each condition's means and, per metric,
    its ratio to the clean score (``clean``). Writes robustness.json, robustness.csv and robustness.md into ``staging``."""
    source_kind = DIRECTIONS[subject.translator.spec.direction][0]
    conditions = condition_set(str(cfg_eval.conditions), source_kind)
    report: dict[str, Any] = {
        "condition_set": str(cfg_eval.conditions),
        "condition_seed": int(cfg_eval.condition_seed),
        "input_kind": source_kind,
        "what": "each condition changes the stored test inputs (never the targets); ratio = condition mean / clean mean",
        "conditions": {"clean": {"means": clean, "ratios": dict.fromkeys(clean, 1.0), "about": "the inputs as stored"}},
    }
    runs: list[tuple[ConditionedInputs | PhotographedInputs, str]] = [
        (ConditionedInputs(condition, conditions, int(cfg_eval.condition_seed)), (make.__doc__ or "").strip()) for condition, make in conditions.items()
    ]
    if source_kind == "photo" and cfg_eval.as_photographed:
        runs.append((PhotographedInputs(int(cfg_eval.condition_seed)), " ".join((PhotographedInputs.__doc__ or "").split())))
    for inputs, about in runs:
        condition = inputs.condition
        rows, evaluator = score(subject, cfg_eval, staging, inputs)
        means = means_of(evaluator) if rows else {}
        ratios = {name: value / clean[name] for name, value in means.items() if clean.get(name)}
        pictures = len(subject.datamodule.dataset(str(cfg_eval.split)))
        report["conditions"][condition] = {"means": means, "ratios": ratios, "about": about, "pictures": pictures, "scored": len(rows)}
        shown = {name: f"{means[name]:.4f} ({ratios[name]:.3f} of clean)" for name in ratio_metrics(source_kind) if name in ratios}
        log.info("%s (%d of %d scored): %s", condition, len(rows), pictures, shown)
    report["order"] = list(report["conditions"])  # the JSON file sorts its keys; tables and figures keep this order
    write_json_atomic(EvaluationFolder(staging).robustness_file("json"), report)
    write_robustness_tables(staging, report)
    write_robustness_figure(staging, list(report["conditions"]), int(cfg_eval.figure_examples))
    return report


def ratio_metrics(source_kind: str) -> tuple[str, ...]:
    """The metrics a robustness table shows for a model taking ``source_kind``: FSIM and SCOOT for sketches made from
    photos, FSIMc for photos made from sketches, with SSIM and MSE."""
    return ("fsim", "scoot", "ssim", "mse") if source_kind == "photo" else ("fsim", "ssim", "mse")


def write_robustness_tables(staging: Path, report: dict[str, Any]) -> None:
    names = ratio_metrics(report["input_kind"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["condition", "scored", *[f"{n}{suffix}" for n in names for suffix in ("", "_ratio")]])
    lines = [f"| condition | scored | {' | '.join(f'{n} | {n} / clean' for n in names)} |", "|---|---|" + "---|" * (2 * len(names))]
    for condition, entry in report["conditions"].items():
        values = [(entry["means"].get(n), entry["ratios"].get(n)) for n in names]
        scored = f"{entry['scored']} of {entry['pictures']}" if "scored" in entry else "all"
        writer.writerow([condition, entry.get("scored", ""), *[f"{v:.6f}" if v is not None else "" for pair in values for v in pair]])
        cells = " | ".join(f"{m:.3f} | {r:.3f}" if m is not None and r is not None else "n/a | n/a" for m, r in values)
        lines.append(f"| {condition} | {scored} | {cells} |")
    folder = EvaluationFolder(staging)
    folder.robustness_file("csv").write_text(buffer.getvalue())
    folder.robustness_file("md").write_text("\n".join(lines) + "\n")


def write_robustness_figure(staging: Path, conditions: list[str], examples: int) -> None:
    """robustness.png: a row per condition (clean first) and the ground truth last; for the first ``examples`` sample
    identities, the input as the condition left it beside the model's output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = EvaluationFolder(staging)
    names = folder.sample_names()[:examples]
    if not names:
        return
    Row = tuple[str, list[tuple[Path | None, Path]]]
    rows: list[Row] = [(c, [(folder.sample_input(n), folder.prediction(n)) for n in names]) for c in conditions[:1]]
    rows += [(c, [(folder.condition_input(c, n), folder.condition_prediction(c, n)) for n in names]) for c in conditions[1:]]
    rows.append(("ground truth", [(None, folder.sample_target(n)) for n in names]))
    fig, axes = plt.subplots(len(rows), 2 * len(names), figsize=(1.5 * 2 * len(names), 1.75 * len(rows)), squeeze=False)
    for r, (label, pairs) in enumerate(rows):
        for c, path in enumerate(path for pair in pairs for path in pair):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            if path is not None and path.is_file():
                ax.imshow(Image.open(path).convert("RGB"))
            else:
                ax.axis("off")
            if r == 0:
                ax.set_title(("input" if c % 2 == 0 else "output") + f" ({names[c // 2]})", fontsize=7)
        axes[r][0].set_ylabel(label, fontsize=8)
        axes[r][0].axis("on")
        axes[r][0].set_frame_on(r < len(rows) - 1)
    fig.tight_layout()
    fig.savefig(folder.robustness_file("png"), dpi=100)
    plt.close(fig)
