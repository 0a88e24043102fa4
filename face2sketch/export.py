"""Export a trained model's inference network to ONNX, TorchScript or a weights file, with what is needed to use
it, and check it.

    python -m face2sketch.export ckpt=<run folder | checkpoint.ckpt> format=onnx output=model.onnx
    python -m face2sketch.export ckpt=<run folder> format=torchscript output=model.pt
    python -m face2sketch.export ckpt=<pix2pix run folder> format=weights output=model.pth   # half precision, no Lightning to load
    python -m face2sketch.export format=onnx output=f2sk.onnx                             # the shipped face -> sketch model

The file holds the network's raw output (pix2pix: the generator in eval mode) with a dynamic batch
axis, and its ModelSpec (direction, size, channels, value range, resize filter) as metadata; map
outputs to [0, 1] with the value range and clamp, as ``face2sketch.inference.translator`` does. Before the file
is written it is checked against PyTorch on a random batch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import ConfigError, Face2SketchError, one_line_user_errors
from face2sketch.core.io import atomic_path
from face2sketch.core.run_folder import locate_run
from face2sketch.inference.checkpoints import inference_network, load_trained_model, spec_of_run
from face2sketch.inference.files import WEIGHTS_SUFFIXES, write_onnx
from face2sketch.inference.loading import load_translator
from face2sketch.inference.shipped import load_pretrained_weights
from face2sketch.inference.spec import ModelSpec, random_batch
from face2sketch.inference.torch_files import WeightsTranslator, write_torchscript, write_weights
from face2sketch.perf.timing import alternating_ms

FORMATS = {"onnx": ".onnx", "torchscript": ".pt", "weights": ".pth"}
MAX_ABS_DIFFERENCE = 1e-4
# half-precision weights: predictions within 2 grey levels of float32's, on the [0, 1] scale
MAX_HALF_PRECISION_DIFFERENCE = 2 / 255
CHECK_BATCH = 3  # the export traces batch 1; checking at another size shows the batch axis is dynamic


class ExportCheckError(Face2SketchError):
    """The exported network does not reproduce PyTorch's output."""


def check_export(network: nn.Module, path: Path, spec: ModelSpec) -> float:
    """The largest absolute difference between the file's and PyTorch's raw outputs on a random batch."""
    inputs = random_batch(spec, CHECK_BATCH, seed=1)
    with torch.no_grad():
        expected = network(inputs).float()
    translator = load_translator(path, device="cpu")
    if translator.spec != spec:
        raise ExportCheckError(f"the metadata read back from '{path}' differs from the model's: {translator.spec} != {spec}")
    produced = torch.from_numpy(translator.raw(inputs.numpy()))
    if produced.shape != expected.shape:
        raise ExportCheckError(f"the exported network gives shape {tuple(produced.shape)} for a batch of {CHECK_BATCH}, PyTorch {tuple(expected.shape)}")
    return float((produced - expected).abs().max())


def benchmark(network: nn.Module, path: Path, spec: ModelSpec, repeats: int) -> dict[str, float]:
    """CPU latency per image at batch 1: PyTorch eager against the exported file.

    The two alternate call by call, so both see the same machine load; each gets the median of ``repeats``.
    """
    inputs = random_batch(spec, 1, seed=2)
    translator = load_translator(path, device="cpu")
    with torch.inference_mode():
        arrays = inputs.numpy()
        result = alternating_ms({"pytorch_ms": lambda: network(inputs), "exported_ms": lambda: translator.raw(arrays)}, repeats, torch.device("cpu"))
    return {**result, "speedup": result["pytorch_ms"] / result["exported_ms"]}


def export_source(cfg: DictConfig) -> tuple[nn.Module, ModelSpec, str]:
    """(network, spec, origin) of what is exported: a run's checkpoint, a weights file, or the shipped model."""
    if cfg.get("ckpt") is None or Path(str(cfg.ckpt)).suffix in WEIGHTS_SUFFIXES:
        weights = (
            load_pretrained_weights(OmegaConf.select(cfg, "direction.name") or "f2sk", "cpu") if cfg.get("ckpt") is None else load_translator(cfg.ckpt, "cpu")
        )
        assert isinstance(weights, WeightsTranslator)
        return weights.network, weights.spec, weights.origin
    located = locate_run(str(cfg.ckpt))
    if located is None:
        raise ConfigError(f"ckpt '{cfg.ckpt}' is not a run folder, a .ckpt inside one or a weights file (.onnx and .pt files cannot be exported again)")
    cfg_run, model = load_trained_model(*located)
    return inference_network(model, bool(cfg.eval_mode)).cpu(), spec_of_run(cfg_run, model), str(located[1])


