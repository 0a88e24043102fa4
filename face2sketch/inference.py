"""Use a trained model: load it from a run folder, a checkpoint, an ONNX, TorchScript or weights file, or the
models shipped in the package, and prepare and finish the images around it.

evaluate, predict, export and demo all load models and pre-/post-process images here, so a picture
is treated the same way whichever command sees it. A model file carries everything needed to use it:
the run's saved config for a checkpoint, the metadata (``ModelSpec``) for an exported file.

Lightning, Hydra's instantiation and torchmetrics are imported only where a checkpoint is loaded, so that a
shipped or exported model predicts without them (a cold ``face2sketch.predict`` starts in about a second less).
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, open_dict
from PIL import Image
from torch import nn

from face2sketch.config import model_label
from face2sketch.data.alignment import FACE_CHOICES, Alignment, align_if, resolve_align
from face2sketch.data.images import DIRECTIONS, MAX_PIXELS, fit_to_model, normalise_image, read_image, to_source_kind, to_tensor, unit_range
from face2sketch.errors import ConfigError, DataError
from face2sketch.models.unet import UNetGenerator
from face2sketch.run_folder import RunFolder, locate_run

if TYPE_CHECKING:
    from face2sketch.models.base import ImageTranslationModule

ONNX_SUFFIXES = (".onnx",)
TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".torchscript")
WEIGHTS_SUFFIXES = (".pth",)
# the TorchScript file's extra file holding the ModelSpec (ONNX keeps it in metadata_props)
TORCHSCRIPT_SPEC_FILE = "face2sketch.json"
# a weights file: {"format": WEIGHTS_FORMAT, "spec": ModelSpec fields, "network_args": UNetGenerator's, "state_dict": ...}
WEIGHTS_FORMAT = "face2sketch-unet-weights/1"
# the models shipped in the package: one weights file per direction, listed with their checksums in models.json
PRETRAINED_DIR = Path(__file__).with_name("pretrained")
PRETRAINED_INDEX = PRETRAINED_DIR / "models.json"


@dataclass(frozen=True)
class ModelSpec:
    """What a caller must know to feed a model and read its output; stored with every exported file."""

    model: str
    direction: str
    image_size: int
    interpolation: str
    in_channels: int
    out_channels: int
    sketch_channels: int
    value_range: tuple[float, float]

    @property
    def source_kind(self) -> str:
        return DIRECTIONS[self.direction][0]

    @property
    def target_kind(self) -> str:
        return DIRECTIONS[self.direction][1]

    def to_metadata(self) -> dict[str, str]:
        """String key/value pairs (ONNX metadata_props), each value JSON."""
        return {key: json.dumps(value) for key, value in asdict(self).items()}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], origin: str | Path) -> ModelSpec:
        missing = [name for name in cls.__dataclass_fields__ if name not in metadata]
        if missing:
            raise ConfigError(f"'{origin}' has no face2sketch metadata ({', '.join(missing)} missing): export it with python -m face2sketch.export")
        values = {name: json.loads(metadata[name]) for name in cls.__dataclass_fields__}
        values["value_range"] = tuple(float(v) for v in values["value_range"])
        return cls(**values)


# -- run folders and checkpoints ---------------------------------------------------------------------
def load_trained_model(run: RunFolder, checkpoint: Path) -> tuple[DictConfig, ImageTranslationModule]:
    """The run's saved config and its model with the checkpoint's weights (on the CPU)."""
    from hydra.utils import instantiate

    from face2sketch.models.base import load_checkpoint_state

    cfg = run.config()
    with open_dict(cfg):
        cfg.trained_encoder_weights = cfg.model.get("weights")
        if "weights" in cfg.model:  # the checkpoint holds every weight: never fetch pretrained ones again
            cfg.model.weights = "none"
    model: ImageTranslationModule = instantiate(cfg.model, _convert_="all")
    model.load_state_dict(load_checkpoint_state(checkpoint, model, f"use it with the run folder it was trained in, not {run.path}"))
    return cfg, model


def spec_of_run(cfg: DictConfig, model: ImageTranslationModule) -> ModelSpec:
    """The ModelSpec of a trained run, from its saved config."""
    return ModelSpec(
        model=model_label(cfg),
        direction=str(cfg.direction.name),
        image_size=int(cfg.data.image_size),
        interpolation=str(cfg.data.get("interpolation", "bilinear")),
        in_channels=int(cfg.direction.in_channels),
        out_channels=int(cfg.direction.out_channels),
        sketch_channels=int(cfg.direction.sketch_channels),
        value_range=(float(model.value_range[0]), float(model.value_range[1])),
    )


def pick_device(name: str = "auto") -> torch.device:
    """'auto': the GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"unknown device '{name}': use auto, cpu or cuda") from err


