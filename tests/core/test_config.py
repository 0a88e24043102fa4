"""The composition of conf/: the study's own settings (no validation carve-out, the tutorial's discriminator
BatchNorm), the experiments that compose them with every model, settings for one model in a sweep over several,
and checkpoints that short epochs do not pay for (the one-window GPU sweep runs in tests/commands/test_sweeps.py)."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from omegaconf import OmegaConf
from torch import nn

from face2sketch.core.config import cpu_threads_per_job
from face2sketch.evaluation.evaluation import evaluate_run
from face2sketch.evaluation.subjects import discover_runs
from face2sketch.evaluation.summaries import evaluation_settings
from face2sketch.evaluation.tables import seed_spread_table
from face2sketch.models import Pix2Pix
from face2sketch.train import build_run, train
from face2sketch.training.callbacks.checkpoints import BackgroundCheckpointIO
from face2sketch.training.estimate import sweep_jobs
from face2sketch.training.validation import EVERY_MODEL_KEYS, FOR_MODEL_KEYS
from tests.conftest import PROJECT_ROOT, compose_train

SMALL = ("data=synthetic", "data.image_size=32", "data.num_train=8", "data.num_test=4", "data.batch_size=2", "trainer=cpu", "++for_model.vgg_ae.weights=none")


class CountValidation(L.Callback):
    def __init__(self) -> None:
        self.batches = 0

    def on_validation_batch_end(self, *args: object, **kwargs: object) -> None:
        self.batches += 1


# -- no validation carve-out -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", [("model=conv_ae",), ("model=pix2pix", "model.ngf=8", "model.ndf=8", "data.batch_size=2")], ids=["unit_range", "tanh_range"])
def test_no_validation_trains_every_example_and_tests_the_final_weights(tmp_path: Path, model: tuple[str, ...]) -> None:
    """conv_ae works in [0, 1], pix2pix in [-1, 1]: the training-time test scores equal evaluate's for both."""
    counter = CountValidation()
    summary = train(compose_train(tmp_path / "run", *SMALL, *model, "data.val_fraction=0", "trainer.max_epochs=2"), extra_callbacks=[counter])
    assert counter.batches == 0, "no validation loop, not even the sanity check"
    assert summary["num_val"] == 0 and summary["num_train"] == 8
    steps = 2 * 4 * (3 if "model=pix2pix" in model else 1)  # 8 examples in batches of 2, for 2 epochs; pix2pix: D, D, G
    assert summary["global_step"] == steps
    assert summary["best_checkpoint"] is None and summary["tested_weights"].startswith("final weights")
    checkpoints = tmp_path / "run" / "checkpoints"
    assert [p.name for p in checkpoints.iterdir()] == ["last.ckpt"]
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"] == steps

    # evaluate scores the same final weights the test scored, into the run's own evaluation folder
    (run,) = discover_runs([str(tmp_path / "run")])
    settings = evaluation_settings("model", None)
    evaluated = evaluate_run(run, settings)
    assert run.output_dir.name == "evaluation" and evaluated["scored_weights"] == "final weights"
    assert evaluated["metrics"]["ssim"]["mean"] == pytest.approx(summary["test_metrics"]["ssim"], abs=1e-5)
    assert evaluated["metrics"]["mse"]["mean"] == pytest.approx(summary["test_metrics"]["mse"], abs=1e-6)
    assert evaluated["metrics"]["ssim_study"]["mean"] == pytest.approx(summary["test_metrics"]["ssim_study"], abs=1e-6)


def test_with_validation_the_best_checkpoint_is_tested_and_named(tmp_path: Path) -> None:
    summary = train(compose_train(tmp_path / "run", *SMALL, "trainer.max_epochs=2"))
    assert summary["num_val"] >= 1 and summary["best_checkpoint"]
    assert summary["tested_weights"] == f"best by validation SSIM ({Path(summary['best_checkpoint']).name})"
    (run,) = discover_runs([str(tmp_path / "run")])
    assert run.checkpoint.name.startswith("best-") and run.weights == "best by validation SSIM"


