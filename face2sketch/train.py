"""Train one (model, direction) run, test its best checkpoint, and write metrics.json.

    python -m face2sketch.train model=conv_ae direction=f2sk data.root=/path/to/cuhk
    python -m face2sketch.train -m model=conv_ae,pix2pix direction=f2sk,sk2f
"""

from __future__ import annotations

import logging
import shlex
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from face2sketch.callbacks import BackgroundCheckpointIO, CheckpointOnSignal, ExactResume, StopOnNonFiniteLoss
from face2sketch.config import CONFIG_DIR, instantiate_all
from face2sketch.errors import ConfigError, TrainingDiverged, TrainingInterrupted, exit_on_user_error
from face2sketch.io import write_json_atomic, write_text_atomic
from face2sketch.models.base import ImageTranslationModule, load_checkpoint_state
from face2sketch.validation import check_writable, validate_settings

log = logging.getLogger(__name__)

# where conf/callbacks/default.yaml's last_checkpoint writes after every epoch; also where a signal's checkpoint goes
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
# what a run writes before its first checkpoint: a folder holding nothing else can be removed after a user error
UNFINISHED_RUN_CONTENTS = frozenset({".hydra", "train.log", "config.yaml", "skipped.json", "tensorboard", "csv"})


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


def resolve_resume_checkpoint(ckpt_path: str | None, output_dir: Path) -> str | None:
    """``ckpt_path=last`` means this run folder's own last checkpoint, or a fresh start when it has none yet.

    A cluster job restarted with the same command (``hydra.run.dir=<run> ckpt_path=last``) thus resumes where it
    stopped, and its first start trains from scratch.
    """
    if ckpt_path != "last":
        return ckpt_path
    last = output_dir / LAST_CHECKPOINT
    if last.is_file():
        log.info("resuming from %s", last)
        return str(last)
    log.warning("ckpt_path=last: no %s yet, so training starts from scratch (to resume a run, pass hydra.run.dir=<its folder>)", last)
    return None


def resume_command(output_dir: Path) -> str:
    """The command that continues this run in its own folder from its last checkpoint."""
    try:
        overrides = list(HydraConfig.get().overrides.task)
    except ValueError:  # not started by Hydra's command line
        overrides = []
    kept = [o for o in overrides if not o.lstrip("+~").startswith(("ckpt_path=", "hydra.run.dir="))]
    return shlex.join(["python", "-m", "face2sketch.train", *kept, f"hydra.run.dir={output_dir}", "ckpt_path=last"])


