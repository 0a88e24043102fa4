"""Scale-out: DDP over 2 CPU processes (gloo) and the SLURM launcher's jobs (the sweeps themselves: tests/commands/test_sweeps.py)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import submitit
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from face2sketch.core.config import CONFIG_DIR
from tests.conftest import run_cli

TINY = (
    "data=synthetic",
    "data.image_size=32",
    "data.num_train=16",
    "data.num_test=4",
    "data.batch_size=2",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, dict]]:
    """One 2-process DDP run of 2 epochs x 3 batches, each process probed; (output root, probe record by rank)."""
    root = tmp_path_factory.mktemp("ddp")
    result = run_cli(
        "tests.helpers.ddp_probe",
        "trainer=ddp_cpu",
        *TINY,
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",  # the probe compares each batch's logged loss across the processes
        f"paths.output_root={root / 'out'}",
        f"+probe_dir={root / 'probe'}",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = {int(p.stem.removeprefix("rank")): json.loads(p.read_text()) for p in (root / "probe").glob("rank*.json")}
    return root / "out", records


def test_ddp_both_ranks_train_on_their_own_share_of_the_data(ddp_run: tuple[Path, dict[int, dict]]) -> None:
    _, records = ddp_run
    assert sorted(records) == [0, 1] and {r["world_size"] for r in records.values()} == {2}
    for record in records.values():
        assert record["global_step"] == 6 and len(record["gradients"]) == 6
        assert record["weights"] != record["initial_weights"]
    for epoch in (0, 1):
        names = [[n for b in records[rank]["batches"] if b["epoch"] == epoch for n in b["names"]] for rank in (0, 1)]
        assert len(names[0]) == len(names[1]) == 6 and not set(names[0]) & set(names[1]), "the ranks split the epoch"
    # Lightning's DistributedSamplerWrapper passes set_epoch on to EpochShuffleSampler (order and augmentation by epoch)
    assert all(b["sampler_epoch"] == b["epoch"] for r in records.values() for b in r["batches"])
    order = [[n for b in records[0]["batches"] if b["epoch"] == epoch for n in b["names"]] for epoch in (0, 1)]
    assert order[0] != order[1]


def test_ddp_gradients_weights_and_logged_losses_agree(ddp_run: tuple[Path, dict[int, dict]]) -> None:
    _, records = ddp_run
    for step, (grads0, grads1) in enumerate(zip(records[0]["gradients"], records[1]["gradients"], strict=True)):
        assert any(g != 0 for g in grads0)
        assert all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7) for a, b in zip(grads0, grads1, strict=True)), f"step {step}"
    assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7) for a, b in zip(records[0]["weights"], records[1]["weights"], strict=True))
    batches = list(zip(records[0]["batches"], records[1]["batches"], strict=True))
    assert any(b0["local_loss"] != b1["local_loss"] for b0, b1 in batches), "different data, different losses"
    for b0, b1 in batches:  # sync_dist: the logged loss is the mean over the processes, the same in both
        assert math.isclose(b0["logged_loss"], b1["logged_loss"], rel_tol=1e-6)
        assert math.isclose(b0["logged_loss"], (b0["local_loss"] + b1["local_loss"]) / 2, rel_tol=1e-5)


def test_ddp_only_rank_zero_writes_the_run_files(ddp_run: tuple[Path, dict[int, dict]]) -> None:
    out, records = ddp_run
    assert sorted(records[0]["written"]) == ["config.yaml", "examples.json", "metrics.json", "skipped.json"]
    assert records[1]["written"] == []
    runs = list((out / "train" / "runs").iterdir())
    assert len(runs) == 1, "rank 1 works in rank 0's run folder, not a folder of its own"
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["world_size"] == 2 and metrics["global_step"] == 6
    checkpoints = sorted(p.name for p in (runs[0] / "checkpoints").iterdir())
    assert len(checkpoints) == 2 and checkpoints[0].startswith("best-epoch") and checkpoints[1] == "last.ckpt"
    assert len(list((runs[0] / "tensorboard").glob("events.out.tfevents.*"))) >= 1


def compose_with_hydra(tmp_path: Path, *overrides: str) -> DictConfig:
    """The train command's whole config, Hydra's part included, as ``python -m face2sketch.train`` composes it."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", return_hydra_config=True, overrides=["hydra.job.name=train", f"paths.output_root={tmp_path}", *overrides])
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_slurm_launcher_submits_one_job_per_run_with_gpus_time_limit_and_requeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's own launch() with the composed config, up to the sbatch file submitit would submit."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text("#!/bin/sh\n")  # submitit only checks that srun exists
    (fake_bin / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    submitted: dict = {}

    def capture(executor: submitit.AutoExecutor, fn: object, *iterables: list) -> list:
        submitted.update(executor=executor, jobs=list(zip(*iterables, strict=False)))
        return []

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", capture)
    cfg = compose_with_hydra(tmp_path, "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.gpus_per_node=2")
    launcher = instantiate(cfg.hydra.launcher)
    launcher.setup(hydra_context=None, task_function=lambda _: None, config=cfg)
    launcher.launch([["seed=1", "ckpt_path=last"], ["seed=2", "ckpt_path=last"]], initial_job_idx=0)

    assert [job[0] for job in submitted["jobs"]] == [["seed=1", "ckpt_path=last"], ["seed=2", "ckpt_path=last"]]
    slurm = submitted["executor"]._executor
    sbatch = slurm._make_submission_file_text("python -m face2sketch.train", "uid")
    for line in ("--gpus-per-node=2", "--ntasks-per-node=2", "--time=240", "--partition=gpu", "--signal=USR2@120", "--nodes=1"):
        assert f"#SBATCH {line}\n" in sbatch, line
    assert slurm.max_num_timeout == 10