def test_the_shipped_recipe_keeps_the_checkpoint_with_the_best_validation_quality(tmp_path: Path) -> None:
    """experiment=default_f2sk at tiny scale: val/quality from the clean and the real-conditions validation images each
    epoch, the best of them kept and tested."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    overrides = ("experiment=default_f2sk", "data=synthetic", "data.image_size=32", "data.num_train=10", "data.num_test=3", "trainer=cpu")
    overrides += ("data.val_fraction=0.3", "trainer.max_epochs=3", "trainer.check_val_every_n_epoch=1", "model.lr_constant_epochs=1")
    summary = train(compose_train(tmp_path / "run", *overrides, "model.ngf=8", "model.ndf=8", "trainer.precision=32-true"))
    scalars: dict[str, list[float]] = {}
    for events in sorted((tmp_path / "run" / "tensorboard").glob("events*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            if tag.startswith("val/"):
                scalars.setdefault(tag, []).extend(event.value for event in accumulator.Scalars(tag))
    quality = scalars["val/quality"]
    assert len(quality) == 3
    for epoch in range(3):
        parts = [scalars[name][epoch] for name in ("val/fsim", "val/scoot", "val/fsim_real", "val/scoot_real")]
        assert quality[epoch] == pytest.approx(sum(parts) / 4, abs=1e-6)
    best_epoch = max(range(3), key=lambda epoch: quality[epoch])
    assert Path(summary["best_checkpoint"]).name == f"best-epoch{best_epoch:03d}.ckpt"
    assert summary["tested_weights"] == f"best by validation quality (best-epoch{best_epoch:03d}.ckpt)"
    assert summary["augmentation"] == "RealWorldAugmentation" and summary["validation_conditions"] == "real"
    (run,) = discover_runs([str(tmp_path / "run")])
    assert run.weights == "best by validation quality"
    examples = json.loads((tmp_path / "run" / "examples.json").read_text())
    train_ids, val_ids, test_ids = (set(examples[side]) for side in ("train", "val", "test"))  # standard protocol: one example per identity
    assert len(train_ids) == 7 and len(val_ids) == 3 and len(test_ids) == 3
    assert not (train_ids & val_ids or train_ids & test_ids or val_ids & test_ids)


def test_the_default_models_recipe_runs_under_fast_dev_run(tmp_path: Path) -> None:
    """debug=fdr runs one batch of everything: the recipe's 75 constant-rate epochs must not refuse that one epoch."""
    summary = train(
        compose_train(
            tmp_path / "run", "experiment=default_sk2f", "data=synthetic", "data.image_size=32", "trainer=cpu", "model.ngf=8", "model.ndf=8", "debug=fdr"
        )
    )
    assert summary["status"] == "completed" and summary["global_step"] == 3  # one batch: the two discriminator updates, the generator's


def test_the_best_checkpoint_keeps_lightnings_state_key_so_older_runs_resume_their_record() -> None:
    from face2sketch.training.callbacks.checkpoints import BestCheckpoint

    callback = BestCheckpoint(run_dir="unused", monitor="val/ssim", mode="max")
    assert callback.state_key.startswith("ModelCheckpoint{") and "'monitor': 'val/ssim'" in callback.state_key


# -- the experiments' composed settings ------------------------------------------------------------------------------------
def _job_config(*overrides: str, tmp_path: Path) -> dict:
    """The job's config with every interpolation resolved, as ``train --cfg job --resolve`` prints it (composed in this
    process: the command's own printing is tested in tests/commands/test_train.py)."""
    return OmegaConf.to_container(compose_train(tmp_path / "run", *overrides), resolve=True)  # type: ignore[return-value]


@pytest.mark.parametrize("experiment", ["paper", "paper_gpu"])
def test_the_study_experiments_compose_its_settings(experiment: str, tmp_path: Path) -> None:
    pix2pix = _job_config(f"experiment={experiment}", "model=pix2pix", tmp_path=tmp_path)
    assert pix2pix["data"]["val_fraction"] == 0
    assert pix2pix["trainer"]["precision"] == "32-true"
    assert pix2pix["model"]["generator_trains_discriminator_batchnorm"] is True
    assert pix2pix["trainer"]["max_epochs"] == 6 and pix2pix["data"]["batch_size"] == 1
    vgg = _job_config(f"experiment={experiment}", "model=vgg_ae", tmp_path=tmp_path)
    assert vgg["for_model"]["vgg_ae"] == {"image_size": 224, "max_epochs": 110, "weights": "imagenet_features"}
    assert vgg["model"]["weights"] == "imagenet_features"
    assert vgg["trainer"]["precision"] == "32-true" and vgg["data"]["image_size"] == 224 and vgg["trainer"]["max_epochs"] == 110
    conv = _job_config(f"experiment={experiment}", "model=conv_ae", "data.split=paper", tmp_path=tmp_path)
    assert conv["data"]["paired_transforms"] == [] and conv["data"]["image_size"] == 256 and conv["trainer"]["max_epochs"] == 100
    # the 16 jobs of paper_gpu run at once and share the cores; paper's run one at a time with torch's default
    assert conv["cpu_threads"] == (cpu_threads_per_job(16) if experiment == "paper_gpu" else None)