def build_run(cfg: DictConfig, resume_from: str | None = None) -> tuple[ImageTranslationModule, L.LightningDataModule, L.Trainer]:
    """Seed, then instantiate the model, the data module (in the model's value range, data decoded) and the trainer.

    Data and checkpoint problems are raised here, before the trainer creates any log folder. ``resume_from`` is a
    checkpoint file (``resolve_resume_checkpoint`` turns ``ckpt_path=last`` into one) that must fit the model.
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    log.info("seed %d", cfg.seed)
    model: ImageTranslationModule = instantiate(cfg.model, _convert_="all")
    if cfg.get("compile"):
        model.compile_networks()
    datamodule = instantiate(cfg.data, value_range=model.value_range)
    datamodule.prepare_data()
    datamodule.setup("fit")
    if resume_from:
        load_checkpoint_state(resume_from, model, "resume with <run>/checkpoints/last.ckpt of a run with the same model, direction and sizes")
    output_dir = Path(cfg.paths.output_dir)
    run_callbacks = [ExactResume(), StopOnNonFiniteLoss(), CheckpointOnSignal(output_dir / LAST_CHECKPOINT)]
    callbacks = instantiate_all(cfg.get("callbacks")) + run_callbacks
    if not datamodule.has_validation:
        log.info("data.val_fraction=0: no validation, so no best checkpoint; the final weights are tested")
        callbacks = [c for c in callbacks if not (isinstance(c, ModelCheckpoint) and str(c.monitor or "").startswith("val/"))]
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=instantiate_all(cfg.get("logger")) or False, plugins=[BackgroundCheckpointIO()]
    )
    return model, datamodule, trainer


def best_checkpoint_path(trainer: L.Trainer) -> str | None:
    """The best-by-validation checkpoint this run saved, if it saved one."""
    best = next((c.best_model_path for c in trainer.callbacks if isinstance(c, ModelCheckpoint) and c.monitor), "")
    return best or None


def tested_weights(best: str | None, tested: bool) -> str | None:
    """What the test scored, in words that metrics.json and reports carry."""
    if not tested:
        return None
    return f"best by validation SSIM ({Path(best).name})" if best else "final weights (no validation, or no best checkpoint)"


def wait_for_checkpoints(trainer: L.Trainer) -> float:
    """Finish the checkpoint writes still running in the background; the seconds waited."""
    checkpoint_io = trainer.strategy.checkpoint_io
    return checkpoint_io.wait() if isinstance(checkpoint_io, BackgroundCheckpointIO) else 0.0


def refuse_relaunched_sweep(trainer: L.Trainer) -> None:
    """Refuse a local sweep (``-m``) whose runs would start DDP processes themselves.

    Lightning starts the other DDP processes by running this command line again, ``-m`` included, so each of them
    would run the whole sweep. On SLURM (``hydra/launcher=slurm``) the processes are SLURM's tasks, which is fine.
    """
    try:
        multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:  # not started by Hydra's command line
        return
    if multirun and isinstance(trainer.strategy.launcher, _SubprocessScriptLauncher) and trainer.num_devices > 1:
        raise ConfigError(
            f"trainer.strategy=ddp with trainer.devices={trainer.num_devices} cannot run in a local sweep (-m): "
            "Lightning would start each process with the whole sweep; run the sweep's runs one at a time, or on SLURM with hydra/launcher=slurm"
        )


def _skipped_record(datamodule: L.LightningDataModule) -> list[dict[str, str]]:
    return [{"file": str(f.path), "problem": f.problem, "detail": f.detail} for f in getattr(datamodule, "skipped", [])]


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> dict[str, Any]:
    """Fit, test and record one run; returns what is written to metrics.json.

    A stop on a signal or a diverged loss still writes metrics.json (``status``) and then raises a TrainingStopped.
    """
    validate_settings(cfg)
    output_dir = Path(cfg.paths.output_dir)
    check_writable(output_dir)
    resume_from = resolve_resume_checkpoint(cfg.ckpt_path, output_dir)
    model, datamodule, trainer = build_run(cfg, resume_from)
    refuse_relaunched_sweep(trainer)
    # under DDP every process runs this function; the run's own files are written by global rank 0 alone
    if trainer.is_global_zero:
        write_text_atomic(output_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
        write_json_atomic(output_dir / "skipped.json", _skipped_record(datamodule))
    trainer.callbacks.extend(extra_callbacks or [])
    started = time.perf_counter()

    def record(status: str, test_metrics: dict[str, float], **extra: Any) -> dict[str, Any]:
        best = best_checkpoint_path(trainer)
        summary = {
            "status": status,
            "model": cfg.get("model_name") or type(model).__name__,
            "model_class": type(model).__name__,
            "direction": cfg.direction.name,
            **datamodule.describe(),
            "test_metrics": test_metrics,
            "metrics_resolution": "model",
            "start_epoch": model.start_epoch,
            "epochs": trainer.current_epoch,
            "max_epochs": cfg.trainer.get("max_epochs"),
            "global_step": trainer.global_step,
            "wall_seconds": round(time.perf_counter() - started, 2),
            "best_checkpoint": best,
            "tested_weights": tested_weights(best, bool(test_metrics)),
            "parameters": count_parameters(model),
            "seed": cfg.seed,
            "resumed_from": resume_from,
            "world_size": trainer.world_size,
            **extra,
        }
        if trainer.is_global_zero:
            write_json_atomic(output_dir / "metrics.json", summary)
        return summary

    stopper = next(c for c in trainer.callbacks if isinstance(c, CheckpointOnSignal))
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from)
        fit_seconds = time.perf_counter() - started
        test_metrics: dict[str, float] = {}
        if cfg.test:
            # without a best checkpoint the final weights, still in memory, are tested while last.ckpt is written
            results = trainer.test(model, datamodule=datamodule, ckpt_path=best_checkpoint_path(trainer))
            test_metrics = {k.removeprefix("test/"): float(v) for k, v in results[0].items()}
        checkpoint_wait = wait_for_checkpoints(trainer)
    except SIGTERMException:
        wait_for_checkpoints(trainer)
        signal_received = stopper.received or signal.SIGTERM
        record("interrupted", {}, interrupted_by=signal_received.name)
        where = (
            f"stopped at epoch {trainer.current_epoch}, global step {trainer.global_step} and saved {stopper.checkpoint_path}"
            if stopper.saved else "stopped while testing, after training had finished"
        )
        raise TrainingInterrupted(f"{signal_received.name} received: {where}; resume with: {resume_command(output_dir)}", int(signal_received)) from None
    except TrainingDiverged as diverged:
        wait_for_checkpoints(trainer)
        record("diverged", {}, diverged=str(diverged))
        raise TrainingDiverged(
            f"{diverged}; stopped without saving, so the checkpoints in {output_dir / 'checkpoints'} are the last good ones: "
            "lower the learning rate, or resume from them"
        ) from None
    # fit_seconds ends with the last step; the final checkpoint's write overlaps the test, and what is left of it
    # after the test is checkpoint_wait_seconds
    summary = record("completed", test_metrics, fit_seconds=round(fit_seconds, 2), checkpoint_wait_seconds=round(checkpoint_wait, 2))
    log.info("test metrics: %s; run folder: %s", test_metrics, output_dir)
    return summary


def _discard_unfinished_run(cfg: DictConfig) -> None:
    """Remove a run folder that a user error stopped before it held anything but what this run wrote at its start."""
    try:
        output_dir = Path(cfg.paths.output_dir)
    except Exception:
        return
    if output_dir.is_dir() and {p.name for p in output_dir.iterdir()} <= UNFINISHED_RUN_CONTENTS:
        logging.shutdown()
        shutil.rmtree(output_dir, ignore_errors=True)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        summary = train(cfg)
    except Exception as err:
        exit_on_user_error(err, cleanup=lambda: _discard_unfinished_run(cfg))
        raise
    return summary["test_metrics"].get("ssim")


if __name__ == "__main__":
    main()
