"""Use a trained model: load it from a run folder, a checkpoint, an ONNX or a TorchScript file, and prepare and
finish the images around it.

evaluate, predict, export and demo all load models and pre-/post-process images here, so a picture
is treated the same way whichever command sees it. A model file carries everything needed to use it:
the run's saved config for a checkpoint, the metadata (``ModelSpec``) for an exported file.
"""

from __future__ import annotations

import json
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from PIL import Image
from torch import nn
from torchmetrics import Metric, MetricCollection

from face2sketch.data.datamodule import DIRECTIONS, fit_to_model, to_tensor
from face2sketch.data.images import to_source_kind
from face2sketch.errors import ConfigError
from face2sketch.models.base import ImageTranslationModule, load_checkpoint_state

ONNX_SUFFIXES = (".onnx",)
TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".torchscript")
# the TorchScript file's extra file holding the ModelSpec (ONNX keeps it in metadata_props)
TORCHSCRIPT_SPEC_FILE = "face2sketch.json"


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
def best_checkpoint(run_dir: Path) -> Path:
    """The run's best checkpoint (by validation SSIM), else its last one."""
    folder = run_dir / "checkpoints"
    best = sorted(folder.glob("best-*.ckpt"))
    if best:
        return best[-1]
    if (folder / "last.ckpt").is_file():
        return folder / "last.ckpt"
    raise ConfigError(f"run folder '{run_dir}' has no checkpoint in checkpoints/: it did not finish an epoch (or ran with debug=fdr)")


def locate_checkpoint(path: str | Path) -> tuple[Path, Path] | None:
    """(run folder, checkpoint) for a run folder or a .ckpt inside one; None if ``path`` is neither."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".ckpt":
        run_dir = path.parent.parent
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"checkpoint '{path}' is not inside a face2sketch run folder (no {run_dir / 'config.yaml'})")
        return run_dir, path
    if (path / "config.yaml").is_file():
        return path, best_checkpoint(path)
    return None


def load_trained_model(run_dir: Path, checkpoint: Path) -> tuple[DictConfig, ImageTranslationModule]:
    """The run's saved config and its model with the checkpoint's weights (on the CPU)."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    with open_dict(cfg):
        cfg.trained_encoder_weights = cfg.model.get("weights")
        if "weights" in cfg.model:  # the checkpoint holds every weight: never fetch pretrained ones again
            cfg.model.weights = "none"
    model: ImageTranslationModule = instantiate(cfg.model, _convert_="all")
    model.load_state_dict(load_checkpoint_state(checkpoint, model, f"use it with the run folder it was trained in, not {run_dir}"))
    return cfg, model


def spec_of_run(cfg: DictConfig, model: ImageTranslationModule) -> ModelSpec:
    """The ModelSpec of a trained run, from its saved config."""
    return ModelSpec(
        model=str(cfg.get("model_name") or type(model).__name__),
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


def unit_range(images: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Map a raw network output from ``value_range`` to [0, 1] and clamp: the models' ``to_unit_range`` for exported files."""
    low, high = value_range
    return ((images.float() - low) / (high - low)).clamp_(0.0, 1.0)


# -- networks to export or time ------------------------------------------------------------------------------
class InferenceNetwork(nn.Module):
    """A plain module around a model's ``forward``: the parts inference uses, without metrics or a trainer to ask for.

    A LightningModule cannot be traced itself (the tracer reads its ``trainer``, which raises when detached).
    """

    def __init__(self, model: ImageTranslationModule) -> None:
        super().__init__()
        self.parts = nn.ModuleDict({name: child for name, child in model.named_children() if not isinstance(child, (Metric, MetricCollection))})
        self.__dict__["model"] = model  # not registered as a child; its parameters are registered through ``parts``

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


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
    model.set_inference_mode()
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
            network, (example,), str(path), dynamo=False, input_names=["input"], output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=opset or 17,
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
    """A LightningModule in its inference mode (``set_inference_mode``: pix2pix's own choice of eval or train mode)."""

    def __init__(self, model: ImageTranslationModule, spec: ModelSpec, device: torch.device, origin: str = "") -> None:
        self.model, self.spec, self.device, self.origin = model, spec, device, origin
        model.to(device).set_inference_mode()

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


def load_translator(path: str | Path, device: str = "auto", seed: int | None = None) -> Translator:
    """A model from a run folder, a .ckpt inside one, an .onnx or a TorchScript (.pt) file, ready to translate.

    A checkpoint's model is seeded with its run's seed, so pix2pix's train-mode inference (dropout) repeats.
    """
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise ConfigError(f"model '{path}' not found: pass ckpt=<run folder | checkpoint.ckpt | model.onnx>")
    if path.suffix in ONNX_SUFFIXES:
        return OnnxTranslator(path, pick_device(device))
    if path.suffix in TORCHSCRIPT_SUFFIXES:
        return TorchScriptTranslator(path, pick_device(device))
    located = locate_checkpoint(path)
    if located is None:
        raise ConfigError(f"'{path}' is not a run folder, a .ckpt inside one, an .onnx or a TorchScript .pt file")
    run_dir, checkpoint = located
    cfg, model = load_trained_model(run_dir, checkpoint)
    L.seed_everything(cfg.seed if seed is None else seed, verbose=False)
    return TorchTranslator(model, spec_of_run(cfg, model), pick_device(device), origin=str(checkpoint))


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
    return [to_uint8(resize_prediction(prediction, region.shape[:2])) for prediction, region in zip(predictions, regions)]


def save_image(path: Path, image: torch.Tensor) -> None:
    """A CxHxW [0, 1] tensor as an 8-bit PNG (L for 1 channel, RGB for 3)."""
    Image.fromarray(to_uint8(image)).save(path)