def allowed_difference(export_format: str, spec: ModelSpec, half: bool = False) -> float:
    """The largest raw-output difference the check accepts: float32 weights 1e-4; half-precision weights (weights files,
    ONNX with ``half``) 2/255 of the [0, 1] range, in the network's own value range."""
    if export_format != "weights" and not half:
        return MAX_ABS_DIFFERENCE
    low, high = spec.value_range
    return MAX_HALF_PRECISION_DIFFERENCE * (high - low)


def write_checked(
    network: nn.Module,
    spec: ModelSpec,
    export_format: str,
    output: Path,
    opset: int | None = None,
    before_publish: Callable[[Path], None] | None = None,
    half: bool = False,
) -> float:
    """Write ``network`` as ``export_format`` to ``output`` (ONNX with float16 weights if ``half``), check it against
    PyTorch and only then put it in place; ``before_publish`` sees the checked file first (and can still stop the
    write by raising). The largest difference."""
    if half and export_format != "onnx":
        raise ConfigError(f"half=true is for format=onnx (weights files are always half precision), not format={export_format}")
    limit = allowed_difference(export_format, spec, half)
    with atomic_path(output) as staged:  # nothing is written unless the check passes
        if export_format == "onnx":
            write_onnx(network, spec, staged, opset, half)
        elif export_format == "weights":
            write_weights(network, spec, staged)
        else:
            write_torchscript(network, spec, staged)
        difference = check_export(network, staged, spec)
        if not difference <= limit:
            raise ExportCheckError(
                f"export check failed: max |{export_format} - pytorch| = {difference:.3g} > {limit:.3g} on a random batch of {CHECK_BATCH}; nothing written"
            )
        if before_publish is not None:
            before_publish(staged)
    return difference


def export(cfg: DictConfig) -> dict:
    """Export, check and atomically write the file; returns what was printed as a dict."""
    if cfg.format not in FORMATS:
        raise ConfigError(f"unknown format '{cfg.format}': use one of {', '.join(FORMATS)}")
    network, spec, origin = export_source(cfg)
    output = Path(str(cfg.output)).expanduser().resolve()
    if output.is_dir():
        raise ConfigError(f"output '{output}' is a folder: pass a file name such as model{FORMATS[cfg.format]}")
    half = bool(cfg.get("half", False))
    limit = allowed_difference(cfg.format, spec, half)
    difference = write_checked(network, spec, cfg.format, output, cfg.get("opset"), half=half)
    timings = benchmark(network, output, spec, int(cfg.benchmark)) if cfg.get("benchmark") else None
    low, high = spec.value_range
    print(
        f"export: {output} ({cfg.format}) from {origin}: {spec.model} {spec.direction}, {spec.image_size} px, "
        f"{spec.in_channels} -> {spec.out_channels} channels, value range [{low:g}, {high:g}] (map outputs from it to [0, 1] and clamp)"
    )
    stored = f"{cfg.format} (float16 weights)" if half else cfg.format
    print(f"export check: max |{stored} - pytorch| = {difference:.2e} on a random batch of {CHECK_BATCH} (limit {limit:.3g}): ok")
    if timings:
        print(
            f"latency per image at batch 1 on the CPU (median of {cfg.benchmark}, {torch.get_num_threads()} torch threads): "
            f"pytorch {timings['pytorch_ms']:.2f} ms, {cfg.format} {timings['exported_ms']:.2f} ms, pytorch / {cfg.format} = {timings['speedup']:.2f}"
        )
    return {"output": str(output), "format": cfg.format, "max_abs_difference": difference, "spec": spec, "latency": timings}


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    export(cfg)


if __name__ == "__main__":
    main()