@pytest.mark.parametrize(("cores", "jobs_at_once", "threads"), [(16, 16, 1), (16, 4, 4), (16, 3, 5), (16, 32, 1), (16, -1, 1), (16, -13, 4), (2, 16, 1)])
def test_each_job_gets_the_cores_divided_by_the_jobs_that_run_at_once(monkeypatch: pytest.MonkeyPatch, cores: int, jobs_at_once: int, threads: int) -> None:
    """-1 and other negative counts mean what they mean to joblib's n_jobs: -1 one job per core, -13 of 16 cores 4 jobs."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert cpu_threads_per_job(jobs_at_once) == threads


def test_a_run_trains_with_the_cpu_threads_it_is_given_and_records_them(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    wanted = 1 if before > 1 else 2  # not torch's current count, so that the setting shows
    seen = []

    class Threads(L.Callback):
        def on_train_batch_start(self, *args: object) -> None:
            seen.append(torch.get_num_threads())

    try:
        summary = train(compose_train(tmp_path / "run", *SMALL, "model=conv_ae", f"cpu_threads={wanted}", "debug=fdr"), extra_callbacks=[Threads()])
    finally:
        torch.set_num_threads(before)
    assert seen == [wanted] and summary["cpu_threads"] == wanted


# -- who wins: the study's per-model settings against what a user chooses -----------------------------------------------
CONF_DIR = PROJECT_ROOT / "conf"
MODELS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONF_DIR / "trainer").glob("*.yaml"))
DATA = sorted(p.stem for p in (CONF_DIR / "data").glob("*.yaml"))


def _flat(node: object, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        return {k: v for key, child in node.items() for k, v in _flat(child, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): node}


def test_the_study_gives_each_model_its_settings_where_the_user_chose_none(tmp_path: Path) -> None:
    """model=vgg_ae direction=sk2f trains at the study's 224 px for 110 epochs; pix2pix at batch 1 for 6."""
    vgg = _job_config("model=vgg_ae", "direction=sk2f", tmp_path=tmp_path)
    assert (vgg["data"]["image_size"], vgg["data"]["batch_size"], vgg["trainer"]["max_epochs"]) == (224, 32, 110)
    pix2pix = _job_config("model=pix2pix", tmp_path=tmp_path)
    assert (pix2pix["data"]["image_size"], pix2pix["data"]["batch_size"], pix2pix["trainer"]["max_epochs"]) == (256, 1, 6)
    assert pix2pix["for_model"]["pix2pix"] == {"batch_size": 1, "max_epochs": 6}, "--cfg job shows where the values came from"
    conv = _job_config("model=conv_ae", tmp_path=tmp_path)
    assert (conv["data"]["image_size"], conv["data"]["batch_size"], conv["trainer"]["max_epochs"]) == (256, 32, 100)


