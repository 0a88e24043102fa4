"""The exported file formats: which suffix is which, checksums, and ONNX files, read and written here (read by ONNX
Runtime with no torch imported). TorchScript and weights files, which need torch to read, are in ``torch_files``.
Each file carries its ModelSpec."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from face2sketch.core.errors import ConfigError
from face2sketch.inference.spec import ModelSpec, random_batch
from face2sketch.inference.translator import Translator

if TYPE_CHECKING:
    from onnx import ModelProto
    from torch import nn

ONNX_SUFFIXES = (".onnx",)
TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".torchscript")
WEIGHTS_SUFFIXES = (".pth",)
# initializers this small (norm scales, biases) stay float32 in a half-precision ONNX file: casting them saves nothing
SMALLEST_HALF_INITIALIZER = 1024
# what a damaged or missing package file asks for
REINSTALL = "reinstall face2sketch (pip install --force-reinstall face2sketch, or pip install -e . in a source checkout)"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checked_bytes(path: Path, sha256: str | None) -> bytes:
    """The file's bytes, read once; with ``sha256`` (the shipped models'), a mismatch is a damaged file."""
    try:
        content = path.read_bytes()
    except OSError as err:  # a folder, an unreadable file
        raise ConfigError(f"cannot read model file '{path}': {err.strerror or type(err).__name__}") from err
    if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
        raise ConfigError(f"model file '{path}' is damaged (its SHA-256 differs from the one recorded for it): {REINSTALL}")
    return content


# -- ONNX ----------------------------------------------------------------------------------------------------
def half_precision_initializers(model: ModelProto) -> None:
    """Store the large float32 weights as float16, each turned back into float32 by a Cast at the graph's start: half
    the bytes, and ONNX Runtime folds the casts once when it loads the file, so the network still runs in float32."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    kept, casts = [], []
    for initializer in graph.initializer:
        if initializer.data_type == TensorProto.FLOAT and int(np.prod(initializer.dims)) >= SMALLEST_HALF_INITIALIZER:
            half = numpy_helper.from_array(numpy_helper.to_array(initializer).astype(np.float16), f"{initializer.name}.float16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [initializer.name], to=TensorProto.FLOAT))
        else:
            kept.append(initializer)
    nodes = casts + list(graph.node)
    del graph.initializer[:], graph.node[:]
    graph.initializer.extend(kept)
    graph.node.extend(nodes)


def write_onnx(network: nn.Module, spec: ModelSpec, path: Path, opset: int | None, half: bool = False) -> None:
    """The network as ONNX with a dynamic batch axis and the spec in its metadata; ``half``: float16 weights."""
    try:
        import onnx
    except ImportError as err:
        raise ConfigError("writing .onnx files needs the onnx package: pip install -e '.[onnx]'") from err
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        torch.onnx.export(
            network,
            (random_batch(spec, 1),),
            str(path),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=opset or 17,
        )
    exported = onnx.load(str(path))
    if half:
        half_precision_initializers(exported)
    for key, value in spec.to_metadata().items():
        exported.metadata_props.add(key=key, value=value)
    onnx.save(exported, str(path))


def onnx_providers(device: str, available: list[str]) -> list[str | tuple[str, dict[str, int]]]:
    """ONNX Runtime's execution providers for a device name: "cpu" (or "cpu:N") the CPU alone; "cuda" or "cuda:N" that
    GPU first when ONNX Runtime has CUDA (onnxruntime-gpu), else the CPU; any other name is a ConfigError."""
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
        raise ConfigError(f"unknown device '{device}' for an ONNX model: use auto, cpu, cuda or cuda:N")
    if kind == "cuda" and "CUDAExecutionProvider" in available:
        return [("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxTranslator(Translator):
    """An ONNX file run by ONNX Runtime on ``device`` (``onnx_providers``); its ModelSpec comes from its metadata.
    ``sha256``: the checksum the file must have (the shipped models')."""

    def __init__(self, path: Path, device: str = "cpu", sha256: str | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ConfigError("running .onnx files needs ONNX Runtime: pip install onnxruntime") from err
        # a checked file is handed over as the bytes that were checked; any other by its path, so that ONNX Runtime
        # finds an external-data file beside it
        model: bytes | str = checked_bytes(path, sha256) if sha256 is not None else str(path)
        providers = onnx_providers(device, ort.get_available_providers())
        try:
            self.session = ort.InferenceSession(model, providers=providers)
        except Exception as err:  # onnxruntime raises its own exception types for unreadable files
            raise ConfigError(f"cannot load ONNX file '{path}': {str(err).splitlines()[0]}") from err
        self.spec = ModelSpec.from_metadata(self.session.get_modelmeta().custom_metadata_map, path)
        self.input_name = self.session.get_inputs()[0].name
        self.origin = str(path)

    def raw(self, inputs: np.ndarray) -> np.ndarray:
        (output,) = self.session.run(None, {self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)})
        return output
