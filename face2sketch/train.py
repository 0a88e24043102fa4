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
from dataclasses import dataclass, field
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

from face2sketch.core.config import CONFIG_DIR, instantiate_all, model_label
from face2sketch.core.errors import ConfigError, TrainingDiverged, TrainingInterrupted, one_line_user_errors
from face2sketch.core.io import write_json_atomic, write_text_atomic
from face2sketch.core.run_folder import RunFolder, best_weights_label
from face2sketch.data.datamodule import PairedDataModule
from face2sketch.models.base import ImageTranslationModule
from face2sketch.models.checkpoint_format import load_checkpoint_state
from face2sketch.training.callbacks.checkpoints import BackgroundCheckpointIO
from face2sketch.training.callbacks.guards import CheckpointOnSignal, StopOnNonFiniteLoss
from face2sketch.training.callbacks.resume import ExactResume
from face2sketch.training.validation import check_writable, validate_settings

log = logging.getLogger(__name__)


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
    last = RunFolder(output_dir).last_checkpoint
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


def build_model_and_data(cfg: DictConfig) -> tuple[ImageTranslationModule, PairedDataModule]:
    """Seeded, the model (compiled if ``compile``) and its data module in the model's value range, data decoded.

    ``face2sketch.train`` and the benchmark both build a run's parts here.
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model: ImageTranslationModule = instantiate(cfg.model, _convert_="all")
    if cfg.get("compile"):
        model.compile_networks(str(cfg.get("compile_mode") or "default"))
    datamodule: PairedDataModule = instantiate(cfg.data, value_range=model.value_range)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return model, datamodule


def run_callbacks(last_checkpoint: Path | None) -> list[L.Callback]:
    """The callbacks every run gets whatever its config: exact resume, a stop on NaN/Inf losses and, where a run has a
    last checkpoint, the clean stop on SIGTERM/SIGINT that writes it."""
    callbacks: list[L.Callback] = [ExactResume(), StopOnNonFiniteLoss()]
    return callbacks + ([CheckpointOnSignal(last_checkpoint)] if last_checkpoint is not None else [])


def build_run(cfg: DictConfig, resume_from: str | None = None) -> tuple[ImageTranslationModule, L.LightningDataModule, L.Trainer]:
    """Seed, then instantiate the model, the data module (in the model's value range, data decoded) and the trainer.

    Data and checkpoint problems are raised here, before the trainer creates any log folder. ``resume_from`` is a
    checkpoint file (``resolve_resume_checkpoint`` turns ``ckpt_path=last`` into one) that must fit the model.
    """
    model, datamodule = build_model_and_data(cfg)
    log.info("seed %d", cfg.seed)
    if resume_from:
        load_checkpoint_state(
            resume_from, model, f"resume with <run>/{RunFolder.CHECKPOINTS}/{RunFolder.LAST} of a run with the same model, direction and sizes"
        )
    output_dir = Path(cfg.paths.output_dir)
    callbacks = instantiate_all(cfg.get("callbacks")) + run_callbacks(RunFolder(output_dir).last_checkpoint)
    if not datamodule.has_validation:
        log.info("data.val_fraction=0: no validation, so no best checkpoint; the final weights are tested")
        callbacks = [c for c in callbacks if not (isinstance(c, ModelCheckpoint) and str(c.monitor or "").startswith("val/"))]
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=instantiate_all(cfg.get("logger")) or False, plugins=[BackgroundCheckpointIO()])
    return model, datamodule, trainer


def best_checkpoint_callback(trainer: L.Trainer) -> ModelCheckpoint | None:
    """The callback that keeps the best-by-validation checkpoint, if the run has one."""
    return next((c for c in trainer.callbacks if isinstance(c, ModelCheckpoint) and c.monitor), None)


def best_checkpoint_path(trainer: L.Trainer) -> str | None:
    """The best-by-validation checkpoint this run saved, if it saved one."""
    callback = best_checkpoint_callback(trainer)
    return (callback.best_model_path if callback else "") or None


def tested_weights(trainer: L.Trainer, tested: bool) -> str | None:
    """What the test scored, in words that metrics.json and reports carry."""
    if not tested:
        return None
    callback, best = best_checkpoint_callback(trainer), best_checkpoint_path(trainer)
    if callback is None or best is None:
        return "final weights (no validation, or no best checkpoint)"
    return f"{best_weights_label(callback.monitor)} ({Path(best).name})"


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


@dataclass
class RunRecord:
    """Writes a run's metrics.json: what ran, how it ended and what the test scored (global rank 0 alone writes)."""

    cfg: DictConfig
    model: ImageTranslationModule
    datamodule: PairedDataModule
    trainer: L.Trainer
    resume_from: str | None
    started: float = field(default_factory=time.perf_counter)

    def write(self, status: str, test_metrics: dict[str, float], **extra: Any) -> dict[str, Any]:
        cfg, model, trainer = self.cfg, self.model, self.trainer
        summary = {
            "status": status,
            "model": model_label(cfg),
            "model_class": type(model).__name__,
            "direction": cfg.direction.name,
            **self.datamodule.describe(),
            "test_metrics": test_metrics,
            "metrics_resolution": "model",
            "start_epoch": model.start_epoch,
            "epochs": trainer.current_epoch,
            "max_epochs": cfg.trainer.get("max_epochs"),
            "global_step": trainer.global_step,
            "wall_seconds": round(time.perf_counter() - self.started, 2),
            "best_checkpoint": best_checkpoint_path(trainer),
            "tested_weights": tested_weights(trainer, bool(test_metrics)),
            "parameters": count_parameters(model),
            "seed": cfg.seed,
            "resumed_from": self.resume_from,
            "world_size": trainer.world_size,
            "cpu_threads": torch.get_num_threads(),
            **extra,
        }
        if trainer.is_global_zero:
            write_json_atomic(RunFolder(Path(cfg.paths.output_dir)).metrics_file, summary)
        return summary


def write_run_files(cfg: DictConfig, datamodule: PairedDataModule, output_dir: Path) -> None:
    """What a run records before it trains: its resolved config, the files it skipped, and its examples per split."""
    run = RunFolder(output_dir)
    write_text_atomic(run.config_file, OmegaConf.to_yaml(cfg, resolve=True))
    write_json_atomic(run.skipped_file, _skipped_record(datamodule))
    write_json_atomic(run.examples_file, datamodule.example_names())


def fit_and_test(cfg: DictConfig, record: RunRecord) -> tuple[dict[str, float], float, float]:
    """(test metrics, fit seconds, seconds waited for the last checkpoint's write after the test)."""
    model, datamodule, trainer = record.model, record.datamodule, record.trainer
    trainer.fit(model, datamodule=datamodule, ckpt_path=record.resume_from)
    fit_seconds = time.perf_counter() - record.started
    test_metrics: dict[str, float] = {}
    if cfg.test:
        # without a best checkpoint the final weights, still in memory, are tested while last.ckpt is written
        results = trainer.test(model, datamodule=datamodule, ckpt_path=best_checkpoint_path(trainer))
        test_metrics = {k.removeprefix("test/"): float(v) for k, v in results[0].items()}
    return test_metrics, fit_seconds, wait_for_checkpoints(trainer)


def interrupted(record: RunRecord, output_dir: Path) -> TrainingInterrupted:
    """Record a stop on SIGTERM/SIGINT; the error that tells the user where it stopped and how to resume."""
    trainer = record.trainer
    wait_for_checkpoints(trainer)
    stopper = next(c for c in trainer.callbacks if isinstance(c, CheckpointOnSignal))
    signal_received = stopper.received or signal.SIGTERM
    record.write("interrupted", {}, interrupted_by=signal_received.name)
    where = (
        f"stopped at epoch {trainer.current_epoch}, global step {trainer.global_step} and saved {stopper.checkpoint_path}"
        if stopper.saved
        else "stopped while testing, after training had finished"
    )
    return TrainingInterrupted(f"{signal_received.name} received: {where}; resume with: {resume_command(output_dir)}", int(signal_received))


def diverged(record: RunRecord, error: TrainingDiverged, output_dir: Path) -> TrainingDiverged:
    """Record a stop on a NaN/Inf loss; the error that says which checkpoints are still good."""
    wait_for_checkpoints(record.trainer)
    record.write("diverged", {}, diverged=str(error))
    return TrainingDiverged(
        f"{error}; stopped without saving, so the checkpoints in {RunFolder(output_dir).checkpoints_dir} are the last good ones: "
        "lower the learning rate, or resume from them"
    )


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> dict[str, Any]:
    """Fit, test and record one run; returns what is written to metrics.json.

    A stop on a signal or a diverged loss still writes metrics.json (``status``) and then raises a TrainingStopped.
    """
    validate_settings(cfg)
    if cfg.get("cpu_threads"):
        torch.set_num_threads(int(cfg.cpu_threads))
    output_dir = Path(cfg.paths.output_dir)
    check_writable(output_dir)
    resume_from = resolve_resume_checkpoint(cfg.ckpt_path, output_dir)
    model, datamodule, trainer = build_run(cfg, resume_from)
    refuse_relaunched_sweep(trainer)
    if trainer.is_global_zero:  # under DDP every process runs this function; rank 0 alone writes the run's files
        write_run_files(cfg, datamodule, output_dir)
    trainer.callbacks.extend(extra_callbacks or [])
    record = RunRecord(cfg, model, datamodule, trainer, resume_from)
    try:
        test_metrics, fit_seconds, checkpoint_wait = fit_and_test(cfg, record)
    except SIGTERMException:
        raise interrupted(record, output_dir) from None
    except TrainingDiverged as error:
        raise diverged(record, error, output_dir) from None
    # fit_seconds ends with the last step; the final checkpoint's write overlaps the test, and what is left of it
    # after the test is checkpoint_wait_seconds
    summary = record.write("completed", test_metrics, fit_seconds=round(fit_seconds, 2), checkpoint_wait_seconds=round(checkpoint_wait, 2))
    log.info("test metrics: %s; run folder: %s", test_metrics, output_dir)
    return summary


def _discard_unfinished_run(cfg: DictConfig) -> None:
    """Remove a run folder that a user error stopped before it held anything but what this run wrote at its start."""
    try:
        output_dir = Path(cfg.paths.output_dir)
    except Exception:
        return
    if RunFolder(output_dir).is_unfinished():
        logging.shutdown()
        shutil.rmtree(output_dir, ignore_errors=True)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
@one_line_user_errors(cleanup=lambda cfg: _discard_unfinished_run(cfg))
def main(cfg: DictConfig) -> float | None:
    return train(cfg)["test_metrics"].get("ssim")


if __name__ == "__main__":
    main()