# -- networks to export or time ------------------------------------------------------------------------------
class InferenceNetwork(nn.Module):
    """A plain module around a model's ``forward``: the parts inference uses, without metrics or a trainer to ask for.

    A LightningModule cannot be traced itself (the tracer reads its ``trainer``, which raises when detached).
    """

    def __init__(self, model: ImageTranslationModule) -> None:
        from torchmetrics import Metric, MetricCollection

        super().__init__()
        self.parts = nn.ModuleDict({name: child for name, child in model.named_children() if not isinstance(child, (Metric, MetricCollection))})
        self.__dict__["model"] = model  # not registered as a child; its parameters are registered through ``parts``

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        model: ImageTranslationModule = self.__dict__["model"]
        return model(x)


def inference_network(model: ImageTranslationModule, eval_mode: bool = False) -> nn.Module:
    """The module to export, in its inference mode: pix2pix's generator, else the model's forward.

    pix2pix with ``model.train_mode_inference=true`` predicts with dropout and batch statistics: random and
    batch-dependent, so no file can reproduce it. It is refused unless ``eval_mode`` asks for eval-mode inference.
    """
    if getattr(model, "train_mode_inference", False):
        if not eval_mode:
            raise ConfigError(
                "this pix2pix run predicts in train mode (model.train_mode_inference=true: dropout and batch statistics), "
                "which is random and cannot be exported: pass eval_mode=true to export its default eval-mode inference"
            )
        model.train_mode_inference = False
    model.enter_prediction_mode()
    model.requires_grad_(False)
    generator = getattr(model, "generator", None)
    return generator if isinstance(generator, nn.Module) else InferenceNetwork(model)


def random_batch(spec: ModelSpec, batch: int, seed: int = 0) -> torch.Tensor:
    """A random input batch in the model's value range."""
    low, high = spec.value_range
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, spec.in_channels, spec.image_size, spec.image_size, generator=generator) * (high - low) + low


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


# -- translators: one interface over PyTorch, ONNX Runtime and TorchScript ---------------------------------
class Translator(ABC):
    """A loaded model: prepares decoded images for it and turns a batch of inputs into [0, 1] predictions."""

    spec: ModelSpec
    origin: str

    def prepare(self, image: np.ndarray) -> torch.Tensor:
        """A uint8 RGB picture -> the model's input (CxSxS in its value range), as training prepared CUHK's."""
        spec = self.spec
        fitted = fit_to_model(to_source_kind(image, spec.source_kind), spec.source_kind, spec.image_size, spec.interpolation, spec.sketch_channels)
        return to_tensor(fitted, spec.value_range)

    @abstractmethod
    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's output for a batch of prepared inputs, in its own value range (unclamped)."""

    def translate(self, inputs: torch.Tensor) -> torch.Tensor:
        """Predictions for a batch of prepared inputs: NxCxSxS in [0, 1], on the CPU."""
        return unit_range(self.raw(inputs).cpu(), self.spec.value_range)


