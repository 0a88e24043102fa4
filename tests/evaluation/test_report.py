"""report's tables cell by cell: each run's numbers, the best in bold, paper minus standard (the command, runs evaluated
again where a metric is missing and the report after a multirun: tests/commands/)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from PIL import Image

from face2sketch.core.run_folder import EvaluationFolder, RunFolder
from face2sketch.evaluation.study import METRIC_LABEL
from face2sketch.metrics.image_sets import HIGHER_IS_BETTER
from face2sketch.report import ReportCallback, write_report

# -- the report's tables, cell by cell ------------------------------------------------------------------------------
LABELS, HIGHER = METRIC_LABEL, HIGHER_IS_BETTER  # each metric's row label in the report, and which way is better


def parse_tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Every markdown table of a report under the heading above it: one dict per row, keyed by the header's cells."""
    tables: dict[str, list[dict[str, str]]] = {}
    heading, lines = "", markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in line.strip("|").split("|")]
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=False)))
            tables[heading] = rows
    return tables


def cell_numbers(cell: str) -> tuple[float, float | None, bool]:
    """(mean, std, bold) of a 'mean ± std' cell, bold when wrapped in **."""
    bold = cell.startswith("**") and cell.endswith("**")
    parts = cell.strip("*").split(" ± ")
    return float(parts[0]), float(parts[1]) if len(parts) > 1 else None, bold


def check_report_tables(report: str, summaries: list[dict]) -> None:
    """Each protocol's table holds every run's metrics.json mean and std, bold on the best run per row (the minimum where
    lower is better), and the leak table holds paper minus standard."""
    tables = parse_tables(report)
    by_protocol: dict[str, dict[str, dict]] = {}
    for summary in summaries:
        by_protocol.setdefault(summary["protocol"], {})[summary["model"]] = summary
    for protocol, runs in by_protocol.items():
        (heading,) = [h for h in tables if f"— {protocol}, N =" in h]
        rows = {row["metric"]: row for row in tables[heading]}
        for metric, label in LABELS.items():
            means = {model: run["metrics"][metric]["mean"] for model, run in runs.items()}
            if all(v is None for v in means.values()):
                assert next(iter(runs.values()))["metrics"][metric]["status"] in rows[label].values()  # the reason, not a number
                continue
            valid = {m: v for m, v in means.items() if v is not None}
            best = (max if HIGHER[metric] else min)(valid.values())
            tolerance = 0.005 if metric in ("psnr", "fid") else 0.0005  # the table rounds to 2 or 3 decimals
            for model, mean in valid.items():
                shown_mean, shown_std, bold = cell_numbers(rows[label][model])
                assert shown_mean == pytest.approx(mean, abs=tolerance), (protocol, metric, model)
                assert shown_std == pytest.approx(runs[model]["metrics"][metric]["std"], abs=tolerance), (protocol, metric, model)
                assert bold == (mean == best and len(valid) > 1), (protocol, metric, model, rows[label])
    if {"paper", "standard"} <= set(by_protocol):
        (heading,) = [h for h in tables if h.startswith("face to sketch") and "—" not in h]
        leak = {row["metric"]: row for row in tables[heading]}
        shared = set(by_protocol["paper"]) & set(by_protocol["standard"])
        assert set(next(iter(leak.values()))) == {"metric", *shared}
        for metric, label in LABELS.items():
            for model in shared:
                paper, standard = (by_protocol[p][model]["metrics"][metric]["mean"] for p in ("paper", "standard"))
                if paper is not None and standard is not None:
                    tolerance = 0.005 if metric in ("psnr", "fid") else 0.0005
                    assert float(leak[label][model]) == pytest.approx(paper - standard, abs=tolerance), (metric, model)


