"""A run's checkpoint as its LightningModule: the config it was trained with, its spec, the network to export, and
a translator over it. Only this module of the inference layer imports Lightning and Hydra's instantiation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import RunFolder
from face2sketch.inference.networks import NetworkTranslator
from face2sketch.inference.spec import ModelSpec, pick_device

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from face2sketch.models.base import ImageTranslationModule


def load_trained_model(run: RunFolder, checkpoint: Path) -> tuple[DictConfig, ImageTranslationModule]:
    """The run's saved config and its model with the checkpoint's weights (on the CPU)."""
    from hydra.utils import instantiate
    from omegaconf import open_dict

    from face2sketch.models.checkpoint_format import load_checkpoint_state

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
    from face2sketch.core.config import model_label

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


class TorchTranslator(NetworkTranslator):
    """A LightningModule in its inference mode (``enter_prediction_mode``: pix2pix's own choice of eval or train mode)."""

    def __init__(self, model: ImageTranslationModule, spec: ModelSpec, device: torch.device, origin: str = "") -> None:
        self.network, self.spec, self.device, self.origin = model, spec, device, origin
        model.to(device).enter_prediction_mode()


def run_translator(run: RunFolder, checkpoint: Path, device: str = "auto", seed: int | None = None) -> TorchTranslator:
    """The run's model with the checkpoint's weights, seeded with its run's seed, so that pix2pix's train-mode
    inference (dropout) repeats."""
    import lightning as L

    cfg, model = load_trained_model(run, checkpoint)
    L.seed_everything(cfg.seed if seed is None else seed, verbose=False)
    return TorchTranslator(model, spec_of_run(cfg, model), pick_device(device), origin=str(checkpoint))