class TorchTranslator(Translator):
    """A LightningModule in its inference mode (``enter_prediction_mode``: pix2pix's own choice of eval or train mode)."""

    def __init__(self, model: ImageTranslationModule, spec: ModelSpec, device: torch.device, origin: str = "") -> None:
        self.model, self.spec, self.device, self.origin = model, spec, device, origin
        model.to(device).enter_prediction_mode()

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model(inputs.to(self.device))

    def translate(self, inputs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model.to_unit_range(self.model(inputs.to(self.device))).cpu()


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


def load_translator(path: str | Path | None, device: str = "auto", seed: int | None = None, direction: str | None = None) -> Translator:
    """A model from a run folder, a .ckpt inside one, an .onnx, TorchScript (.pt) or weights (.pth) file, ready to
    translate; ``path=None``: the model shipped for ``direction`` (f2sk when None).

    A checkpoint's model is seeded with its run's seed, so pix2pix's train-mode inference (dropout) repeats.
    """
    if path is None:
        return load_pretrained(direction or "f2sk", device)
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise ConfigError(f"model '{path}' not found: pass ckpt=<run folder | checkpoint.ckpt | model.onnx>, or no ckpt for the shipped model")
    if path.suffix in WEIGHTS_SUFFIXES:
        return WeightsTranslator(path, pick_device(device))
    if path.suffix in ONNX_SUFFIXES:
        return OnnxTranslator(path, pick_device(device))
    if path.suffix in TORCHSCRIPT_SUFFIXES:
        return TorchScriptTranslator(path, pick_device(device))
    located = locate_run(path)
    if located is None:
        raise ConfigError(f"'{path}' is not a run folder, a .ckpt inside one, an .onnx, a TorchScript .pt or a weights .pth file")
    import lightning as L

    run, checkpoint = located
    cfg, model = load_trained_model(run, checkpoint)
    L.seed_everything(cfg.seed if seed is None else seed, verbose=False)
    return TorchTranslator(model, spec_of_run(cfg, model), pick_device(device), origin=str(checkpoint))


class WeightsTranslator(Translator):
    """A pix2pix generator from a weights file (``export format=weights``, and the shipped models): plain PyTorch.

    The file may store half-precision weights; they are turned back into float32, so the network runs as trained.
    ``sha256``: the checksum the file must have (the shipped models'); a mismatch is a damaged file.
    """

    def __init__(self, path: Path, device: torch.device, sha256: str | None = None) -> None:
        content = path.read_bytes()  # read once: checked, then loaded
        if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
            raise ConfigError(
                f"model file '{path}' is damaged (its SHA-256 differs from {PRETRAINED_INDEX.name}): "
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
            self.network = UNetGenerator(**payload["network_args"])
            self.network.load_state_dict({name: value.float() if value.is_floating_point() else value for name, value in payload["state_dict"].items()})
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


# -- the shipped models -----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def pretrained_index() -> dict[str, Any]:
    """models.json: per direction, the weights file, its SHA-256, and how the model was trained (docs/models.md)."""
    if not PRETRAINED_INDEX.is_file():
        raise ConfigError(
            f"no shipped models in this installation ({PRETRAINED_INDEX} is missing): pass ckpt=<run folder | model file>, or reinstall face2sketch"
        )
    return json.loads(PRETRAINED_INDEX.read_text())


def pretrained_entry(direction: str) -> dict[str, Any]:
    index = pretrained_index()
    if direction not in index:
        raise ConfigError(f"no shipped model for direction '{direction}': use one of {', '.join(sorted(index))}")
    return index[direction]


def load_pretrained(direction: str, device: str = "auto") -> WeightsTranslator:
    """The model shipped for ``direction``, its file checked against models.json."""
    entry = pretrained_entry(direction)
    path = PRETRAINED_DIR / entry["file"]
    if not path.is_file():
        raise ConfigError(f"shipped model file '{path}' is missing: reinstall face2sketch, e.g. pip install --force-reinstall -e .")
    return WeightsTranslator(path, pick_device(device), sha256=entry["sha256"])


# -- finishing predictions ---------------------------------------------------------------------------------
def resize_prediction(prediction: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A CxHxW [0, 1] prediction resized (bicubic) to ``size`` = (height, width) and clamped; unchanged if already that size."""
    if tuple(prediction.shape[-2:]) == tuple(size):
        return prediction
    return F.interpolate(prediction[None], size=size, mode="bicubic", align_corners=False)[0].clamp(0, 1)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """A CxHxW [0, 1] tensor as an 8-bit HxW (1 channel) or HxWx3 array."""
    array = (image.detach().float().clamp(0, 1) * 255.0 + 0.5).byte().permute(1, 2, 0).cpu().numpy()
    return array[..., 0] if array.shape[2] == 1 else array


def translate_regions(translator: Translator, regions: list[np.ndarray]) -> list[np.ndarray]:
    """uint8 RGB pictures (whole images or aligned crops) -> uint8 predictions, each at its picture's size.

    predict (in batches) and the demo (one at a time) both translate here.
    """
    predictions = translator.translate(torch.stack([translator.prepare(region) for region in regions]))
    return [to_uint8(resize_prediction(prediction, region.shape[:2])) for prediction, region in zip(predictions, regions, strict=False)]


def save_image(path: Path, image: torch.Tensor) -> None:
    """A CxHxW [0, 1] tensor as an 8-bit PNG (L for 1 channel, RGB for 3)."""
    Image.fromarray(to_uint8(image)).save(path)


# -- the Python API: face2sketch.load ---------------------------------------------------------------------------------
Picture = str | Path | Image.Image | np.ndarray
SHIPPED_NAMES = tuple(DIRECTIONS)  # load("f2sk") and load("sk2f"): the shipped models


def check_pixel_count(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise DataError(f"the picture is too large: {width}x{height} = {width * height} pixels is over the pixel limit={MAX_PIXELS}; shrink it first")


def as_rgb_array(picture: Picture) -> np.ndarray:
    """A path, PIL image or uint8 array (HxW, HxWx3 RGB or HxWx4 RGBA) as an upright uint8 RGB array.

    Unreadable files and oversized pictures are DataErrors with the reason; other types are a TypeError.
    """
    if isinstance(picture, (str, Path)):
        return read_image(picture)
    if isinstance(picture, Image.Image):
        check_pixel_count(*picture.size)
        return normalise_image(picture)
    if isinstance(picture, np.ndarray):
        if picture.dtype != np.uint8 or picture.ndim not in (2, 3) or (picture.ndim == 3 and picture.shape[2] not in (1, 3, 4)):
            raise DataError(f"a picture array must be uint8 HxW, HxWx3 (RGB) or HxWx4 (RGBA), got {picture.dtype} with shape {picture.shape}")
        check_pixel_count(picture.shape[1], picture.shape[0])
        plane = picture[..., 0] if picture.ndim == 3 and picture.shape[2] == 1 else picture
        mode = "L" if plane.ndim == 2 else ("RGB" if plane.shape[2] == 3 else "RGBA")
        return normalise_image(Image.fromarray(np.ascontiguousarray(plane), mode))
    raise TypeError(f"a picture is a file path, a PIL image or a uint8 numpy array, not {type(picture).__name__}")


@dataclass(frozen=True)
class Translation:
    """One translated face (or whole picture): the result, the region that was translated, and how it was aligned
    (``alignment.transform``: the 2x3 map from the picture's upright pixels into the result's; its face's eyes and
    detection score)."""

    image: Image.Image
    aligned: Image.Image
    alignment: Alignment

    def record(self) -> dict[str, Any]:
        return self.alignment.record()


class Model:
    """A trained model behind an app: ``model(picture)`` returns the translation as a PIL image.

    Photos are aligned by default (the largest face found, turned and cropped as CUHK frames its faces); sketches
    are not. ``faces="all"`` translates every face, largest first. ``translate`` also returns the alignment record.
    """

    def __init__(self, translator: Translator, align: object = "auto", faces: str = "largest", batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if faces not in FACE_CHOICES:
            raise ConfigError(f"faces must be largest or all, got '{faces}'")
        self.translator, self.faces, self.batch_size = translator, faces, batch_size
        self.align = resolve_align(align, translator.spec.source_kind)

    @property
    def spec(self) -> ModelSpec:
        return self.translator.spec

    @property
    def origin(self) -> str:
        return self.translator.origin

    def __call__(self, picture: Picture) -> Image.Image:
        """The translation of ``picture`` (a path, PIL image or uint8 array): the largest face's, or the whole picture's."""
        return self.translate(picture, faces="largest")[0].image

    def batch(self, pictures: list[Picture]) -> list[Image.Image]:
        """``model(picture)`` for each picture, translated in batches."""
        return [found[0].image for found in self.translate_batch(pictures, faces="largest")]

    def align_picture(self, picture: Picture, faces: str | None = None) -> list[Alignment]:
        """The regions ``translate`` would translate: a DataError says why there is none (no face, too small, unreadable)."""
        return align_if(as_rgb_array(picture), self.align, faces or self.faces)

    def translate(self, picture: Picture, faces: str | None = None) -> list[Translation]:
        """Every face translated (one with ``faces="largest"``, the default), each with its alignment record."""
        return self.translate_aligned(self.align_picture(picture, faces))

    def translate_batch(self, pictures: list[Picture], faces: str | None = None) -> list[list[Translation]]:
        """``translate`` for each picture, all faces batched together; a DataError names the picture it is about (1 = the first)."""
        alignments = []
        for index, picture in enumerate(pictures, start=1):
            try:
                alignments.append(self.align_picture(picture, faces))
            except DataError as err:
                raise DataError(f"picture {index} ({picture if isinstance(picture, (str, Path)) else type(picture).__name__}): {err}") from err
        translated = iter(self.translate_aligned([region for found in alignments for region in found]))
        return [[next(translated) for _ in found] for found in alignments]

    def translate_aligned(self, alignments: list[Alignment]) -> list[Translation]:
        """Translate aligned regions in batches of ``batch_size``."""
        results = []
        for start in range(0, len(alignments), self.batch_size):
            chunk = alignments[start : start + self.batch_size]
            for alignment, prediction in zip(chunk, translate_regions(self.translator, [a.image for a in chunk]), strict=True):
                results.append(Translation(Image.fromarray(prediction), Image.fromarray(alignment.image), alignment))
        return results


def load(model: str | Path = "f2sk", align: object = "auto", faces: str = "largest", device: str = "auto", batch_size: int = 16) -> Model:
    """A trained model to call on pictures: "f2sk" or "sk2f" (the shipped models), or a run folder, a ``.ckpt`` inside
    one, or a file written by ``face2sketch.export`` (``.onnx``, ``.pt``, ``.pth``).

        model = face2sketch.load("f2sk")
        sketch = model("me.jpg")  # a PIL image

    ``align``: "auto" (photos yes, sketches no), True or False; ``faces``: "largest" or "all".
    """
    if str(model) in SHIPPED_NAMES:
        return Model(load_pretrained(str(model), device), align, faces, batch_size)
    return Model(load_translator(model, device), align, faces, batch_size)
