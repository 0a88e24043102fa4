"""Export a trained model's inference network to ONNX or TorchScript, with what is needed to use it, and check it.

    python -m face2sketch.export ckpt=<run folder | checkpoint.ckpt> format=onnx output=model.onnx
    python -m face2sketch.export ckpt=<run folder> format=torchscript output=model.pt

The file holds the network's raw output (pix2pix: the generator in eval mode) with a dynamic batch
axis, and its ModelSpec (direction, size, channels, value range, resize filter) as metadata; map
outputs to [0, 1] with the value range and clamp, as ``face2sketch.inference`` does. Before the file
is written it is checked against PyTorch on a random batch.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torch import nn

from face2sketch.config import CONFIG_DIR
from face2sketch.errors import ConfigError, Face2SketchError, exit_on_user_error
from face2sketch.inference import (
    TORCHSCRIPT_SPEC_FILE, ModelSpec, inference_network, load_trained_model, load_translator, locate_checkpoint, random_batch, spec_of_run,
    write_onnx,
)

log = logging.getLogger(__name__)
FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
MAX_ABS_DIFFERENCE = 1e-4
CHECK_BATCH = 3  # the export traces batch 1; checking at another size shows the batch axis is dynamic


class ExportCheckError(Face2SketchError):
    """The exported network does not reproduce PyTorch's output."""


def write_torchscript(network: nn.Module, spec: ModelSpec, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shapes turned into constants that the batch axis does not touch
        traced = torch.jit.trace(network, (random_batch(spec, 1),), check_trace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.save's deprecation notice
        torch.jit.save(traced, str(path), _extra_files={TORCHSCRIPT_SPEC_FILE: json.dumps(spec.to_metadata())})


def check_export(network: nn.Module, path: Path, spec: ModelSpec) -> float:
    """The largest absolute difference between the file's and PyTorch's raw outputs on a random batch."""
    inputs = random_batch(spec, CHECK_BATCH, seed=1)
    with torch.no_grad():
        expected = network(inputs).float()
    translator = load_translator(path, device="cpu")
    if translator.spec != spec:
        raise ExportCheckError(f"the metadata read back from '{path}' differs from the model's: {translator.spec} != {spec}")
    produced = translator.raw(inputs).float()
    if produced.shape != expected.shape:
        raise ExportCheckError(f"the exported network gives shape {tuple(produced.shape)} for a batch of {CHECK_BATCH}, PyTorch {tuple(expected.shape)}")
    return float((produced - expected).abs().max())


def benchmark(network: nn.Module, path: Path, spec: ModelSpec, repeats: int) -> dict[str, float]:
    """CPU latency per image at batch 1: PyTorch eager against the exported file.

    The two alternate call by call, so both see the same machine load; each gets the median of ``repeats``.
    """
    inputs = random_batch(spec, 1, seed=2)
    translator = load_translator(path, device="cpu")
    runners = {"pytorch_ms": network, "exported_ms": translator.raw}
    times: dict[str, list[float]] = {name: [] for name in runners}
    with torch.inference_mode():
        for round_ in range(repeats + 3):  # the first 3 rounds warm up
            for name, run in runners.items():
                started = time.perf_counter()
                run(inputs)
                if round_ >= 3:
                    times[name].append(1000 * (time.perf_counter() - started))
    result = {name: statistics.median(values) for name, values in times.items()}
    return {**result, "speedup": result["pytorch_ms"] / result["exported_ms"]}


def export(cfg: DictConfig) -> dict:
    """Export, check and atomically write the file; returns what was printed as a dict."""
    if cfg.format not in FORMATS:
        raise ConfigError(f"unknown format '{cfg.format}': use one of {', '.join(FORMATS)}")
    located = locate_checkpoint(str(cfg.ckpt))
    if located is None:
        raise ConfigError(f"ckpt '{cfg.ckpt}' is not a run folder or a .ckpt inside one (an exported file cannot be exported again)")
    output = Path(str(cfg.output)).expanduser().resolve()
    if output.is_dir():
        raise ConfigError(f"output '{output}' is a folder: pass a file name such as model{FORMATS[cfg.format]}")
    cfg_run, model = load_trained_model(*located)
    spec = spec_of_run(cfg_run, model)
    network = inference_network(model, bool(cfg.eval_mode)).cpu()
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=FORMATS[cfg.format])
    os.close(fd)
    staged = Path(tmp_name)
    try:
        if cfg.format == "onnx":
            write_onnx(network, spec, staged, cfg.get("opset"))
        else:
            write_torchscript(network, spec, staged)
        difference = check_export(network, staged, spec)
        if not difference <= MAX_ABS_DIFFERENCE:
            raise ExportCheckError(f"export check failed: max |{cfg.format} - pytorch| = {difference:.3g} > {MAX_ABS_DIFFERENCE:g} on a random batch of {CHECK_BATCH}; nothing written")
        os.replace(staged, output)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    timings = benchmark(network, output, spec, int(cfg.benchmark)) if cfg.get("benchmark") else None
    low, high = spec.value_range
    print(
        f"export: {output} ({cfg.format}) from {located[1]}: {spec.model} {spec.direction}, {spec.image_size} px, "
        f"{spec.in_channels} -> {spec.out_channels} channels, value range [{low:g}, {high:g}] (map outputs from it to [0, 1] and clamp)"
    )
    print(f"export check: max |{cfg.format} - pytorch| = {difference:.2e} on a random batch of {CHECK_BATCH} (limit {MAX_ABS_DIFFERENCE:g}): ok")
    if timings:
        print(
            f"latency per image at batch 1 on the CPU (median of {cfg.benchmark}, {torch.get_num_threads()} torch threads): "
            f"pytorch {timings['pytorch_ms']:.2f} ms, {cfg.format} {timings['exported_ms']:.2f} ms, pytorch / {cfg.format} = {timings['speedup']:.2f}"
        )
    return {"output": str(output), "format": cfg.format, "max_abs_difference": difference, "spec": spec, "latency": timings}


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
def main(cfg: DictConfig) -> None:
    try:
        export(cfg)
    except Exception as err:
        exit_on_user_error(err)
        raise


if __name__ == "__main__":
    main()