def fake_evaluated_run(folder: Path, model: str, protocol: str, values: dict[str, tuple[float, float]], seed: int | None = None) -> dict:
    """A run folder whose evaluation is already written (the report reads it instead of evaluating again), trained with
    ``seed`` (None: a record without one)."""
    run = RunFolder(folder)
    best = run.checkpoints_dir / f"{RunFolder.BEST_PREFIX}epoch=0.ckpt"
    evaluation = EvaluationFolder(run.evaluation_dir(best))
    for made in (run.checkpoints_dir, run.tensorboard_dir, evaluation.samples_dir, evaluation.predictions_dir):
        made.mkdir(parents=True)
    run.config_file.write_text("{}\n")
    best.write_bytes(b"")
    metrics = {
        metric: {"mean": values[metric][0], "std": values[metric][1], "status": "ok", "higher_is_better": HIGHER[metric]}
        if metric in values
        else {"mean": None, "std": None, "status": "skipped: weights not available", "higher_is_better": HIGHER[metric]}
        for metric in LABELS
    }
    summary = {
        "run": str(folder),
        "checkpoint": str(best),
        "model": model,
        "model_class": model,
        "direction": "f2sk",
        "protocol": protocol,
        "leaky": protocol == "paper",
        "resolution": "original",
        "model_image_size": 32,
        "encoder_weights": None,
        "num_images": 4,
        "metrics": metrics,
        "seed": seed,
    }
    evaluation.metrics_file.write_text(json.dumps(summary))
    for name in ("f-001-01", "m-002-01"):
        for path in (evaluation.sample_input(name), evaluation.sample_target(name), evaluation.prediction(name)):
            Image.new("RGB", (20, 25), (120, 130, 140)).save(path)
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(run.tensorboard_dir)) as writer:
        for epoch, value in enumerate((0.4, 0.5)):
            writer.add_scalar("val/ssim", value, epoch)
            writer.add_scalar("train/loss_epoch", 1.0 / (epoch + 1), epoch)
    return summary


