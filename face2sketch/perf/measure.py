"""What the benchmark measures for one model: training through face2sketch's Lightning path against a bare loop,
the data pipeline alone, inference (eager and ONNX Runtime) and peak memory.

Paired measurements alternate A/B/A/B within one process so that drifting machine load falls on both sides.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Checkpoint
from omegaconf import DictConfig

from face2sketch.core.config import instantiate_all
from face2sketch.data.datamodule import PairedDataModule
from face2sketch.data.sampling import EpochShuffleSampler
from face2sketch.inference.checkpoints import inference_network, spec_of_run
from face2sketch.inference.files import OnnxTranslator, write_onnx
from face2sketch.inference.spec import random_batch
from face2sketch.models.base import ImageTranslationModule
from face2sketch.perf.bare import autocast_for, bare_training_step
from face2sketch.perf.timing import alternating_ms, synchronize
from face2sketch.train import build_model_and_data, run_callbacks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """How long and how often each measurement runs (benchmark.yaml)."""

    warmup: int = 3
    steps: int = 20
    rounds: int = 2
    data_batches: int = 50
    latency_repeats: int = 30
    inference_batch: int = 32
    onnx: bool = True


# -- clocks and memory -------------------------------------------------------------------------------------
class PeakMemory:
    """Peak memory over a block: GPU memory allocated by PyTorch on CUDA, else the process's peak resident set.

    On Linux the resident peak (VmHWM) is reset at the start of each block, so blocks are measured separately.
    """

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak_mb = device, 0.0

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            with contextlib.suppress(OSError):  # elsewhere the peak is the whole process's so far
                Path("/proc/self/clear_refs").write_text("5")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            self.peak_mb = resident_peak_mb()


def resident_peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- training: face2sketch's Lightning path ----------------------------------------------------------------
class StepWindowTimer(L.Callback):
    """Times the training batches after ``warmup``: from the end of batch ``warmup`` to the end of batch
    ``warmup + steps``, so everything the loop does in between (fetching and finishing batches, hooks, logging,
    epoch ends) is counted and the trainer's start-up is not. The device is synchronised at those two points only,
    as in the bare loop, so queued GPU work overlaps the host's in both."""

    def __init__(self, warmup: int, steps: int) -> None:
        # it also ends the fit after the last timed batch: Lightning's max_steps counts optimiser steps (pix2pix: 2-3 a batch)
        self.warmup, self.steps = warmup, steps
        self.batches = self.images = 0
        self.started = self.ended = 0.0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.batches += 1
        if self.batches > self.warmup:
            self.images += len(batch["source"])
        if self.batches in (self.warmup, self.warmup + self.steps):
            synchronize(pl_module.device)
            self.ended = time.perf_counter()
            if self.batches == self.warmup:
                self.started = self.ended
            else:
                trainer.should_stop = True

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def framework_segment(cfg: DictConfig, model: ImageTranslationModule, datamodule: PairedDataModule, settings: Settings) -> tuple[float, int]:
    """(seconds, images) of ``settings.steps`` timed batches through a face2sketch trainer, as ``face2sketch.train``
    builds it (logger, per-step logging, the configured callbacks and the run's own), without validation and checkpoints."""
    timer = StepWindowTimer(settings.warmup, settings.steps)
    configured = [c for c in instantiate_all(cfg.get("callbacks")) if not isinstance(c, Checkpoint)]
    trainer: L.Trainer = instantiate(
        cfg.trainer,
        callbacks=[*configured, *run_callbacks(None), timer],
        logger=instantiate_all(cfg.get("logger")) or False,
        max_epochs=-1,
        max_steps=-1,
        limit_train_batches=1.0,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=datamodule)
    return timer.seconds, timer.images


