"""Tables and figures shaped like the study's, regenerated from runs.

    python -m face2sketch.report folders=[outputs/train/multiruns/<time>,<more folders>] [resolution=model] [out=DIR]

Evaluates every run of the folder that has no evaluation yet (see face2sketch.evaluate), then
writes report.md, results.csv, samples_<direction>.png (rows = the same test identities,
columns = input, each model, ground truth) and curves_<direction>.png from TensorBoard logs.
"""

from __future__ import annotations

import csv
import io
import logging
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from hydra.core.utils import JobReturn, JobStatus  # noqa: E402
from hydra.experimental.callback import Callback  # noqa: E402
from omegaconf import DictConfig  # noqa: E402
from PIL import Image  # noqa: E402

from face2sketch.config import CONFIG_DIR, compose_config  # noqa: E402
from face2sketch.errors import ConfigError, exit_on_user_error, one_line_user_errors  # noqa: E402
from face2sketch.evaluate import discover_runs, evaluate_run  # noqa: E402
from face2sketch.io import atomic_path, write_text_atomic  # noqa: E402
from face2sketch.run_folder import EvaluationFolder, RunFolder  # noqa: E402

log = logging.getLogger(__name__)

MODEL_ORDER = ["sparse_ae", "conv_ae", "pix2pix", "vgg_ae"]
METRIC_ORDER = ["ssim", "ssim_study", "mse", "psnr", "ms_ssim", "fsim", "scoot", "lpips", "fid"]
METRIC_LABEL = {
    "ssim": "SSIM",
    "ssim_study": "SSIM as the study computed it",
    "mse": "MSE",
    "psnr": "PSNR (dB)",
    "ms_ssim": "MS-SSIM",
    "fsim": "FSIM",
    "scoot": "SCOOT",
    "lpips": "LPIPS (vgg)",
    "fid": "FID",
}
DIRECTION_LABEL = {"f2sk": "face to sketch (F2SK)", "sk2f": "sketch to face (SK2F)"}
PROTOCOL_ORDER = ["standard", "paper"]
# The study's Tables III and IV: SSIM and MSE over 300 test images of its leaky split, at model resolution
STUDY = {
    "f2sk": {
        "ssim": {"sparse_ae": 0.699, "conv_ae": 0.768, "pix2pix": 0.744, "vgg_ae": 0.746},
        "mse": {"sparse_ae": 0.034, "conv_ae": 0.022, "pix2pix": 0.029, "vgg_ae": 0.028},
    },
    "sk2f": {
        "ssim": {"sparse_ae": 0.760, "conv_ae": 0.782, "pix2pix": 0.774, "vgg_ae": 0.807},
        "mse": {"sparse_ae": 0.028, "conv_ae": 0.020, "pix2pix": 0.021, "vgg_ae": 0.015},
    },
}
# which of the study's numbers stands beside each row: its SSIM beside both SSIM rows, since the study does not name
# its SSIM call and ssim_study is the most likely reading of it (docs/fidelity.md)
STUDY_CELL = {"ssim": "ssim", "ssim_study": "ssim", "mse": "mse"}


def evaluation_settings(resolution: str, data_root: str | None) -> DictConfig:
    """evaluate's settings (conf/evaluate.yaml, composed as its command line would) with this report's choices."""
    cfg = compose_config("evaluate", [])
    cfg.resolution, cfg.data_root = resolution, data_root
    return cfg


def is_current(summary: dict[str, Any], resolution: str) -> bool:
    """Whether an evaluation can be reused: at this resolution, and with every metric evaluate reports now."""
    from face2sketch.metrics import HIGHER_IS_BETTER  # torchmetrics is imported once a run is read, not for a refusal

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


SPREAD_METRICS = ["ssim", "ssim_study", "mse", "fsim", "scoot"]


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


def _models(runs: list[dict]) -> list[str]:
    present = {r["model"] for r in runs}
    return [m for m in MODEL_ORDER if m in present] + sorted(present - set(MODEL_ORDER))


def metric_table(runs: list[dict], direction: str, with_study: bool) -> str:
    """Rows = metrics, columns = models (best per row in bold), then the study's numbers as a reference block."""
    models = _models(runs)
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
    models = [m for m in _models(paper) if m in standard_by]
    lines = ["| metric | " + " | ".join(models) + " |", "|" + "---|" * (len(models) + 1)]
    for metric in METRIC_ORDER:
        cells = []
        for m in models:
            a, b = paper_by[m]["metrics"].get(metric, {}).get("mean"), standard_by[m]["metrics"].get(metric, {}).get("mean")
            cells.append("–" if a is None or b is None else f"{a - b:+.3f}" if metric not in ("psnr", "fid") else f"{a - b:+.2f}")
        if any(c != "–" for c in cells):
            lines.append(f"| {METRIC_LABEL[metric]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def samples_figure(runs: list[dict], path: Path, rows: int = 3) -> bool:
    """Rows = the same test identities for every model; columns = input, each model, ground truth."""
    models = _models(runs)
    by_model = {r["model"]: EvaluationFolder(Path(r["evaluation_dir"])) for r in runs}
    names = sorted(set.intersection(*[set(by_model[m].sample_names()) for m in models]))[:rows]
    if not names:
        return False
    first = by_model[models[0]]
    columns = ["input", *models, "ground truth"]
    fig, axes = plt.subplots(len(names), len(columns), figsize=(1.6 * len(columns), 2.0 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        images = [
            first.sample_input(name),
            *[by_model[m].prediction(name) for m in models],
            first.sample_target(name),
        ]
        for c, image_path in enumerate(images):
            ax = axes[r][c]
            ax.imshow(Image.open(image_path).convert("RGB"))
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[c], fontsize=9)
        axes[r][0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=110)
    plt.close(fig)
    return True


def read_scalars(run_dir: Path) -> dict[str, list[float]]:
    """Per-epoch scalars of a run's TensorBoard events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(RunFolder(run_dir).tensorboard_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags().get("scalars", [])
    return {tag: [e.value for e in events.Scalars(tag)] for tag in tags}


def curves_figure(runs: list[dict], path: Path) -> bool:
    """Validation SSIM and training loss per epoch, one line per model."""
    fig, (ax_ssim, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.6))
    drawn = False
    for run in sorted(runs, key=lambda r: MODEL_ORDER.index(r["model"]) if r["model"] in MODEL_ORDER else 99):
        scalars = read_scalars(Path(run["run"]))
        if "val/ssim" in scalars:
            ax_ssim.plot(range(1, len(scalars["val/ssim"]) + 1), scalars["val/ssim"], label=run["model"], marker=".")
            drawn = True
        loss_tag = next((t for t in ("train/loss_epoch", "train/g_loss_epoch") if t in scalars), None)
        if loss_tag:
            drawn = True
            ax_loss.plot(
                range(1, len(scalars[loss_tag]) + 1), scalars[loss_tag], label=f"{run['model']} ({loss_tag.split('/')[1].removesuffix('_epoch')})", marker="."
            )
    if not ax_ssim.lines:
        ax_ssim.text(0.5, 0.5, "no validation split\n(data.val_fraction=0)", ha="center", va="center", transform=ax_ssim.transAxes)
    ax_ssim.set(xlabel="epoch", ylabel="validation SSIM", title="validation SSIM")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="training loss (own objective per model)", yscale="log")
    for ax in (ax_ssim, ax_loss):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=110)
    plt.close(fig)
    return drawn


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
    scored = "; ".join(f"{r['model']}: {r.get('scored_weights', 'unknown')}" for r in sorted(runs, key=lambda r: _models(runs).index(r["model"])))
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
