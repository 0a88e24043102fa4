"""What every face2sketch model does the same way: value range, metrics, image grids, optimisers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import TensorBoardLogger
from torchmetrics import Metric, MetricCollection
from torchvision.utils import make_grid

from face2sketch.metrics.image_sets import study_metrics, training_test_metrics
from face2sketch.models.checkpoint_format import stamp_format
from face2sketch.models.loss_log import EpochLosses, logs_after_this_batch
from face2sketch.pictures.tensors import unit_range

OptimizerFactory = Callable[..., torch.optim.Optimizer]


@dataclass(frozen=True)
class SizeRule:
    """data.image_size must be a multiple of ``multiple_of`` and at least ``minimum`` for a model, because ``why``."""

    multiple_of: int
    minimum: int
    why: str

    def problem(self, size: int) -> str | None:
        """None when ``size`` fits, else what to use instead."""
        if size % self.multiple_of == 0 and size >= self.minimum:
            return None
        nearest = max(self.minimum, round(size / self.multiple_of) * self.multiple_of)
        nearest += -nearest % self.multiple_of
        return f"use a multiple of {self.multiple_of} of at least {self.minimum} ({self.why}), e.g. {nearest}"


class ImageTranslationModule(L.LightningModule):
    """Base for models that map a source image to a target image.

    Subclasses declare ``value_range`` (the range their inputs and outputs live in), build their
    networks, implement ``forward`` and either ``compute_losses`` (automatic optimisation) or their
    own ``training_step``. Validation and test metrics are always computed on [0, 1] images.
    """

    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    # -- what a model can take: asked by face2sketch.training.validation before any data is read, and by the model itself ----
    @classmethod
    def image_size_rule(cls, settings: Mapping[str, Any]) -> SizeRule | None:
        """The data.image_size this model takes with these ``model.*`` settings; None: any size (>= 8)."""
        return None

    @classmethod
    def epoch_budget_problem(cls, settings: Mapping[str, Any], max_epochs: int) -> str | None:
        """Why stages measured in epochs do not fit in ``max_epochs`` with these settings, or None when they do."""
        return None

    def __init__(self, optimizer: OptimizerFactory | None = None, num_preview_images: int = 4, memory_format: str = "auto") -> None:
        super().__init__()
        self.memory_format = memory_format
        self.optimizer_factory = optimizer
        self.num_preview_images = num_preview_images
        self.val_metrics = study_metrics().clone(prefix="val/")
        self.test_metrics = training_test_metrics().clone(prefix="test/")
        self._preview: list[torch.Tensor] = []
        self.epoch_losses = EpochLosses()

    # -- value ranges ---------------------------------------------------------------------------
    def to_unit_range(self, images: torch.Tensor) -> torch.Tensor:
        """Map images from the model's value range to [0, 1], clamped (``pictures.tensors.unit_range``)."""
        return unit_range(images, self.value_range)

    # -- memory format --------------------------------------------------------------------------
    def uses_channels_last(self) -> bool:
        if self.memory_format == "auto":
            return self.device.type == "cuda"
        return self.memory_format == "channels_last"

    def apply_memory_format(self) -> None:
        """Put the weights in the model's memory format on its current device (training and the benchmark's bare loop)."""
        self.to(memory_format=torch.channels_last if self.uses_channels_last() else torch.contiguous_format)

    # torch.compile's mode of the networks (compile_networks), None when they run eagerly
    compile_mode: str | None = None

    def compile_networks(self, mode: str = "default") -> None:
        """``torch.compile`` each network in place: parameter names stay, so checkpoints load with or without it."""
        for child in self.children():
            if not isinstance(child, (Metric, MetricCollection)):
                child.compile(mode=mode)
        self.compile_mode = mode

    def prepare_batch(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(source, target) of a batch, the source in the model's memory format.

        Every training and evaluation step (and the benchmark's bare step) starts here, so with CUDA graphs
        (``compile_mode=reduce-overhead``) this is where a new step is marked: the outputs of the previous step's
        graphs may then be overwritten, and a network called several times in one step (pix2pix's discriminator)
        keeps each call's outputs.
        """
        if self.compile_mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()
        source, target = batch["source"], batch["target"]
        if self.uses_channels_last():
            source = source.contiguous(memory_format=torch.channels_last)
        return source, target

    def on_fit_start(self) -> None:
        self.apply_memory_format()

    # -- training -------------------------------------------------------------------------------
    start_epoch: int = 0

    def on_train_start(self) -> None:
        # recorded so a run can show that a resume continued rather than restarted
        self.start_epoch = self.current_epoch

    def compute_losses(self, source: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training losses for one batch; the total is under 'loss'."""
        raise NotImplementedError

    @property
    def last_losses(self) -> dict[str, torch.Tensor]:
        """The loss terms of the latest training step, detached, under their logged names (StopOnNonFiniteLoss reads them)."""
        return self.epoch_losses.latest

    def log_losses(self, losses: dict[str, torch.Tensor], batch_size: int) -> None:
        """Keep a training step's loss terms on the device (``loss_log``), and hand them to Lightning's log only when it
        writes. Under DDP the logged values are the mean over the processes."""
        self.epoch_losses.add(losses, batch_size)
        if logs_after_this_batch(self.trainer):
            self.log_dict(self.epoch_losses.step_values(), on_step=True, on_epoch=False, batch_size=batch_size, sync_dist=True)

    def on_train_epoch_end(self) -> None:
        # every process trains on as many examples, so the mean of the processes' means is the mean over all of them
        epoch_means = self.epoch_losses.epoch_means()
        if epoch_means:
            self.log_dict(epoch_means, on_step=False, on_epoch=True, prog_bar=True, batch_size=1, sync_dist=True)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        source, target = self.prepare_batch(batch)
        losses = self.compute_losses(source, target)
        self.log_losses({f"train/{k}": v for k, v in losses.items()}, batch_size=source.shape[0])
        return losses["loss"]

    # -- evaluation -----------------------------------------------------------------------------
    def enter_prediction_mode(self) -> None:
        """Put the model in the mode it predicts in: eval (BatchNorm running stats, no dropout) unless a model says otherwise.

        Validation, test, prediction and ``face2sketch.evaluate`` all go through here.
        """
        self.eval()

    def on_validation_model_eval(self) -> None:
        self.enter_prediction_mode()

    def on_test_model_eval(self) -> None:
        self.enter_prediction_mode()

    def on_predict_model_eval(self) -> None:
        self.enter_prediction_mode()

    def _evaluate(self, batch: dict, metrics: MetricCollection) -> torch.Tensor:
        source, target = self.prepare_batch(batch)
        prediction = self.to_unit_range(self(source))
        # the metrics' own filters run in float32 even under bf16 autocast: SSIM's local variances, E[x^2] - E[x]^2,
        # lose every digit they have in bfloat16 (a trained model scored 0.16 instead of about 0.6)
        with torch.autocast(device_type=prediction.device.type, enabled=False):
            metrics.update(prediction, self.to_unit_range(target))
        return prediction

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Score a validation batch; the predictions (in [0, 1]) are returned for callbacks (``ValidationFSIM``).

        Loader 0 holds the clean validation pairs, which ``val/ssim`` and ``val/mse`` score; a second loader (the
        same identities under real-world conditions, ``data.validation_conditions``) is only predicted, for callbacks.
        """
        if dataloader_idx > 0:
            source, _ = self.prepare_batch(batch)
            return self.to_unit_range(self(source))
        prediction = self._evaluate(batch, self.val_metrics)
        self.log_dict(self.val_metrics, on_epoch=True, prog_bar=True, batch_size=prediction.shape[0], add_dataloader_idx=False)
        if batch_idx == 0:
            n = self.num_preview_images
            self._preview = [self.to_unit_range(batch["source"][:n]), prediction[:n], self.to_unit_range(batch["target"][:n])]
        return prediction

    def test_step(self, batch: dict, batch_idx: int) -> None:
        prediction = self._evaluate(batch, self.test_metrics)
        self.log_dict(self.test_metrics, on_epoch=True, batch_size=prediction.shape[0])

    def on_validation_epoch_end(self) -> None:
        """Log input | prediction | target rows for the first validation examples to TensorBoard."""
        if not self._preview or self.trainer.sanity_checking:
            return
        grid = preview_grid(*self._preview)
        for logger in self.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("val/input_prediction_target", grid, global_step=self.current_epoch)
        self._preview = []

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        stamp_format(checkpoint)

    # -- optimisation ---------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        if self.optimizer_factory is None:
            raise ValueError(f"{type(self).__name__} needs an optimizer factory (model.optimizer in the config)")
        # frozen parameters (vgg_ae's encoder) are included: Adam skips them until they are unfrozen
        return self.optimizer_factory(params=self.parameters())


class AutoencoderModule(ImageTranslationModule):
    """A [0, 1] model whose network ends in a linear layer, with an optional sigmoid head on top.

    ``head='linear'`` (the study's Keras layers, which had no output activation): predictions are the raw output,
    clamped to [0, 1] only where they are shown, saved or scored (``to_unit_range``), and MSE is taken on the raw
    output. ``head='sigmoid'``: predictions are sigmoid(raw); MSE is taken after the sigmoid, BCE on the logits.
    Subclasses build their network and implement ``raw_output``.
    """

    value_range = (0.0, 1.0)

    def __init__(
        self, loss: str = "mse", head: str = "linear", optimizer: OptimizerFactory | None = None, num_preview_images: int = 4, memory_format: str = "auto"
    ) -> None:
        super().__init__(optimizer=optimizer, num_preview_images=num_preview_images, memory_format=memory_format)
        self.loss_kind, self.head = loss, head

    def raw_output(self, x: torch.Tensor) -> torch.Tensor:
        """The network's last layer, before any head."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.raw_output(x)
        return torch.sigmoid(raw) if self.head == "sigmoid" else raw

    def reconstruction_loss(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raw = raw.float()
        if self.loss_kind == "bce":
            return F.binary_cross_entropy_with_logits(raw, target)
        return F.mse_loss(torch.sigmoid(raw) if self.head == "sigmoid" else raw, target)

    def compute_losses(self, source: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": self.reconstruction_loss(self.raw_output(source), target)}


def preview_grid(source: torch.Tensor, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """One row per example: input | prediction | target, each as 3 channels in [0, 1]."""
    as_rgb = [t.detach().float().cpu().expand(-1, 3, -1, -1) if t.shape[1] == 1 else t.detach().float().cpu() for t in (source, prediction, target)]
    rows = torch.stack(as_rgb, dim=1).flatten(0, 1)
    return make_grid(rows, nrow=3, padding=2, pad_value=1.0)