def test_a_trainer_or_data_choice_and_the_command_line_always_win_over_the_model(tmp_path: Path) -> None:
    """Every model with every trainer and data option: each value the chosen option sets itself (where it differs from
    the default option's) reaches the job unchanged, and so does every value given on the command line."""
    plain = {"trainer": _flat(_job_config("model=conv_ae", tmp_path=tmp_path)["trainer"])}
    chosen = {f"trainer={t}": _flat(_job_config("model=conv_ae", f"trainer={t}", tmp_path=tmp_path)["trainer"]) for t in TRAINERS}
    chosen |= {f"data={d}": _flat(_job_config("model=conv_ae", f"data={d}", tmp_path=tmp_path)["data"]) for d in DATA}
    plain["data"] = _flat(_job_config("model=conv_ae", tmp_path=tmp_path)["data"])
    lost = []
    for model in MODELS:
        for choice, values in chosen.items():
            group = choice.split("=")[0]
            own = {key: value for key, value in values.items() if plain[group].get(key) != value}
            job = _flat(_job_config(f"model={model}", choice, tmp_path=tmp_path)[group])
            lost += [f"model={model} {choice}: {group}.{key}={job.get(key)}, not {value}" for key, value in own.items() if job.get(key) != value]
        cli = ("trainer.max_epochs=3", "trainer.precision=bf16-mixed", "data.batch_size=5", "data.image_size=128")
        job = _job_config(f"model={model}", *cli, tmp_path=tmp_path)
        got = (job["trainer"]["max_epochs"], job["trainer"]["precision"], job["data"]["batch_size"], job["data"]["image_size"])
        if got != (3, "bf16-mixed", 5, 128):
            lost.append(f"model={model} with {' '.join(cli)}: {got}")
    assert not lost, lost


def test_a_setting_for_one_model_reaches_it_in_a_sweep_over_every_model_and_leaves_the_others_alone(tmp_path: Path) -> None:
    """for_model.vgg_ae.* sets vgg_ae's own keys and for_model.conv_ae.* its run settings; every other model composes
    exactly as without them; model.* wins."""
    one_model = (
        "++for_model.vgg_ae.weights=none",
        "++for_model.vgg_ae.finetune_epochs=3",
        "++for_model.conv_ae.batch_size=7",
        "++for_model.conv_ae.max_epochs=4",
    )
    for model in MODELS:
        job = _job_config(f"model={model}", *one_model, tmp_path=tmp_path)
        plain = _job_config(f"model={model}", tmp_path=tmp_path)
        if model == "vgg_ae":
            assert (job["model"]["weights"], job["model"]["finetune_epochs"]) == ("none", 3)
        else:
            assert job["model"] == plain["model"], model
        if model == "conv_ae":
            assert (job["data"]["batch_size"], job["trainer"]["max_epochs"]) == (7, 4)
        else:
            assert (job["data"], job["trainer"]) == (plain["data"], plain["trainer"]), model
    plain = _job_config("model=vgg_ae", tmp_path=tmp_path)["model"]
    assert (plain["weights"], plain["finetune_epochs"]) == ("imagenet", 10), "the study's values where nothing sets them"
    chosen = _job_config("experiment=paper", "model=vgg_ae", "model.weights=none", "model.finetune_epochs=2", tmp_path=tmp_path)["model"]
    assert (chosen["weights"], chosen["finetune_epochs"]) == ("none", 2), "the command line wins over a preset's for_model"


def test_each_model_reads_from_for_model_exactly_the_keys_the_settings_check_knows(tmp_path: Path) -> None:
    """validation.FOR_MODEL_KEYS and EVERY_MODEL_KEYS against the composed configs (inherited files included): a key a
    config reads but the check refuses, or one the check allows that no config reads (it would do nothing), fails here."""
    probes = [f"++for_model.{name}.{key}=probe" for name, keys in FOR_MODEL_KEYS.items() for key in keys]
    for model in MODELS:
        composed = compose_train(tmp_path / "run", f"model={model}")
        unresolved = OmegaConf.to_container(composed.model, resolve=False)
        reads = {(m.group(1), m.group(2), key) for key, value in unresolved.items() for m in re.finditer(r"for_model\.(\w+)\.(\w+)", str(value))}
        assert reads == {(model, key, key) for key in FOR_MODEL_KEYS.get(model, ())}, model
        job = _job_config(f"model={model}", *probes, tmp_path=tmp_path)["model"]
        assert {key for key, value in job.items() if value == "probe"} == set(FOR_MODEL_KEYS.get(model, ())), model
        run_settings = _flat({group: OmegaConf.to_container(composed[group], resolve=False) for group in ("data", "trainer")})
        chosen = {(key, m.group(1)) for key, value in run_settings.items() for m in re.finditer(r"for_model\.\$\{model_name\}\.(\w+)", str(value))}
        assert chosen == {(where, key) for key, where in EVERY_MODEL_KEYS.items()}, model


def test_model_pix2pix_with_the_gpu_preset_trains_in_the_presets_precision(tmp_path: Path) -> None:
    assert _job_config("model=pix2pix", "trainer=gpu", tmp_path=tmp_path)["trainer"]["precision"] == "bf16-mixed"