def test_report_tables_hold_each_runs_numbers_the_best_in_bold_and_paper_minus_standard(tmp_path: Path) -> None:
    # SSIM is best for conv_ae, MSE (lower is better) and PSNR for sparse_ae; pix2pix has the highest MSE, and no paper run
    runs = [
        ("conv_ae", "standard", {"ssim": (0.61, 0.011), "ssim_study": (0.69, 0.012), "mse": (0.031, 0.002), "psnr": (15.52, 0.51), "lpips": (0.3, 0.02)}),
        ("sparse_ae", "standard", {"ssim": (0.52, 0.012), "ssim_study": (0.71, 0.013), "mse": (0.021, 0.003), "psnr": (17.04, 0.52)}),
        ("pix2pix", "standard", {"ssim": (0.55, 0.013), "mse": (0.046, 0.004), "psnr": (13.41, 0.53)}),
        ("conv_ae", "paper", {"ssim": (0.71, 0.014), "mse": (0.025, 0.005), "psnr": (16.03, 0.54)}),
        ("sparse_ae", "paper", {"ssim": (0.56, 0.015), "mse": (0.012, 0.006), "psnr": (19.96, 0.55)}),
    ]
    summaries = [fake_evaluated_run(tmp_path / "sweep" / f"{i}_{m}_{p}", m, p, v) for i, (m, p, v) in enumerate(runs)]
    # the Hydra callback a sweep ends with writes the report into the sweep folder
    ReportCallback().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "sweep")}}, "data": {"root": None}}))
    report = (tmp_path / "sweep" / "report" / "report.md").read_text()
    # samples: a row per shared sample identity (2), a column for the input, each model and the ground truth, 1.6 x 2.0
    # inches each at 110 dpi; curves: 10 x 3.6 inches
    sizes = {"samples_f2sk.png": (880, 440), "samples_f2sk_paper.png": (704, 440), "curves_f2sk.png": (1100, 396), "curves_f2sk_paper.png": (1100, 396)}
    for figure, size in sizes.items():
        assert Image.open(tmp_path / "sweep" / "report" / figure).size == size and f"]({figure})" in report
    assert write_report([tmp_path / "sweep"], tmp_path / "report").read_text() == report  # the command line's report is the same
    check_report_tables(report, summaries)
    tables = parse_tables(report)
    standard = {row["metric"]: row for row in tables[next(h for h in tables if "— standard, N = 4" in h)]}
    assert list(standard["SSIM"])[:4] == ["metric", "sparse_ae", "conv_ae", "pix2pix"]  # the study's model order
    assert standard["MSE"]["sparse_ae"] == "**0.021 ± 0.003**" and standard["MSE"]["pix2pix"] == "0.046 ± 0.004"
    assert standard["SSIM"]["conv_ae"] == "**0.610 ± 0.011**" and standard["PSNR (dB)"]["sparse_ae"] == "**17.04 ± 0.52**"
    assert standard["LPIPS (vgg)"]["conv_ae"] == "0.300 ± 0.020"  # the only value in its row: nothing to be best against
    assert (standard["SSIM"]["study: conv_ae"], standard["MSE"]["study: vgg_ae"]) == ("0.768", "0.028")  # the study's Table III
    # the study's one SSIM stands beside both SSIM rows; a row's best is its own (sparse_ae here, conv_ae by SSIM)
    study_row = standard["SSIM as the study computed it"]
    assert (study_row["study: conv_ae"], study_row["sparse_ae"], study_row["conv_ae"]) == ("0.768", "**0.710 ± 0.013**", "0.690 ± 0.012")
    leak = {row["metric"]: row for row in tables["face to sketch (F2SK)"]}
    assert (leak["SSIM"]["conv_ae"], leak["MSE"]["sparse_ae"], leak["PSNR (dB)"]["sparse_ae"]) == ("+0.100", "-0.009", "+2.92")
    assert "pix2pix" not in leak["SSIM"] and "LPIPS (vgg)" not in leak
    with open(tmp_path / "report" / "results.csv") as handle:
        rows = {(r["protocol"], r["model"], r["metric"]): r for r in csv.DictReader(handle)}
    assert float(rows[("paper", "sparse_ae", "mse")]["mean"]) == 0.012 and rows[("standard", "pix2pix", "lpips")]["status"].startswith("skipped")
    assert float(rows[("standard", "conv_ae", "ssim_study")]["mean"]) == 0.69


