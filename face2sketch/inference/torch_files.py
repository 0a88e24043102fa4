"""The exported file formats that need torch to read: TorchScript, and pix2pix weights files (plain PyTorch, half
precision; the format the shipped models are trained into). Each is read and written here and carries its ModelSpec."""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from face2sketch.core.errors import ConfigError
from face2sketch.inference.files import checked_bytes
from face2sketch.inference.networks import NetworkTranslator
from face2sketch.inference.spec import ModelSpec, random_batch
from face2sketch.models.networks.unet import UNetGenerator

# the TorchScript file's extra file holding the ModelSpec (ONNX keeps it in metadata_props)
TORCHSCRIPT_SPEC_FILE = "face2sketch.json"
# a weights file: {"format": WEIGHTS_FORMAT, "spec": ModelSpec fields, "network_args": UNetGenerator's, "state_dict": ...}
WEIGHTS_FORMAT = "face2sketch-unet-weights/1"


# -- TorchScript --------------------------------------------------------------------------------------------
def write_torchscript(network: nn.Module, spec: ModelSpec, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shapes turned into constants that the batch axis does not touch
        traced = torch.jit.trace(network, (random_batch(spec, 1),), check_trace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.save's deprecation notice
        torch.jit.save(traced, str(path), _extra_files={TORCHSCRIPT_SPEC_FILE: json.dumps(spec.to_metadata())})


class TorchScriptTranslator(NetworkTranslator):
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


# -- weights files ------------------------------------------------------------------------------------------
class WeightsTranslator(NetworkTranslator):
    """A pix2pix generator from a weights file (``export format=weights``, and the shipped models): plain PyTorch.

    The file may store half-precision weights; they are turned back into float32, so the network runs as trained.
    ``sha256``: the checksum the file must have (the shipped models'); a mismatch is a damaged file.
    """

    network: UNetGenerator

    def __init__(self, path: Path, device: torch.device, sha256: str | None = None) -> None:
        content = checked_bytes(path, sha256)
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


def write_weights(network: nn.Module, spec: ModelSpec, path: Path) -> None:
    """A pix2pix generator as a weights file with half-precision floats (half the bytes; outputs stay within a grey
    level or two of float32's, which ``face2sketch.export`` checks before it writes the file)."""
    if not isinstance(network, UNetGenerator):
        raise ConfigError("format=weights holds pix2pix generators only: export this model with format=onnx or format=torchscript")
    state = {name: value.half() if value.is_floating_point() else value for name, value in network.state_dict().items()}
    torch.save({"format": WEIGHTS_FORMAT, "spec": asdict(spec), "network_args": network.args, "state_dict": state}, path)
