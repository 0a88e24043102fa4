"""Reports as users make them: a run the evaluate command scored before a metric was added is evaluated again by the
report; the report command over an empty folder is one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from face2sketch.report import write_report
from tests.conftest import run_cli, run_evaluate


def test_report_of_an_empty_folder_is_one_line(tmp_path: Path) -> None:
    result = run_cli("face2sketch.report", f"folders=[{tmp_path}]", f"paths.output_root={tmp_path / 'outputs'}")
    lines = [line for line in result.stderr.splitlines() if line.strip() and "INFO" not in line]
    assert result.returncode != 0 and len(lines) == 1 and "face2sketch: error" in lines[0], result.stderr


def test_the_report_evaluates_again_a_run_evaluated_before_a_metric_was_added(trained_run: Path, tmp_path: Path) -> None:
    result = run_evaluate(f"runs=[{trained_run}]", f"paths.output_root={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics_file = trained_run / "evaluation" / "metrics.json"
    current = json.loads(metrics_file.read_text())
    older = {**current, "metrics": {k: v for k, v in current["metrics"].items() if k != "ssim_study"}}
    metrics_file.write_text(json.dumps(older))
    write_report([trained_run.parent], tmp_path / "report")
    assert json.loads(metrics_file.read_text())["metrics"] == current["metrics"]
    with open(tmp_path / "report" / "results.csv") as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["metric"] == "ssim_study"]
    assert float(row["mean"]) == pytest.approx(current["metrics"]["ssim_study"]["mean"], abs=1e-12)
