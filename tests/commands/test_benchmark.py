"""The benchmark command as a user runs it: its record and table, the A/B against another checkout, one-line errors,
and the GPU measurement script at tiny scale on the CPU."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from face2sketch.core.config import PROJECT_ROOT, cpu_threads_per_job
from tests.conftest import run_cli

STUB_TRAIN = """
import json, sys
from pathlib import Path

args = sys.argv[1:]
run_dir = Path(next(a.split("=", 1)[1] for a in args if a.startswith("hydra.run.dir=")))
run_dir.mkdir(parents=True, exist_ok=True)
(run_dir / "metrics.json").write_text(json.dumps({"fit_seconds": 123.0}))
with open(Path(__file__).parent.parent / "calls.jsonl", "a") as calls:
    calls.write(json.dumps(args) + "\\n")
"""


def stub_checkout(folder: Path) -> Path:
    """Another 'checkout' whose face2sketch.train only records its arguments and reports a fit of 123 s."""
    (folder / "face2sketch").mkdir(parents=True)
    (folder / "face2sketch" / "__init__.py").write_text("")
    (folder / "face2sketch" / "train.py").write_text(STUB_TRAIN)
    return folder


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_a_short_benchmark_writes_its_record_and_compares_against_the_other_checkout(tmp_path: Path) -> None:
    """The quick twin of the full command test below (opt-in, -m slow): one model, one of everything, the stub comparison."""
    output, compare = tmp_path / "bench", stub_checkout(tmp_path / "older")
    done = run_cli(
        "face2sketch.benchmark",
        "models=[conv_ae]",
        "dataset=synthetic",
        "image_size=32",
        "batch_size=2",
        "warmup=1",
        "steps=1",
        "rounds=1",
        "data_batches=1",
        "latency_repeats=1",
        "inference_batch=1",
        "onnx=false",
        "train_run_model=conv_ae",
        "train_run_batches=1",
        "train_run_rounds=1",
        f"train_run_compare={compare}",
        f"output={output}",
        f"paths.output_root={tmp_path / 'outputs'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((output / "benchmark.json").read_text())
    (row,) = record["results"]
    assert (row["model"], row["image_size"], row["batch_size"], row["device"]) == ("conv_ae", 32, 2, "cpu")
    assert all(is_number(row[key]) for key in ("train_images_per_s", "bare_images_per_s", "eager_ms", "peak_train_mb"))
    assert row["ratio"] == pytest.approx(row["train_images_per_s"] / row["bare_images_per_s"])
    # both loops step through the same batches: the ratio of their rates is that of their times per step
    assert row["ratio"] == pytest.approx(row["bare_ms_per_step"] / row["train_ms_per_step"])
    assert row["overhead_ms_per_step"] == pytest.approx(row["train_ms_per_step"] - row["bare_ms_per_step"])
    run = record["train_run"]
    assert run["model"] == "conv_ae" and run["batches"] == 1 and run["ratio"] == pytest.approx(run["bare_seconds"] / run["fit_seconds"])
    assert run["compare_checkout"] == str(compare.resolve()) and run["compare_fit_seconds"] == 123.0
    (call,) = [json.loads(line) for line in (compare / "calls.jsonl").read_text().splitlines()]
    assert "model=conv_ae" in call and "trainer.limit_train_batches=1" in call
    assert "| conv_ae | 32 | 2 |" in (output / "benchmark.md").read_text()


@pytest.mark.slow
def test_the_benchmark_command_writes_json_and_a_table(tmp_path: Path) -> None:
    output, compare = tmp_path / "bench", stub_checkout(tmp_path / "older")
    done = run_cli(
        "face2sketch.benchmark",
        "models=[conv_ae,pix2pix]",
        "dataset=synthetic",
        "image_size=32",
        "batch_size=4",
        "warmup=1",
        "steps=2",
        "rounds=2",
        "data_batches=3",
        "latency_repeats=2",
        "inference_batch=2",
        "train_run_batches=2",
        "train_run_rounds=1",
        f"train_run_compare={compare}",
        f"output={output}",
        f"paths.output_root={tmp_path / 'outputs'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((output / "benchmark.json").read_text())
    assert {"cpu", "cpu_cores", "torch", "lightning", "gpu"} <= set(record["machine"])
    assert [r["model"] for r in record["results"]] == ["conv_ae", "pix2pix"]
    for row in record["results"]:
        assert row["image_size"] == 32 and row["batch_size"] == 4 and row["device"] == "cpu"
        measured = ("train_images_per_s", "bare_images_per_s", "data_samples_per_s", "eager_ms", "onnx_ms", "peak_train_mb", "peak_inference_mb")
        assert all(is_number(row[key]) for key in measured), row
        assert row["ratio"] == pytest.approx(row["train_images_per_s"] / row["bare_images_per_s"])
        assert len(row["ratio_per_round"]) == 2
        assert row["data_headroom"] == pytest.approx(row["data_samples_per_s"] / row["train_images_per_s"])
    run = record["train_run"]
    assert run["model"] == "pix2pix" and run["batches"] == 2 and is_number(run["fit_seconds"]) and is_number(run["bare_seconds"])
    assert run["ratio"] == pytest.approx(run["bare_seconds"] / run["fit_seconds"])
    # the comparison ran the other checkout's training command, with the same arguments, and reports its fit
    assert run["compare_checkout"] == str(compare.resolve()) and run["compare_fit_seconds"] == 123.0
    assert run["compare_ratio"] == pytest.approx(run["bare_seconds"] / 123.0)
    (call,) = [json.loads(line) for line in (compare / "calls.jsonl").read_text().splitlines()]
    assert "model=pix2pix" in call and "trainer.limit_train_batches=2" in call and "test=false" in call
    assert is_number(record["startup"]["import_seconds"])
    table = (output / "benchmark.md").read_text()
    assert "| conv_ae | 32 | 4 |" in table and "| pix2pix | 32 | 4 |" in table and "`python -m face2sketch.benchmark" in table


def test_a_missing_data_folder_is_one_line(tmp_path: Path) -> None:
    done = run_cli(
        "face2sketch.benchmark", "models=[conv_ae]", f"data_root={tmp_path / 'nowhere'}", f"output={tmp_path / 'b'}", f"paths.output_root={tmp_path}"
    )
    assert done.returncode != 0
    assert "nowhere" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "b" / "benchmark.json").exists()


def test_an_unknown_model_is_one_line(tmp_path: Path) -> None:
    done = run_cli("face2sketch.benchmark", "models=[conv_ae,nope]", "dataset=synthetic", f"output={tmp_path / 'b'}", f"paths.output_root={tmp_path}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("face2sketch: error: cannot compose the training config for model 'nope'") and "model/nope" in last
    assert not (tmp_path / "b" / "benchmark.json").exists()


QUICK_BENCHMARK = "trainer_preset=cpu image_size=32 batch_size=2 warmup=1 steps=2 rounds=1 data_batches=1 latency_repeats=1 inference_batch=1"


@pytest.mark.slow  # its three parts at tiny scale, a sweep and two benchmarks: a few minutes on 2 CPU cores
def test_the_gpu_measurement_script_runs_every_part_and_keeps_its_records_at_tiny_scale_on_the_cpu(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "BENCHMARK_OVERRIDES": f"{QUICK_BENCHMARK} models=[conv_ae]",
        "CUDAGRAPHS_OVERRIDES": f"{QUICK_BENCHMARK} models=[conv_ae]",
        "PAPER_GPU_OVERRIDES": "trainer=cpu data.num_train=4 data.num_test=2 data.image_size=32 trainer.max_epochs=1 model=conv_ae,pix2pix direction=f2sk "
        "hydra.launcher.n_jobs=2",
    }
    script = PROJECT_ROOT / "docs" / "benchmark" / "gpu" / "measure.sh"
    done = subprocess.run(["bash", str(script), "synthetic", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:]
    records = tmp_path / "out" / "records"
    names = ["benchmark.json", "benchmark.md", "cudagraphs.json", "cudagraphs.md", "log.txt", "paper_gpu.json", "paper_gpu_report.tar.gz"]
    assert sorted(p.name for p in records.iterdir()) == names
    log = (records / "log.txt").read_text()
    assert all(f"{part}: exit status 0" in log for part in ("benchmark", "cudagraphs", "paper_gpu")), log[-3000:]
    (plain,) = json.loads((records / "benchmark.json").read_text())["results"]
    (graphs,) = json.loads((records / "cudagraphs.json").read_text())["results"]
    assert plain["model"] == graphs["model"] == "conv_ae" and not plain["compiled"] and graphs["compiled"]
    sweep = json.loads((records / "paper_gpu.json").read_text())
    assert sweep["command_exit_status"] == 0 and is_number(sweep["wall_seconds"])
    assert sorted((job["model"], job["protocol"]) for job in sweep["jobs"]) == [(m, p) for m in ("conv_ae", "pix2pix") for p in ("paper", "standard")]
    assert all(job["status"] == "completed" and job["cpu_threads"] == cpu_threads_per_job(2) for job in sweep["jobs"])
    with tarfile.open(records / "paper_gpu_report.tar.gz") as report:
        assert {"report/report.md", "report/results.csv"} <= set(report.getnames())
