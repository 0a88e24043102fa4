"""The evaluation summaries a report is made of: read where current, evaluated where missing, one run per cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from face2sketch.core.config import compose_config
from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import EvaluationFolder
from face2sketch.evaluation.evaluation import evaluate_run
from face2sketch.evaluation.subjects import discover_runs


def evaluation_settings(resolution: str, data_root: str | None) -> DictConfig:
    """evaluate's settings (conf/evaluate.yaml, composed as its command line would) with this report's choices."""
    cfg = compose_config("evaluate", [])
    cfg.resolution, cfg.data_root = resolution, data_root
    return cfg


def is_current(summary: dict[str, Any], resolution: str) -> bool:
    """Whether an evaluation can be reused: at this resolution, and with every metric evaluate reports now."""
    from face2sketch.metrics.image_sets import HIGHER_IS_BETTER

    return summary.get("resolution") == resolution and set(HIGHER_IS_BETTER) <= set(summary.get("metrics", {}))


def collect(folders: list[Path], resolution: str, data_root: str | None) -> list[dict[str, Any]]:
    """One evaluation summary per run under ``folders``; runs without a current one (another resolution, or written
    before a metric was added) are evaluated now."""
    settings = evaluation_settings(resolution, data_root)
    summaries = []
    for run in discover_runs([str(f) for f in folders]):
        found = EvaluationFolder(run.output_dir).metrics()
        summary = found if found is not None and is_current(found, resolution) else evaluate_run(run, settings)
        summary["evaluation_dir"] = str(run.output_dir)
        summaries.append(summary)
    if not summaries:
        raise ConfigError(f"no runs found under {', '.join(map(str, folders))}")
    return summaries


def primary_runs(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One run per (protocol, direction, model), the one with the lowest seed: what the main tables show."""
    chosen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s in sorted(summaries, key=lambda s: s.get("seed") or 0, reverse=True):
        chosen[(s["protocol"], s["direction"], s["model"])] = s
    return list(chosen.values())
