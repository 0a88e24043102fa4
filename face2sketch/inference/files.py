"""The exported file formats, each read and written here: ONNX (ONNX Runtime), TorchScript, and pix2pix weights
files (plain PyTorch, half precision; the shipped models' format). Each carries its ModelSpec."""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from face2sketch.errors import ConfigError
from face2sketch.inference.spec import ModelSpec, random_batch
from face2sketch.inference.translator import Translator
from face2sketch.models.unet import UNetGenerator

ONNX_SUFFIXES = (".onnx",)
TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".torchscript")
WEIGHTS_SUFFIXES = (".pth",)
# the TorchScript file's extra file holding the ModelSpec (ONNX keeps it in metadata_props)
TORCHSCRIPT_SPEC_FILE = "face2sketch.json"
# a weights file: {"format": WEIGHTS_FORMAT, "spec": ModelSpec fields, "network_args": UNetGenerator's, "state_dict": ...}
WEIGHTS_FORMAT = "face2sketch-unet-weights/1"


# -- ONNX ----------------------------------------------------------------------------------------------------
def write_onnx(network: nn.Module, spec: ModelSpec, path: Path, opset: int | None) -> None:
    import onnx

    example = random_batch(spec, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        torch.onnx.export(
            network,
            (example,),
            str(path),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=opset or 17,
        )
    exported = onnx.load(str(path))
    for key, value in spec.to_metadata().items():
        exported.metadata_props.add(key=key, value=value)
    onnx.save(exported, str(path))


class OnnxTranslator(Translator):
    """An exported ONNX file run by ONNX Runtime (CUDA when available); its ModelSpec comes from its metadata."""

    def __init__(self, path: Path, device: torch.device | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ConfigError("running .onnx files needs ONNX Runtime: pip install -e '.[onnx]'") from err
        wanted = ("CPUExecutionProvider",) if device is not None and device.type == "cpu" else ("CUDAExecutionProvider", "CPUExecutionProvider")
        providers = [p for p in wanted if p in ort.get_available_providers()]
        try:
            self.session = ort.InferenceSession(str(path), providers=providers)
        except Exception as err:  # onnxruntime raises its own exception types for unreadable files
            raise ConfigError(f"cannot load ONNX file '{path}': {str(err).splitlines()[0]}") from err
        self.spec = ModelSpec.from_metadata(self.session.get_modelmeta().custom_metadata_map, path)
        self.input_name = self.session.get_inputs()[0].name
        self.origin = str(path)

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        (output,) = self.session.run(None, {self.input_name: inputs.float().cpu().numpy()})
        return torch.from_numpy(output)


# -- TorchScript --------------------------------------------------------------------------------------------
def write_torchscript(network: nn.Module, spec: ModelSpec, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shapes turned into constants that the batch axis does not touch
        traced = torch.jit.trace(network, (random_batch(spec, 1),), check_trace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.save's deprecation notice
        torch.jit.save(traced, str(path), _extra_files={TORCHSCRIPT_SPEC_FILE: json.dumps(spec.to_metadata())})


class TorchScriptTranslator(Translator):
    """An exported TorchScript file; its ModelSpec comes from the extra file stored beside the network."""

    def __init__(self, path: Path, device: torch.device) -> None:
        extra = {TORCHSCRIPT_SPEC_FILE: ""}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
                self.network = torch.jit.load(str(path), map_location=device, _extra_files=extra)
        except Exception as err:  # TorchScript raises RuntimeError or zip errors for foreign files
            raise ConfigError(f"cannot load TorchScript file '{path}': {str(err).splitlines()[0] if str(err) else type(err).__name__}") from err
        self.spec = ModelSpec.from_metadata(json.loads(extra[TORCHSCRIPT_SPEC_FILE] or "{}"), path)
        self.device, self.origin = device, str(path)

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.network(inputs.to(self.device))


# -- weights files ------------------------------------------------------------------------------------------
class WeightsTranslator(Translator):
    """A pix2pix generator from a weights file (``export format=weights``, and the shipped models): plain PyTorch.

    The file may store half-precision weights; they are turned back into float32, so the network runs as trained.
    ``sha256``: the checksum the file must have (the shipped models'); a mismatch is a damaged file.
    """

    def __init__(self, path: Path, device: torch.device, sha256: str | None = None) -> None:
        content = path.read_bytes()  # read once: checked, then loaded
        if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
            raise ConfigError(
                f"model file '{path}' is damaged (its SHA-256 differs from the one recorded for it): "
                "reinstall face2sketch, e.g. pip install --force-reinstall -e ."
            )
        try:
            payload = torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises several types for truncated or foreign files
            raise ConfigError(f"cannot load weights file '{path}': {str(err).splitlines()[0] if str(err) else type(err).__name__}") from err
        if not isinstance(payload, dict) or payload.get("format") != WEIGHTS_FORMAT:
            raise ConfigError(f"'{path}' is not a face2sketch weights file: write one with python -m face2sketch.export format=weights")
        try:
            spec = dict(payload["spec"])
            self.spec = ModelSpec(**{**spec, "value_range": tuple(float(v) for v in spec["value_range"])})
            with torch.device("meta"):  # no initial weights to draw: every one comes from the file
                self.network = UNetGenerator(**payload["network_args"])
            state = {name: value.float() if value.is_floating_point() else value for name, value in payload["state_dict"].items()}
            self.network.load_state_dict(state, assign=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ConfigError(f"weights file '{path}' is incomplete or does not fit its network ({type(err).__name__}): export it again") from err
        self.network.eval().requires_grad_(False).to(device)
        self.device, self.origin = device, str(path)

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.network(inputs.to(self.device))


def write_weights(network: nn.Module, spec: ModelSpec, path: Path) -> None:
    """A pix2pix generator as a weights file with half-precision floats (half the bytes; outputs stay within a grey
    level or two of float32's, which ``face2sketch.export`` checks before it writes the file)."""
    if not isinstance(network, UNetGenerator):
        raise ConfigError("format=weights holds pix2pix generators only: export this model with format=onnx or format=torchscript")
    state = {name: value.half() if value.is_floating_point() else value for name, value in network.state_dict().items()}
    torch.save({"format": WEIGHTS_FORMAT, "spec": asdict(spec), "network_args": network.args, "state_dict": state}, path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