def test_the_main_tables_show_each_cells_lowest_seed_and_the_spread_table_every_seed(tmp_path: Path) -> None:
    """Guards against the main tables showing another seed's run of a cell than the lowest (the highest, or whichever
    the folder listed last), which the report says they show. Seed 0 is the lowest here: a falsy seed still sorts first."""
    sweep = tmp_path / "sweep"
    conv_ae = {2: (0.70, 0.020, 12.3456), 0: (0.60, 0.030, 14.5), 1: (0.65, 0.025, 13.0)}  # seed: SSIM, MSE, FID
    summaries = [
        fake_evaluated_run(sweep / f"{i}_conv_ae_{seed}", "conv_ae", "standard", {"ssim": (s, 0.011), "mse": (m, 0.002), "fid": (f, 0.5)}, seed=seed)
        for i, (seed, (s, m, f)) in enumerate(conv_ae.items())
    ]
    summaries.append(fake_evaluated_run(sweep / "3_sparse_ae_5", "sparse_ae", "standard", {"ssim": (0.5, 0.01), "mse": (0.04, 0.003)}, seed=5))
    report = write_report([sweep], tmp_path / "report").read_text()
    tables = parse_tables(report)
    standard = {row["metric"]: row for row in tables[next(h for h in tables if "— standard, N = 4" in h)]}
    assert (standard["SSIM"]["conv_ae"], standard["MSE"]["conv_ae"]) == ("**0.600 ± 0.011**", "**0.030 ± 0.002**"), "seed 0's numbers"
    assert standard["FID"]["conv_ae"] == "14.50 ± 0.50" and standard["SSIM"]["sparse_ae"] == "0.500 ± 0.010"
    spread = {row["model"]: row for row in tables["Spread across seeds"]}
    assert list(spread) == ["conv_ae"], "a cell with one seed has no spread"
    row = spread["conv_ae"]
    assert (row["protocol"], row["direction"], row["seeds"]) == ("standard", "f2sk", "0, 1, 2")
    assert (row["SSIM"], row["MSE"], row["FSIM"]) == ("0.650 ± 0.050", "0.025 ± 0.005", "–")
    with open(tmp_path / "report" / "results.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["metric"] == "ssim"]
    assert sorted((r["model"], r["seed"], r["mean"]) for r in rows) == [
        ("conv_ae", "0", "0.6"),
        ("conv_ae", "1", "0.65"),
        ("conv_ae", "2", "0.7"),
        ("sparse_ae", "5", "0.5"),
    ], "results.csv keeps every seed's run"


def test_an_evaluation_is_reused_only_at_the_reports_resolution_and_with_every_metric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run scored at another resolution, or before a metric was added, is evaluated again (with the report's data
    root); a current evaluation is read as it is."""
    import face2sketch.evaluation.summaries as summaries_module
    from face2sketch.evaluation.summaries import collect, is_current

    run = tmp_path / "sweep" / "0_conv_ae"
    summary = fake_evaluated_run(run, "conv_ae", "standard", {"ssim": (0.6, 0.01)})
    assert is_current(summary, "original") and not is_current(summary, "model")
    assert not is_current({**summary, "metrics": {k: v for k, v in summary["metrics"].items() if k != "fid"}}, "original")
    evaluated: list[tuple[str, str, str | None]] = []

    def evaluate_run(found, settings) -> dict:  # type: ignore[no-untyped-def]
        evaluated.append((found.checkpoint.name, settings.resolution, settings.data_root))
        return {**summary, "resolution": settings.resolution}

    monkeypatch.setattr(summaries_module, "evaluate_run", evaluate_run)
    (reused,) = collect([tmp_path / "sweep"], "original", None)
    assert evaluated == [] and reused == {**summary, "evaluation_dir": str(run / "evaluation")}
    (again,) = collect([tmp_path / "sweep"], "model", "/data/cuhk")
    assert evaluated == [("best-epoch=0.ckpt", "model", "/data/cuhk")] and again["resolution"] == "model"


def test_after_each_sweep_job_its_run_is_evaluated_and_a_failure_is_left_to_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hydra.core.utils import JobReturn, JobStatus

    import face2sketch.report as report_module

    run = tmp_path / "sweep" / "0_conv_ae"
    fake_evaluated_run(run, "conv_ae", "standard", {"ssim": (0.6, 0.01)})
    evaluated: list[tuple[str, str, str | None]] = []

    def evaluate_run(found, settings) -> dict:  # type: ignore[no-untyped-def]
        evaluated.append((found.run.path.name, settings.resolution, settings.data_root))
        if settings.data_root == "/broken":
            raise RuntimeError("no data")
        return {}

    monkeypatch.setattr(report_module, "evaluate_run", evaluate_run)
    config = OmegaConf.create({"hydra": {"runtime": {"output_dir": str(run)}}, "data": {"root": "/data/cuhk"}})
    ReportCallback("model", evaluate_each_job=True).on_job_end(config, JobReturn(status=JobStatus.COMPLETED))
    ReportCallback("model", evaluate_each_job=True).on_job_end(config, JobReturn(status=JobStatus.FAILED))
    ReportCallback("model", evaluate_each_job=False).on_job_end(config, JobReturn(status=JobStatus.COMPLETED))
    assert evaluated == [("0_conv_ae", "model", "/data/cuhk")], "a completed job alone, when asked for"
    config.data.root = "/broken"
    ReportCallback("model", evaluate_each_job=True).on_job_end(config, JobReturn(status=JobStatus.COMPLETED))  # warns, does not raise
    assert evaluated[-1] == ("0_conv_ae", "model", "/broken")
