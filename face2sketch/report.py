"""Tables and figures shaped like the study's, regenerated from runs.

    python -m face2sketch.report folders=[outputs/train/multiruns/<time>,<more folders>] [resolution=model] [out=DIR]

Evaluates every run of the folder that has no evaluation yet (see face2sketch.evaluate), then
writes report.md, results.csv, samples_<direction>.png (rows = the same test identities,
columns = input, each model, ground truth) and curves_<direction>.png from TensorBoard logs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import hydra
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import ConfigError, exit_on_user_error, one_line_user_errors
from face2sketch.core.io import write_text_atomic
from face2sketch.evaluation.evaluation import evaluate_run
from face2sketch.evaluation.figures import curves_figure, samples_figure
from face2sketch.evaluation.study import DIRECTION_LABEL, PROTOCOL_ORDER, models_in_order
from face2sketch.evaluation.subjects import discover_runs
from face2sketch.evaluation.summaries import collect, evaluation_settings, primary_runs
from face2sketch.evaluation.tables import leak_table, metric_table, results_csv, seed_spread_table

log = logging.getLogger(__name__)


def report_header(folders: list[Path], resolution: str) -> list[str]:
    md = [f"# face2sketch report: {', '.join(f.name for f in folders)}", ""]
    md.append(
        f"Runs from {', '.join(f'`{f}`' for f in folders)}. Metrics at **{resolution} resolution** "
        + (
            "(predictions resized to each target's stored size, 200x250 for CUHK)."
            if resolution == "original"
            else "(the model's input size, as the study computed them)."
        )
    )
    md.append(
        "Each cell is mean ± standard deviation over the test images; best per row in **bold**. "
        "The study's numbers (its Tables III/IV: 300 test images of its leaky split, at model resolution) are a reference block, "
        "comparable only to the paper protocol. The study does not say how it computed SSIM, so its SSIM stands beside both "
        "SSIM rows; the second row is the most likely reading of it (scikit-image's structural_similarity with data range 2, "
        "7x7 window: see face2sketch's docs/fidelity.md). FID is biased by sample size: compare only at the same N."
    )
    return [*md, ""]


def cell_section(runs: list[dict], protocol: str, direction: str, suffix: str, out: Path) -> list[str]:
    """One protocol and direction: the table, which weights were scored, the encoder weights, the figures."""
    n = sorted({r["num_images"] for r in runs})
    md = [f"### {DIRECTION_LABEL[direction]} — {protocol}, N = {', '.join(map(str, n))} test images", "", metric_table(runs, direction, with_study=True), ""]
    scored = "; ".join(f"{r['model']}: {r.get('scored_weights', 'unknown')}" for r in sorted(runs, key=lambda r: models_in_order(runs).index(r["model"])))
    md += [f"Scored weights — {scored}.", ""]
    weights = sorted({f"{r['model']}: {r['encoder_weights']}" for r in runs if r.get("encoder_weights")})
    if weights:
        md += [f"Pretrained encoder weights used in training — {'; '.join(weights)}.", ""]
    if samples_figure(runs, out / f"samples_{direction}{suffix}.png"):
        md += [f"![samples {direction} {protocol}](samples_{direction}{suffix}.png)", ""]
    if curves_figure(runs, out / f"curves_{direction}{suffix}.png"):
        md += [f"![curves {direction} {protocol}](curves_{direction}{suffix}.png)", ""]
    return md


def leak_section(grouped: dict[tuple[str, str], list[dict]], directions: list[str]) -> list[str]:
    md = [
        "## The study's leak: paper minus standard",
        "",
        "Positive SSIM/PSNR/FSIM/SCOOT or negative MSE/LPIPS/FID differences are what the leaky split adds.",
        "",
    ]
    for direction in directions:
        if grouped.get(("paper", direction)) and grouped.get(("standard", direction)):
            md += [f"### {DIRECTION_LABEL[direction]}", "", leak_table(grouped[("paper", direction)], grouped[("standard", direction)]), ""]
    return md


def write_report(folders: list[Path], out: Path, resolution: str = "original", data_root: str | None = None) -> Path:
    """Evaluate what is missing, then write report.md, results.csv and the figures into ``out``."""
    summaries = collect(folders, resolution, data_root)
    out.mkdir(parents=True, exist_ok=True)
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for s in primary_runs(summaries):
        grouped[(s["protocol"], s["direction"])].append(s)
    protocols = [p for p in PROTOCOL_ORDER if any(k[0] == p for k in grouped)]
    directions = [d for d in ("f2sk", "sk2f") if any(k[1] == d for k in grouped)]
    md = report_header(folders, resolution)
    for protocol in protocols:
        leaky = " (LEAKY: augmented copies of one face on both sides of the split)" if protocol == "paper" else " (release split, independent test identities)"
        md += [f"## Protocol: {protocol}{leaky}", ""]
        suffix = "" if protocol == protocols[0] else f"_{protocol}"
        for direction in directions:
            if grouped.get((protocol, direction)):
                md += cell_section(grouped[(protocol, direction)], protocol, direction, suffix, out)
    if {"paper", "standard"} <= set(protocols):
        md += leak_section(grouped, directions)
    spread = seed_spread_table(summaries)
    if spread:
        md += [
            "## Spread across seeds",
            "",
            "Mean ± sample standard deviation, across training seeds, of each run's test-set mean: a difference between two "
            "cells smaller than a few of these standard deviations can be chance. The tables above show the lowest seed.",
            "",
            spread,
            "",
        ]
    write_text_atomic(out / "report.md", "\n".join(md))
    write_text_atomic(out / "results.csv", results_csv(summaries, resolution))
    log.info("report written to %s", out / "report.md")
    return out / "report.md"


class ReportCallback(Callback):
    """Hydra callback: after a multirun, evaluate its runs and write the report into the sweep folder.

    ``evaluate_each_job``: each job evaluates its own run as it ends, in its own process (in parallel under a
    parallel launcher), so that the report at the end only gathers; a job whose evaluation fails is evaluated again
    by the report.
    """

    def __init__(self, resolution: str = "original", evaluate_each_job: bool = False) -> None:
        self.resolution = resolution
        self.evaluate_each_job = evaluate_each_job

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if not self.evaluate_each_job or job_return.status != JobStatus.COMPLETED:
            return
        run_dir = Path(config.hydra.runtime.output_dir)
        data_root = config.data.get("root") if "data" in config else None
        try:
            for run in discover_runs([str(run_dir)]):
                evaluate_run(run, evaluation_settings(self.resolution, data_root))
        except Exception as err:  # the report evaluates it again, and says why if it fails there too
            log.warning("evaluating %s after its job failed (%s); the report will try again", run_dir, err)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        data_root = config.data.get("root") if "data" in config else None
        try:
            write_report([sweep_dir], sweep_dir / "report", self.resolution, data_root)
        except Exception as err:
            exit_on_user_error(err)
            raise


def report(cfg: DictConfig) -> Path:
    folders = [Path(str(folder)).expanduser() for folder in cfg.folders]
    if not folders:
        raise ConfigError("no folders to report on: pass folders=[outputs/train/multiruns/<time>]")
    out = Path(str(cfg.out)).expanduser() if cfg.get("out") else folders[0] / "report"
    return write_report(folders, out, str(cfg.resolution), cfg.get("data_root"))


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="report")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    print(report(cfg))


if __name__ == "__main__":
    main()
