"""The one place where a training run's settings are checked, before any data is read or any file written.

Each rule names a setting, what is allowed, and a test; a refused value ends the command in one line
(``face2sketch: error: data.batch_size=0 is not allowed: use a whole number >= 1``), exit status 2.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf

from face2sketch.data.datamodule import DIRECTIONS, INTERPOLATIONS
from face2sketch.data.protocols import PROTOCOLS
from face2sketch.errors import ConfigError, exit_on_user_error
from face2sketch.models.base import LOSS_HEADS
from face2sketch.models.pix2pix import TUTORIAL_DISCRIMINATOR_STRIDE

_ABSENT = object()


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _batches_limit(value: Any) -> bool:
    """Lightning's limit_*_batches: a fraction of the batches in (0, 1] or a whole number of batches >= 1."""
    return (_whole(value) and value >= 1) or (isinstance(value, float) and 0 < value <= 1)


@dataclass(frozen=True)
class Rule:
    """``key`` must satisfy ``accepts``; ``allowed`` says what would. Absent keys (another model's) are not checked."""

    key: str
    allowed: str
    accepts: Callable[[Any], bool]
    nullable: bool = False


POSITIVE_WHOLE = "a whole number >= 1"
FRACTION = "a number between 0 and 1, both excluded"
RULES: tuple[Rule, ...] = (
    Rule("seed", "a whole number >= 0", lambda v: _whole(v) and v >= 0),
    Rule("trainer.max_epochs", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("trainer.limit_train_batches", "a fraction in (0, 1] or a whole number of batches >= 1", _batches_limit),
    Rule("finetune_epochs", "a whole number >= 0", lambda v: _whole(v) and v >= 0, nullable=True),
    Rule("direction.name", f"one of {', '.join(DIRECTIONS)}", lambda v: v in DIRECTIONS),
    Rule("direction.sketch_channels", "1 or 3", lambda v: v in (1, 3)),
    Rule("data.batch_size", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("data.eval_batch_size", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1, nullable=True),
    Rule("data.num_workers", "a whole number >= 0", lambda v: _whole(v) and v >= 0),
    Rule("data.image_size", "a whole number >= 8", lambda v: _whole(v) and v >= 8),
    Rule("data.val_fraction", "a number from 0 (no validation: the final weights are tested) to 1, 1 excluded", lambda v: _number(v) and 0 <= v < 1),
    Rule("data.test_fraction", FRACTION, lambda v: _number(v) and 0 < v < 1),
    Rule("data.min_pairs", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("data.max_image_pixels", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("data.num_train", "a whole number >= 2", lambda v: _whole(v) and v >= 2),
    Rule("data.num_test", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("data.split", f"one of {', '.join(PROTOCOLS)}", lambda v: v in PROTOCOLS),
    Rule("data.interpolation", f"one of {', '.join(INTERPOLATIONS)}", lambda v: v in INTERPOLATIONS),
    Rule("model.loss", f"one of {', '.join(LOSS_HEADS)}", lambda v: v in LOSS_HEADS),
    Rule("model.head", "linear or sigmoid", lambda v: v in ("linear", "sigmoid")),
    Rule("model.dropout", "a number in [0, 1)", lambda v: _number(v) and 0 <= v < 1),
    Rule("model.lambda_l1", "a number >= 0", lambda v: _number(v) and v >= 0),
    Rule("model.l1_weight", "a number >= 0", lambda v: _number(v) and v >= 0),
    Rule("callbacks.last_checkpoint.every_minutes", "a number of minutes >= 0 (0: every epoch)", lambda v: _number(v) and v >= 0),
    Rule("model.lr_constant_epochs", "a whole number >= 0, or null", lambda v: _whole(v) and v >= 0, nullable=True),
)


def _learning_rate_keys(node: Any, prefix: str) -> Iterator[str]:
    """Every ``lr`` or ``*_lr`` setting under ``node`` (model.optimizer.lr, model.finetune_lr, pix2pix's two optimisers)."""
    if isinstance(node, DictConfig):
        for name in node.keys():
            key = f"{prefix}.{name}"
            if name == "lr" or str(name).endswith("_lr"):
                yield key
            else:
                yield from _learning_rate_keys(node[name], key)
    elif isinstance(node, ListConfig):
        for index, child in enumerate(node):
            yield from _learning_rate_keys(child, f"{prefix}[{index}]")


@dataclass(frozen=True)
class SizeRule:
    """data.image_size must be a multiple of ``multiple_of`` and at least ``minimum`` for a model, because ``why``."""

    multiple_of: int
    minimum: int
    why: str

    def problem(self, size: int) -> str | None:
        if size % self.multiple_of == 0 and size >= self.minimum:
            return None
        nearest = max(self.minimum, round(size / self.multiple_of) * self.multiple_of)
        nearest += -nearest % self.multiple_of
        return f"use a multiple of {self.multiple_of} of at least {self.minimum} ({self.why}), e.g. {nearest}"


def _image_size_rule(model: DictConfig) -> SizeRule | None:
    """What data.image_size a model can take; None if any size (>= 8) works."""
    name = str(model.get("_target_", "")).rsplit(".", 1)[-1]
    if name == "ConvAE":
        widths = len(model.get("widths", ()))
        return SizeRule(2**widths, 2**widths, f"conv_ae halves the image {widths} times, once per model.widths entry")
    if name == "VGGAE":
        return SizeRule(32, 32, "the VGG-16 encoder pools 5 times")
    if name == "Pix2Pix":
        downs = model.get("num_downs") or 2
        if model.get("discriminator", "tutorial") == "tutorial":
            multiple = max(2**downs, TUTORIAL_DISCRIMINATOR_STRIDE)
            return SizeRule(multiple, multiple, f"the U-Net downsamples {downs}+ times and the tutorial's discriminator halves the image 4 times")
        return SizeRule(2**downs, max(24, 2**downs), f"the U-Net downsamples {downs}+ times and the PatchGAN needs 24 px")
    return None


def _check_epoch_budget(cfg: DictConfig) -> None:
    """Stages measured in epochs (vgg_ae's fine-tuning, pix2pix's constant-rate epochs) must fit in trainer.max_epochs."""
    max_epochs = cfg.trainer.max_epochs
    finetune = OmegaConf.select(cfg, "model.finetune_epochs", default=None)
    if finetune and finetune >= max_epochs and not cfg.trainer.get("fast_dev_run"):
        raise ConfigError(
            f"model.finetune_epochs={finetune} is not allowed with trainer.max_epochs={max_epochs}: use fewer (0 skips "
            "fine-tuning), so that some epochs train with the encoder frozen, or raise trainer.max_epochs"
        )
    constant = OmegaConf.select(cfg, "model.lr_constant_epochs", default=None)
    if constant is not None and constant >= max_epochs:
        raise ConfigError(f"model.lr_constant_epochs={constant} is not allowed with trainer.max_epochs={max_epochs}: use fewer, or null")


def model_label(cfg: DictConfig) -> str:
    """The model's config name (conv_ae, pix2pix, ...) when Hydra knows it, else its class."""
    name = OmegaConf.select(cfg, "model_name", default=None, throw_on_resolution_failure=False)
    return str(name or str(cfg.model.get("_target_", "the model")).rsplit(".", 1)[-1])


def _format(key: str, value: Any) -> str:
    return f"{key}={'null' if value is None else value}"


def validate_settings(cfg: DictConfig) -> None:
    """Raise a one-line ConfigError for the first setting that cannot work; reads no data and writes no file."""
    for rule in RULES:
        value = OmegaConf.select(cfg, rule.key, default=_ABSENT)
        if value is _ABSENT or (value is None and rule.nullable):
            continue
        if not rule.accepts(value):
            raise ConfigError(f"{_format(rule.key, value)} is not allowed: use {rule.allowed}")
    model = cfg.get("model")
    if model is not None:
        for key in _learning_rate_keys(model, "model"):
            value = OmegaConf.select(cfg, key)
            if not (_number(value) and value > 0):
                raise ConfigError(f"{_format(key, value)} is not allowed: use a learning rate > 0")
        _check_epoch_budget(cfg)
        size_rule = _image_size_rule(model)
        problem = size_rule.problem(cfg.data.image_size) if size_rule else None
        if problem:
            raise ConfigError(f"data.image_size={cfg.data.image_size} is not allowed for {model_label(cfg)}: {problem}")


def check_writable(folder: Path) -> None:
    """Raise a one-line ConfigError unless ``folder`` exists and takes files, or could be created where it is meant to be."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, f"'{existing}' is a file")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError(
            f"the output folder '{folder}' cannot be written ({err.strerror or err}): pass a writable "
            "paths.output_root=PATH (or hydra.run.dir=PATH)"
        ) from err


class OutputFolderCheck(Callback):
    """Hydra callback: an unwritable output folder is named in one line before Hydra fails to create it with a traceback."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir")

    @staticmethod
    def _check(config: DictConfig, key: str) -> None:
        HydraConfig.instance().set_config(config)  # the folder's name uses ${hydra:...} values
        try:
            check_writable(Path(str(OmegaConf.select(config, key))))
        except ConfigError as err:
            exit_on_user_error(err)
