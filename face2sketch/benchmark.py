"""Measure training, data and inference speed and memory of face2sketch's models, and write benchmark.json and a table.

    python -m face2sketch.benchmark models=[conv_ae,pix2pix] image_size=128 data_root=/path/to/cuhk output=bench
    python -m face2sketch.benchmark dataset=synthetic steps=5 rounds=1          # a quick look, no data needed
    python -m face2sketch.benchmark trainer_preset=gpu image_size=null              # the study's sizes, bf16, on a GPU

For each model: face2sketch's own Lightning training path against a bare PyTorch loop over the same networks,
losses, optimisers and batches (alternating, so machine noise falls on both), the data pipeline alone, inference
latency and throughput (eager and ONNX Runtime) and peak memory.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import hydra
from hydra import compose
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import ConfigError, one_line_user_errors
from face2sketch.core.io import write_json_atomic, write_text_atomic
from face2sketch.perf.commands import train_run
from face2sketch.perf.load import measure_service
from face2sketch.perf.measure import Settings, measure_model
from face2sketch.perf.tables import machine, markdown
from face2sketch.perf.video import first_test_photo, measure_videos

log = logging.getLogger(__name__)


def training_overrides(bench: DictConfig, model_name: str) -> list[str]:
    """The ``face2sketch.train`` overrides that describe one model's benchmarked run."""
    overrides = [
        f"model={model_name}",
        f"direction={bench.direction}",
        f"data={bench.dataset}",
        f"trainer={bench.trainer_preset}",
        # vgg_ae's encoder weights change no timing; none needs no download. The frozen stage is the study's main one.
        "++for_model.vgg_ae.weights=none",
        "++for_model.vgg_ae.finetune_epochs=0",
    ]
    if bench.dataset != "synthetic":
        overrides.append(f"data.root={bench.data_root}")
    for key, value in (("data.image_size", bench.image_size), ("data.batch_size", bench.batch_size), ("trainer.precision", bench.precision)):
        if value is not None:
            overrides.append(f"{key}={value}")
    return overrides + list(bench.overrides)


def training_config(overrides: list[str], model_name: str, output_dir: Path) -> DictConfig:
    """The training config ``face2sketch.train`` would compose from ``overrides``, writing into ``output_dir``."""
    try:
        cfg = compose("train", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(
            f"cannot compose the training config for model '{model_name}': {str(err).strip().splitlines()[0]} "
            "(models, dataset, trainer_preset and overrides name entries under conf/)"
        ) from None
    with open_dict(cfg):
        cfg.model_name = model_name
        cfg.paths.output_dir = str(output_dir)
    return cfg


def import_seconds() -> float:
    """Wall time of importing the training entry point in a fresh interpreter: the fixed cost of every command."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import face2sketch.train"], check=True)
    return time.perf_counter() - started


def benchmark(bench: DictConfig, command: str) -> dict[str, Any]:
    for key in ("warmup", "steps", "rounds", "data_batches", "latency_repeats", "inference_batch"):
        if int(bench[key]) < 1:
            raise ConfigError(f"{key} must be at least 1, got {bench[key]}")
    for name in ("lightning.pytorch", "lightning.fabric"):  # each segment's trainer would announce its devices again
        logging.getLogger(name).setLevel(logging.WARNING)
    settings = Settings(
        warmup=bench.warmup,
        steps=bench.steps,
        rounds=bench.rounds,
        data_batches=bench.data_batches,
        latency_repeats=bench.latency_repeats,
        inference_batch=bench.inference_batch,
        onnx=bench.onnx,
    )
    output = Path(bench.output or HydraConfig.get().runtime.output_dir).expanduser().resolve()
    record: dict[str, Any] = {"machine": machine(), "command": command, "settings": OmegaConf.to_container(bench, resolve=True), "results": []}
    with tempfile.TemporaryDirectory(prefix="face2sketch-benchmark-") as scratch:
        # every config first, so that a misspelt name stops the benchmark before any measuring
        configs = [training_config(training_overrides(bench, name), name, Path(scratch) / name) for name in bench.models]
        for model_name, cfg in zip(bench.models, configs, strict=False):
            result = measure_model(cfg, settings)
            log.info("%s: %s", model_name, {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
            record["results"].append(result)
        if bench.video:
            sizes = [(int(width), int(height)) for width, height in bench.video_sizes]
            record["video"] = measure_videos(Path(str(bench.data_root)).expanduser(), sizes, float(bench.video_seconds), int(bench.video_pairs))
        if bench.serve:
            record["service"] = measure_service(first_test_photo(Path(str(bench.data_root)).expanduser()), int(bench.serve_requests), int(bench.serve_clients))
        record["startup"] = {"import_seconds": import_seconds()}
        if bench.train_run_batches:
            overrides = training_overrides(bench, bench.train_run_model)
            cfg = training_config(overrides, bench.train_run_model, Path(scratch) / "train_run")
            train_command = [sys.executable, "-m", "face2sketch.train", *overrides]
            compare = Path(bench.train_run_compare).expanduser().resolve() if bench.train_run_compare else None
            record["train_run"] = train_run(train_command, cfg, bench.train_run_batches, bench.train_run_rounds, Path(scratch), compare)
    write_json_atomic(output / "benchmark.json", record)
    table = markdown(record)
    write_text_atomic(output / "benchmark.md", table)
    print(table)
    print(f"benchmark: wrote {output / 'benchmark.json'} and {output / 'benchmark.md'}")
    return record


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="benchmark")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    benchmark(cfg, shlex.join(["python", "-m", "face2sketch.benchmark", *HydraConfig.get().overrides.task]))


if __name__ == "__main__":
    main()
