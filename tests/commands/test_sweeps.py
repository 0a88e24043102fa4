"""Multiruns of the train command: two jobs, the study's eight, the one-window GPU sweep at tiny scale, both protocols
then the report, and the joblib, SLURM and DDP launchers as a sweep meets them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from face2sketch.core.config import cpu_threads_per_job
from tests.conftest import EVALUATE_TINY, run_cli
from tests.evaluation.test_report import check_report_tables
from tests.models.test_models import MODELS
from tests.test_train import FAST
from tests.training.test_scale_out import TINY as SCALE_OUT_TINY
from tests.training.test_scale_out import compose_with_hydra

# -- one GPU window: every job at once, proven on the CPU at tiny scale -------------------------------------------------------
GPU_SWEEP_TINY = (
    "data=synthetic",
    "data.num_train=4",
    "data.num_test=2",
    "data.image_size=32",
    "trainer.max_epochs=2",
    "++for_model.vgg_ae.finetune_epochs=1",
    "trainer=cpu",
    "++for_model.vgg_ae.weights=none",
    "hydra.launcher.n_jobs=2",
)


# quick twins: test_launcher_composes[joblib], test_two_job_multirun_gives_each_job_a_folder, tests/core/test_config.py's
# estimate and paper_gpu composition, tests/evaluation/test_report.py's tables and evaluate_each_job
@pytest.mark.slow
def test_the_gpu_sweep_runs_every_job_and_writes_the_report_at_tiny_scale_on_the_cpu(tmp_path: Path) -> None:
    result = run_cli("face2sketch.train", "-m", "experiment=paper_gpu", *GPU_SWEEP_TINY, f"paths.output_root={tmp_path}", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    estimates = [line for line in log.splitlines() if "estimate:" in line]
    assert len(estimates) == 17 and "16 jobs" in estimates[-1] and "expected wall time" in estimates[-1]
    (sweep,) = (tmp_path / "train" / "multiruns").iterdir()
    runs = sorted(p.parent.name.split("_", 1)[1] for p in sweep.glob("*/metrics.json"))
    expected = sorted(f"{m}_{d}_{p}" for m in ("sparse_ae", "conv_ae", "pix2pix", "vgg_ae") for d in ("f2sk", "sk2f") for p in ("paper", "standard"))
    assert runs == expected
    for metrics in sweep.glob("*/metrics.json"):
        trained = json.loads(metrics.read_text())
        assert trained["status"] == "completed" and trained["num_val"] == 0 and trained["epochs"] == 2
        assert trained["cpu_threads"] == cpu_threads_per_job(2)  # hydra.launcher.n_jobs=2: two jobs share the cores
        evaluated = json.loads((metrics.parent / "evaluation" / "metrics.json").read_text())  # evaluated by its own job
        assert evaluated["resolution"] == "model" and evaluated["scored_weights"] == "final weights"
    report = (sweep / "report" / "report.md").read_text()
    assert "## Protocol: standard" in report and "## Protocol: paper" in report and "paper minus standard" in report
    assert report.count("Scored weights — sparse_ae: final weights; conv_ae: final weights; pix2pix: final weights; vgg_ae: final weights.") == 4
    from face2sketch.evaluation.study import METRIC_LABEL

    # a header, then a row per run and metric (metrics without weights here say so in their status)
    assert (sweep / "report" / "results.csv").read_text().count("\n") == 1 + 16 * len(METRIC_LABEL)


@pytest.mark.slow  # quick twins: test_every_model_and_direction_trains_with_right_shape_and_range, test_two_job_multirun_gives_each_job_a_folder below
def test_one_multirun_runs_the_studys_eight_jobs(tmp_path: Path) -> None:
    result = run_cli(
        "face2sketch.train",
        "-m",
        "model=sparse_ae,conv_ae,pix2pix,vgg_ae",
        "direction=f2sk,sk2f",
        "debug=fdr",
        "data=synthetic",
        "data.image_size=32",
        "data.num_train=8",
        "data.num_test=4",
        "++for_model.vgg_ae.weights=none",
        f"paths.output_root={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p.parent.name for p in tmp_path.glob("train/multiruns/*/*/metrics.json"))
    assert [j.split("_", 1)[1] for j in jobs] == [f"{m}_{d}_standard" for m in MODELS for d in ("f2sk", "sk2f")]


@pytest.mark.slow  # quick twin: test_report_tables_hold_each_runs_numbers_the_best_in_bold_and_paper_minus_standard
def test_multirun_then_report_with_both_protocols(tmp_path: Path) -> None:
    sweep = run_cli(
        "face2sketch.train",
        "-m",
        "data.split=paper,standard",
        "model=conv_ae,sparse_ae",
        *EVALUATE_TINY,
        "direction=f2sk",
        f"paths.output_root={tmp_path}",
        "+hydra.callbacks.report._target_=face2sketch.report.ReportCallback",
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    (folder,) = list((tmp_path / "train" / "multiruns").iterdir())
    assert len(list(folder.glob("*/evaluation/metrics.json"))) == 4
    report = (folder / "report" / "report.md").read_text()
    assert "## Protocol: standard" in report and "## Protocol: paper (LEAKY" in report
    assert "The study's leak: paper minus standard" in report
    assert "| SSIM |" in report and "study: conv_ae" in report and "0.768" in report and "**" in report
    assert "skipped: weights not available" in report
    summaries = [json.loads(p.read_text()) for p in folder.glob("*/evaluation/metrics.json")]
    check_report_tables(report, summaries)
    with open(folder / "report" / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["protocol"], r["model"]) for r in rows} == {(p, m) for p in ("paper", "standard") for m in ("conv_ae", "sparse_ae")}
    for figure in ("samples_f2sk.png", "samples_f2sk_paper.png", "curves_f2sk.png", "curves_f2sk_paper.png"):
        assert Image.open(folder / "report" / figure).size[0] > 300

    again = run_cli("face2sketch.report", f"folders=[{folder}]", f"out={tmp_path / 'again'}", f"paths.output_root={tmp_path}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert (tmp_path / "again" / "report.md").read_text() == report  # same evaluations, same tables


def test_ddp_in_a_local_sweep_is_one_line(tmp_path: Path) -> None:
    result = run_cli("face2sketch.train", "-m", "trainer=ddp_cpu", *SCALE_OUT_TINY, "trainer.max_epochs=1", f"paths.output_root={tmp_path}")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("face2sketch:")]
    assert len(lines) == 1 and "local sweep (-m)" in lines[0] and "hydra/launcher=slurm" in lines[0]


# hydra/launcher=joblib is the plugin's own config: a file of that name in conf/ would shadow it, which Hydra
# deprecates ("automatic schema matching") and warns about on every run
LAUNCHERS = {
    "slurm": (
        ("hydra.launcher.gpus_per_node=4", "hydra.launcher.partition=gpu"),
        {
            "_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
            "gpus_per_node": 4,
            "tasks_per_node": 4,
            "partition": "gpu",
            "timeout_min": 240,
            "max_num_timeout": 10,
            "nodes": 1,
        },
    ),
    "joblib": (
        ("hydra.launcher.n_jobs=3",),
        {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 3},
    ),
}


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
def test_launcher_composes(tmp_path: Path, name: str) -> None:
    overrides, expected = LAUNCHERS[name]
    job = run_cli("face2sketch.train", "--cfg", "job", f"hydra/launcher={name}", *overrides)
    assert job.returncode == 0 and "task_name: train" in job.stdout, job.stderr[-2000:]
    launcher = OmegaConf.to_container(compose_with_hydra(tmp_path, f"hydra/launcher={name}", *overrides).hydra.launcher, resolve=True)
    assert {key: launcher[key] for key in expected} == expected
    instantiate(launcher)  # the plugin is installed and takes these settings


# quick twins: test_launcher_composes[joblib] (the plugin takes face2sketch's settings), test_two_job_multirun_gives_each_job_a_folder
@pytest.mark.slow
def test_joblib_sweep_runs_two_tiny_runs(tmp_path: Path) -> None:
    result = run_cli(
        "face2sketch.train",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "trainer=cpu",
        *SCALE_OUT_TINY,
        "trainer.max_epochs=1",
        "seed=1,2",
        f"paths.output_root={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "train" / "multiruns").iterdir()
    assert OmegaConf.load(sweep / "multirun.yaml").hydra.launcher._target_.endswith("JoblibLauncher")
    metrics = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/metrics.json"))]
    assert [(m["status"], m["seed"]) for m in metrics] == [("completed", 1), ("completed", 2)]


def test_two_job_multirun_gives_each_job_a_folder(tmp_path: Path) -> None:
    result = run_cli("face2sketch.train", "-m", "direction=f2sk,sk2f", *FAST, "debug=fdr", f"paths.output_root={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = sorted(tmp_path.glob("train/multiruns/*/*/metrics.json"))
    assert [p.parent.name.split("_", 1)[1] for p in jobs] == ["conv_ae_f2sk_standard", "conv_ae_sk2f_standard"]
    assert {json.loads(p.read_text())["direction"] for p in jobs} == {"f2sk", "sk2f"}
