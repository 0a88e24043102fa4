"""One evaluation: score a subject, its robustness when asked, and write its folder whole or not at all."""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.errors import ConfigError
from face2sketch.core.io import publish_folder, write_json_atomic
from face2sketch.core.run_folder import EvaluationFolder
from face2sketch.evaluation.robustness import robustness
from face2sketch.evaluation.scoring import means_of, score
from face2sketch.evaluation.subjects import RunToEvaluate, Subject, subject_of_run
from face2sketch.realworld.conditions import condition_set

log = logging.getLogger(__name__)


RESOLUTIONS = ("original", "model")


# split=val scores the validation identities instead, so that settings are chosen without looking at the test split
SPLITS = ("test", "val")


def write_scores(staging: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    folder = EvaluationFolder(staging)
    write_json_atomic(folder.metrics_file, summary)
    columns = ["name", "identity", "variant", *[n for n in summary["metrics"] if rows and n in rows[0]]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    folder.per_image_file.write_text(buffer.getvalue())


def evaluate_subject(subject: Subject, cfg_eval: DictConfig) -> dict[str, Any]:
    """Score one model on its test split; writes the evaluation folder whole or not at all."""
    if cfg_eval.resolution not in RESOLUTIONS:
        raise ConfigError(f"unknown resolution '{cfg_eval.resolution}': use one of {', '.join(RESOLUTIONS)}")
    if cfg_eval.split not in SPLITS:
        raise ConfigError(f"unknown split '{cfg_eval.split}': use test (the reported scores) or val (the validation identities, for choosing settings)")
    if cfg_eval.get("conditions"):
        condition_set(str(cfg_eval.conditions), DIRECTIONS[subject.translator.spec.direction][0])
    output_dir = subject.output_dir if cfg_eval.split == "test" else subject.output_dir.with_name(f"{subject.output_dir.name}_{cfg_eval.split}")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".evaluation.", dir=output_dir.parent))
    try:
        EvaluationFolder(staging).predictions_dir.mkdir()
        EvaluationFolder(staging).samples_dir.mkdir()
        rows, evaluator = score(subject, cfg_eval, staging)
        from face2sketch.metrics.image_sets import HIGHER_IS_BETTER

        datamodule = subject.datamodule
        assert datamodule.splits is not None
        summary = {
            **subject.facts,
            "split": cfg_eval.split,
            "protocol": datamodule.protocol,
            "leaky": datamodule.splits.leaky,
            "resolution": cfg_eval.resolution,
            "model_image_size": datamodule.image_size,
            "num_images": len(rows),
            "metrics": {
                name: {"mean": r.mean, "std": r.std, "status": r.status, "higher_is_better": HIGHER_IS_BETTER[name]} for name, r in evaluator.compute().items()
            },
        }
        if cfg_eval.get("conditions"):
            summary["robustness"] = robustness(subject, cfg_eval, staging, means_of(evaluator))["conditions"]
        write_scores(staging, summary, rows)
        publish_folder(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info(
        "%s %s (%s protocol, %s resolution): %s",
        summary["model"],
        summary["direction"],
        summary["protocol"],
        cfg_eval.resolution,
        {k: round(v["mean"], 4) for k, v in summary["metrics"].items() if v["mean"] is not None},
    )
    return summary


def evaluate_run(run: RunToEvaluate, cfg_eval: DictConfig) -> dict[str, Any]:
    """Score a trained run (its checkpoint) on its test split; the report evaluates runs through here."""
    return evaluate_subject(subject_of_run(run, cfg_eval), cfg_eval)