def test_the_paper_recipe_of_pix2pix_keeps_its_own_behaviour(tmp_path: Path) -> None:
    paper = _job_config("experiment=paper", "model=pix2pix_paper", tmp_path=tmp_path)
    assert paper["model"]["generator_trains_discriminator_batchnorm"] is False


def test_paper_gpu_standard_jobs_augment_on_the_fly_and_paper_jobs_do_not(tmp_path: Path) -> None:
    standard = _job_config("experiment=paper_gpu", "data.split=standard", tmp_path=tmp_path)
    assert [t["_target_"] for t in standard["data"]["paired_transforms"]] == ["albumentations.D4"]
    assert _job_config("experiment=paper_gpu", "data.split=paper", tmp_path=tmp_path)["data"]["paired_transforms"] == []


# -- pix2pix: the tutorial's composite model trains the discriminator's BatchNorm -----------------------------------------------
def _batchnorm_parameters(model: Pix2Pix) -> list[torch.Tensor]:
    return [p.detach().clone() for m in model.discriminator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters()]


class BeforeGeneratorStep(L.Callback):
    """The discriminator's weights just before the generator's optimiser steps (the batch's last step)."""

    def __init__(self) -> None:
        self.batchnorm: list[torch.Tensor] = []
        self.convolutions: list[torch.Tensor] = []

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer) -> None:
        if optimizer is trainer.optimizers[0]:  # configure_optimizers returns the generator's first
            self.batchnorm = _batchnorm_parameters(pl_module)
            self.convolutions = [m.weight.detach().clone() for m in pl_module.discriminator.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize("trains_batchnorm", [True, False])
def test_the_generator_update_moves_the_discriminators_batchnorm_only_in_the_tutorials_recipe(tmp_path: Path, trains_batchnorm: bool) -> None:
    overrides = (
        *SMALL,
        "model=pix2pix",
        f"model.generator_trains_discriminator_batchnorm={trains_batchnorm}",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=0",
        "test=false",
    )
    before_generator = BeforeGeneratorStep()
    model, _, _ = build_run(compose_train(tmp_path / "fresh", *overrides))
    generator_optimizer, discriminator_optimizer = model.configure_optimizers()
    in_generator_optimizer = {id(p) for group in generator_optimizer.param_groups for p in group["params"]}
    batchnorm = [p for m in model.discriminator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters()]
    assert batchnorm and all((id(p) in in_generator_optimizer) == trains_batchnorm for p in batchnorm)
    assert not any(id(p) in in_generator_optimizer for m in model.discriminator.modules() if isinstance(m, nn.Conv2d) for p in m.parameters())

    trained: dict[str, Pix2Pix] = {}

    class Keep(L.Callback):
        def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            trained["model"] = pl_module

    train(compose_train(tmp_path / "run", *overrides), extra_callbacks=[before_generator, Keep()])
    after = trained["model"]
    moved = [not torch.equal(b, a) for b, a in zip(before_generator.batchnorm, _batchnorm_parameters(after), strict=False)]
    assert len(moved) == len(batchnorm) and all(moved) == trains_batchnorm and any(moved) == trains_batchnorm
    convolutions = [m.weight for m in after.discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert all(torch.equal(b, a) for b, a in zip(before_generator.convolutions, convolutions, strict=False)), "the generator step leaves D's convolutions"


# -- checkpoints that short epochs do not pay for ---------------------------------------------------------------------------
class LastCheckpointAtEpochEnds(L.Callback):
    """Whether last.ckpt existed at each epoch's start, and which epoch it held."""

    def __init__(self, path: Path) -> None:
        self.path, self.seen = path, []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.strategy.checkpoint_io.wait()
        self.seen.append(torch.load(self.path, weights_only=True)["epoch"] if self.path.is_file() else None)


@pytest.mark.parametrize(("every_minutes", "expected"), [(10, [None, None, None]), (0, [None, 0, 1])])
def test_last_checkpoint_waits_for_its_interval_and_is_always_saved_at_the_end(tmp_path: Path, every_minutes: int, expected: list) -> None:
    spy = LastCheckpointAtEpochEnds(tmp_path / "run" / "checkpoints" / "last.ckpt")
    summary = train(
        compose_train(tmp_path / "run", *SMALL, f"callbacks.last_checkpoint.every_minutes={every_minutes}", "trainer.max_epochs=3"), extra_callbacks=[spy]
    )
    assert spy.seen == expected
    final = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert final["epoch"] == 2 and final["global_step"] == summary["global_step"] and final["optimizer_states"]
    assert math.isfinite(summary["fit_seconds"]) and math.isfinite(summary["checkpoint_wait_seconds"])


def test_a_background_checkpoint_is_the_state_when_it_was_saved(tmp_path: Path) -> None:
    checkpoint_io = BackgroundCheckpointIO(TorchCheckpointIO())
    weights = torch.zeros(1000)
    path = tmp_path / "snapshot.ckpt"
    checkpoint_io.save_checkpoint({"weights": weights}, path)
    weights.add_(1.0)  # training goes on while the file is written
    checkpoint_io.teardown()  # the end of fit does not wait
    assert checkpoint_io.load_checkpoint(path)["weights"].sum() == 0  # loading waits, and sees the saved state
    checkpoint_io.wait()


# -- the report's spread across seeds ------------------------------------------------------------------------------------------
def _summary(model: str, seed: int, ssim: float, mse: float) -> dict:
    metrics = {"ssim": {"mean": ssim}, "ssim_study": {"mean": ssim + 0.1}, "mse": {"mean": mse}, "fsim": {"mean": None}, "scoot": {"mean": None}}
    return {"protocol": "standard", "direction": "f2sk", "model": model, "seed": seed, "metrics": metrics}


def test_the_seed_spread_table_gives_mean_and_sample_std_across_seeds() -> None:
    summaries = [
        _summary("conv_ae", 42, 0.50, 0.030),
        _summary("conv_ae", 43, 0.54, 0.020),
        _summary("conv_ae", 44, 0.52, 0.040),
        _summary("pix2pix", 42, 0.6, 0.01),
    ]
    table = seed_spread_table(summaries)
    rows = [line for line in table.splitlines() if line.startswith("| standard")]
    assert len(rows) == 1, "a cell run with one seed has no spread"
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[:4] == ["standard", "f2sk", "conv_ae", "42, 43, 44"]
    assert cells[4:8] == ["0.520 ± 0.020", "0.620 ± 0.020", "0.030 ± 0.010", "–"]  # SSIM, SSIM as the study computed it, MSE, FSIM
    assert seed_spread_table(summaries[-1:]) is None


def test_the_estimate_expands_the_sweep_as_the_basic_sweeper_does() -> None:
    from omegaconf import OmegaConf

    config = OmegaConf.create(
        {
            "hydra": {
                "sweeper": {"params": {"data.split": "paper,standard", "model": "sparse_ae,conv_ae", "direction": "f2sk,sk2f"}},
                "overrides": {"task": ["experiment=paper_gpu", "direction=sk2f", "seed=1,2"]},
            }
        }
    )
    jobs = sweep_jobs(config)
    assert len(jobs) == 2 * 2 * 1 * 2  # the command line's direction=sk2f replaces the swept one; its seeds sweep
    assert all("direction=sk2f" in job and "experiment=paper_gpu" in job for job in jobs)
    assert {tuple(sorted(o for o in job if o.startswith(("model=", "seed=")))) for job in jobs} == {
        (f"model={m}", f"seed={s}") for m in ("conv_ae", "sparse_ae") for s in (1, 2)
    }


MODEL_CHOICES = sorted(p.stem for p in (PROJECT_ROOT / "conf" / "model").glob("*.yaml"))
EXPERIMENT_CHOICES = sorted(p.stem for p in (PROJECT_ROOT / "conf" / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENT_CHOICES)
def test_every_experiment_resolves_with_every_model_on_both_protocols(experiment: str, tmp_path: Path) -> None:
    """An experiment combined with any model choice composes and resolves (no interpolation names a model it lacks)."""
    for model in MODEL_CHOICES:
        for split in ("standard", "paper"):
            job = _job_config(f"experiment={experiment}", f"model={model}", f"data.split={split}", tmp_path=tmp_path)
            assert job["model_name"] == model and int(job["trainer"]["max_epochs"]) >= 1, (experiment, model, split)
