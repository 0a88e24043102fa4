"""A user's short run timed whole: ``face2sketch.train`` for a few batches, against the bare loop on the same batches,
and against another checkout's training command where one is given."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from face2sketch.core.run_folder import RunFolder
from face2sketch.perf.measure import Settings, bare_segment, collect_batches, training_device
from face2sketch.train import build_model_and_data


# -- a user's short run -------------------------------------------------------------------------------------
def _timed_train_command(command: list[str], run_dir: Path, batches: int, checkout: Path | None) -> tuple[float, float]:
    """(fit seconds from metrics.json, whole command seconds) of one ``face2sketch.train`` run of ``batches`` batches."""
    started = time.perf_counter()
    done = subprocess.run(
        [*command, f"trainer.limit_train_batches={batches}", "trainer.max_epochs=1", "test=false", f"hydra.run.dir={run_dir}"],
        capture_output=True,
        text=True,
        cwd=checkout,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"the timed training run failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return RunFolder(run_dir).metrics()["fit_seconds"], seconds


def train_run(command: list[str], cfg: DictConfig, batches: int, rounds: int, folder: Path, compare_checkout: Path | None = None) -> dict[str, Any]:
    """``face2sketch.train`` for ``batches`` batches (one epoch; validation and checkpoint saves included) against
    ``batches`` steps of the bare loop on a freshly built model, alternating ``rounds`` times.

    ``ratio`` is bare seconds / fit seconds (``metrics.json``'s ``fit_seconds``); the whole command's wall time,
    imports and data decoding included, is reported beside it. ``compare_checkout``: another checkout of
    face2sketch (an older version) whose training command runs in each round too, for ``compare_ratio``.
    """
    fits, commands, bares, compare_fits, compare_commands = [], [], [], [], []
    for round_ in range(rounds):
        fit, whole = _timed_train_command(command, folder / f"train_run_{round_}", batches, None)
        fits.append(fit)
        commands.append(whole)
        if compare_checkout is not None:
            fit, whole = _timed_train_command(command, folder / f"train_run_compare_{round_}", batches, compare_checkout)
            compare_fits.append(fit)
            compare_commands.append(whole)
        model, datamodule = build_model_and_data(cfg)
        device = training_device(cfg)
        model.to(device).apply_memory_format()
        seconds, _ = bare_segment(model, collect_batches(datamodule, device, batches), str(cfg.trainer.precision), Settings(warmup=0, steps=batches))
        bares.append(seconds)
    result: dict[str, Any] = {
        "model": str(cfg.model_name),
        "image_size": int(cfg.data.image_size),
        "batch_size": int(cfg.data.batch_size),
        "batches": batches,
        "fit_seconds": statistics.mean(fits),
        "command_seconds": statistics.mean(commands),
        "bare_seconds": statistics.mean(bares),
        "ratio": sum(bares) / sum(fits),
        "ratio_per_round": [b / f for b, f in zip(bares, fits, strict=False)],
        "compare_checkout": str(compare_checkout) if compare_checkout else None,
    }
    if compare_checkout is not None:
        result.update(
            compare_fit_seconds=statistics.mean(compare_fits),
            compare_command_seconds=statistics.mean(compare_commands),
            compare_ratio=sum(bares) / sum(compare_fits),
            compare_ratio_per_round=[b / f for b, f in zip(bares, compare_fits, strict=False)],
        )
    return result