# -- training: the bare loop -------------------------------------------------------------------------------
def collect_batches(datamodule: PairedDataModule, device: torch.device, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` finished training batches on ``device``, in the order the trainer sees them (epochs cycled)."""
    batches: list[tuple[torch.Tensor, torch.Tensor]] = []
    for batch in training_batches(datamodule, device):
        batches.append((batch["source"], batch["target"]))
        if len(batches) == count:
            return batches
    return batches


def training_batches(datamodule: PairedDataModule, device: torch.device) -> Iterator[dict]:
    """Finished training batches on ``device``, epoch after epoch, as Lightning's loop would hand them to a step."""
    loader = datamodule.train_dataloader()
    epoch = 0
    while True:
        sampler = loader.sampler
        assert isinstance(sampler, EpochShuffleSampler)
        sampler.set_epoch(epoch)
        for batch in loader:
            batch = {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            yield datamodule.on_after_batch_transfer(batch, 0)
        epoch += 1


def bare_segment(model: ImageTranslationModule, batches: list[tuple[torch.Tensor, torch.Tensor]], precision: str, settings: Settings) -> tuple[float, int]:
    """(seconds, images) of ``settings.steps`` timed steps of a plain PyTorch loop over pre-made batches."""
    step = bare_training_step(model, precision)
    device = model.device
    synchronize(device)
    images, started = 0, time.perf_counter()  # restarted after the warmup steps, if any
    for index in range(settings.warmup + settings.steps):
        source, target = model.prepare_batch(dict(zip(("source", "target"), batches[index % len(batches)], strict=False)))
        step(source, target)
        if index == settings.warmup - 1:
            synchronize(device)
            started = time.perf_counter()
        elif index >= settings.warmup:
            images += len(source)
    synchronize(device)
    return time.perf_counter() - started, images


def training_throughput(
    cfg: DictConfig, model: ImageTranslationModule, datamodule: PairedDataModule, device: torch.device, settings: Settings
) -> dict[str, Any]:
    """Images/s through face2sketch's trainer and through the bare loop, alternating A/B ``rounds`` times."""
    precision = str(cfg.trainer.precision)
    batches = collect_batches(datamodule, device, settings.warmup + settings.steps)
    framework, bare = [], []
    with PeakMemory(device) as framework_memory:
        framework.append(framework_segment(cfg, model, datamodule, settings))
    model.to(device).apply_memory_format()
    with PeakMemory(device) as bare_memory:
        bare.append(bare_segment(model, batches, precision, settings))
    for _ in range(settings.rounds - 1):
        framework.append(framework_segment(cfg, model, datamodule, settings))
        model.to(device).apply_memory_format()
        bare.append(bare_segment(model, batches, precision, settings))
    framework_rate = sum(n for _, n in framework) / sum(s for s, _ in framework)
    bare_rate = sum(n for _, n in bare) / sum(s for s, _ in bare)
    # both sides step through the same batches, so their milliseconds per step compare directly
    steps = settings.steps * len(framework)
    framework_ms, bare_ms = 1000 * sum(s for s, _ in framework) / steps, 1000 * sum(s for s, _ in bare) / steps
    return {
        "train_images_per_s": framework_rate,
        "bare_images_per_s": bare_rate,
        "ratio": framework_rate / bare_rate,
        "train_ms_per_step": framework_ms,
        "bare_ms_per_step": bare_ms,
        "overhead_ms_per_step": framework_ms - bare_ms,
        "ratio_per_round": [(nf / sf) / (nb / sb) for (sf, nf), (sb, nb) in zip(framework, bare, strict=False)],
        "peak_train_mb": framework_memory.peak_mb,
        "peak_bare_mb": bare_memory.peak_mb,
    }


# -- the data pipeline alone -------------------------------------------------------------------------------
def data_throughput(datamodule: PairedDataModule, device: torch.device, batches: int) -> float:
    """Training samples/s delivered, augmented and finished on ``device``, with no training step in between."""
    stream = training_batches(datamodule, device)
    next(stream)  # the first batch pays for the loader's start
    synchronize(device)
    started, samples = time.perf_counter(), 0
    for _ in range(batches):
        samples += len(next(stream)["source"])
    synchronize(device)
    return samples / (time.perf_counter() - started)


# -- inference -----------------------------------------------------------------------------------------------
def inference_speed(cfg: DictConfig, model: ImageTranslationModule, device: torch.device, settings: Settings) -> dict[str, Any]:
    """Latency at batch 1 and images/s at ``inference_batch``, eager (in the trainer's precision) and, when
    installed, ONNX Runtime (float32, the exported file as ``face2sketch.export`` writes it)."""
    spec = spec_of_run(cfg, model)
    network = inference_network(model.to(device)).to(device)
    if model.uses_channels_last():
        network = network.to(memory_format=torch.channels_last)
    autocast = autocast_for(device, str(cfg.trainer.precision))
    single, many = random_batch(spec, 1).to(device), random_batch(spec, settings.inference_batch).to(device)

    def eager(inputs: torch.Tensor) -> Callable[[], Any]:
        def run() -> Any:
            with torch.inference_mode(), autocast:
                return network(inputs)

        return run

    latency = {"eager": eager(single)}
    throughput = {"eager": eager(many)}
    onnx_runtime = None
    with tempfile.TemporaryDirectory() as folder:
        if settings.onnx:
            model.cpu().float()
            onnx_runtime = _onnx_translator(inference_network(model), spec, Path(folder) / "model.onnx", device)
            model.to(device)  # keeps each weight's memory format
        if onnx_runtime is not None:
            cpu_single, cpu_many = single.float().cpu().numpy(), many.float().cpu().numpy()
            latency["onnx"] = lambda: onnx_runtime.raw(cpu_single)
            throughput["onnx"] = lambda: onnx_runtime.raw(cpu_many)
        with PeakMemory(device) as memory:
            latency_ms = alternating_ms(latency, settings.latency_repeats, device)
            batch_ms = alternating_ms(throughput, max(3, settings.latency_repeats // 5), device)
    result: dict[str, Any] = {
        "eager_ms": latency_ms["eager"],
        "eager_images_per_s": settings.inference_batch * 1000 / batch_ms["eager"],
        "peak_inference_mb": memory.peak_mb,
        "onnx_ms": None,
        "onnx_images_per_s": None,
    }
    if onnx_runtime is not None:
        result.update(
            onnx_ms=latency_ms["onnx"],
            onnx_images_per_s=settings.inference_batch * 1000 / batch_ms["onnx"],
            onnx_providers=onnx_runtime.session.get_providers(),
        )
    return result


def _onnx_translator(network: torch.nn.Module, spec: Any, path: Path, device: torch.device) -> OnnxTranslator | None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        log.warning("the onnx package, which writes .onnx files, is not installed (pip install -e '.[onnx]'): ONNX latency is left out")
        return None
    write_onnx(network, spec, path, opset=None)
    return OnnxTranslator(path, device.type)


# -- building a model's run -----------------------------------------------------------------------------------
def training_device(cfg: DictConfig) -> torch.device:
    """The device the trainer config trains on: CUDA unless it asks for the CPU or none is present."""
    return torch.device("cuda" if str(cfg.trainer.accelerator) != "cpu" and torch.cuda.is_available() else "cpu")


# -- one model ---------------------------------------------------------------------------------------------
def measure_model(cfg: DictConfig, settings: Settings) -> dict[str, Any]:
    """Every measurement of the model that ``cfg`` (a composed training config) describes."""
    started = time.perf_counter()
    model, datamodule = build_model_and_data(cfg)
    setup_seconds = time.perf_counter() - started
    device = training_device(cfg)
    log.info("%s: training, %d x (%d + %d steps) each way", cfg.model_name, settings.rounds, settings.warmup, settings.steps)
    training = training_throughput(cfg, model, datamodule, device, settings)
    log.info("%s: data pipeline", cfg.model_name)
    data_rate = data_throughput(datamodule, device, settings.data_batches)
    log.info("%s: inference", cfg.model_name)
    inference = inference_speed(cfg, model, device, settings)
    return {
        "model": str(cfg.model_name),
        "image_size": int(cfg.data.image_size),
        "batch_size": int(cfg.data.batch_size),
        "precision": str(cfg.trainer.precision),
        "device": device.type,
        "memory_format": "channels_last" if model.uses_channels_last() else "contiguous",
        "batched_augmentation": bool(getattr(datamodule, "batched_augmentation", False)),
        "compiled": bool(cfg.get("compile")),
        "parameters": sum(p.numel() for p in model.parameters()),
        "setup_seconds": setup_seconds,
        **training,
        "data_samples_per_s": data_rate,
        "data_headroom": data_rate / training["train_images_per_s"],
        **inference,
    }
