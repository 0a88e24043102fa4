"""evaluate and report: deterministic numbers, files written, user errors, the report after a multirun."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from face2sketch.train import train
from tests.conftest import compose_train, run_cli

TINY = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=4", "trainer=cpu", "debug=limit", "encoder_weights=none")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "conv_ae_f2sk"
    train(compose_train(run, *TINY, "model=pix2pix", "model.train_mode_inference=true"))
    return run


def _evaluate(*args: str) -> object:
    return run_cli("face2sketch.evaluate", *args)


def test_evaluating_twice_gives_identical_numbers_and_named_files(trained_run: Path, tmp_path: Path) -> None:
    first = _evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert first.returncode == 0, first.stderr[-2000:]
    metrics_1 = json.loads((trained_run / "evaluation" / "metrics.json").read_text())
    rows_1 = (trained_run / "evaluation" / "per_image.csv").read_text()
    second = _evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert second.returncode == 0
    assert json.loads((trained_run / "evaluation" / "metrics.json").read_text())["metrics"] == metrics_1["metrics"]
    assert (trained_run / "evaluation" / "per_image.csv").read_text() == rows_1  # dropout at inference is seeded

    rows = list(csv.DictReader(rows_1.splitlines()))
    assert len(rows) == metrics_1["num_images"] == 4
    names = {r["name"] for r in rows}
    assert {p.stem for p in (trained_run / "evaluation" / "predictions").glob("*.png")} == names
    assert all(metrics_1["metrics"][m]["status"] == "ok" and metrics_1["metrics"][m]["std"] is not None for m in ("ssim", "mse", "fsim", "scoot"))
    assert metrics_1["metrics"]["lpips"]["status"].startswith("skipped")
    assert metrics_1["resolution"] == "original"
    assert Image.open(next((trained_run / "evaluation" / "predictions").glob("*.png"))).size == (200, 250)


def test_model_resolution_scores_at_the_model_size(trained_run: Path, tmp_path: Path) -> None:
    result = _evaluate(f"runs=[{trained_run}]", "resolution=model", f"paths.output_root={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((trained_run / "evaluation" / "metrics.json").read_text())
    assert summary["resolution"] == "model" and summary["metrics"]["ms_ssim"]["status"].startswith("n/a")
    assert Image.open(next((trained_run / "evaluation" / "predictions").glob("*.png"))).size == (32, 32)


def test_wrong_direction_is_one_line_and_non_zero(trained_run: Path, tmp_path: Path) -> None:
    result = _evaluate(f"runs=[{trained_run / 'checkpoints' / 'last.ckpt'}]", "expect_direction=sk2f", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "trained for f2sk, not expect_direction=sk2f" in lines[0]
    assert not (trained_run / "evaluation_last").exists(), "no half-written evaluation folder"


def test_missing_folder_is_one_line_and_non_zero(tmp_path: Path) -> None:
    result = _evaluate(f"runs=[{tmp_path / 'nope'}]", f"paths.output_root={tmp_path}")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1 and "is not a run folder" in lines[0], result.stderr


def test_multirun_then_report_with_both_protocols(tmp_path: Path) -> None:
    sweep = run_cli(
        "face2sketch.train", "-m", "data.split=paper,standard", "model=conv_ae,sparse_ae", *TINY, "direction=f2sk",
        f"paths.output_root={tmp_path}", "+hydra.callbacks.report._target_=face2sketch.report.ReportCallback",
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    (folder,) = list((tmp_path / "train" / "multiruns").iterdir())
    assert len(list(folder.glob("*/evaluation/metrics.json"))) == 4
    report = (folder / "report" / "report.md").read_text()
    assert "## Protocol: standard" in report and "## Protocol: paper (LEAKY" in report
    assert "The study's leak: paper minus standard" in report
    assert "| SSIM |" in report and "study: conv_ae" in report and "0.768" in report and "**" in report
    assert "skipped: weights not available" in report
    with open(folder / "report" / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["protocol"], r["model"]) for r in rows} == {(p, m) for p in ("paper", "standard") for m in ("conv_ae", "sparse_ae")}
    for figure in ("samples_f2sk.png", "samples_f2sk_paper.png", "curves_f2sk.png", "curves_f2sk_paper.png"):
        assert Image.open(folder / "report" / figure).size[0] > 300

    again = run_cli("face2sketch.report", str(folder), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr[-2000:]
    assert (tmp_path / "again" / "report.md").read_text() == report  # same evaluations, same tables


def test_report_of_an_empty_folder_is_one_line(tmp_path: Path) -> None:
    result = run_cli("face2sketch.report", str(tmp_path))
    lines = [line for line in result.stderr.splitlines() if line.strip() and "INFO" not in line]
    assert result.returncode != 0 and len(lines) == 1 and "face2sketch: error" in lines[0], result.stderr
