"""Where a training run's settings (and the demo's) are checked, before any data is read, model loaded or file written.

Each rule names a setting, what is allowed, and a test; a refused value ends the command in one line
(``face2sketch: error: data.batch_size=0 is not allowed: use a whole number >= 1``), exit status 2.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.utils import get_class
from omegaconf import DictConfig, ListConfig, OmegaConf

from face2sketch.core.config import CONFIG_DIR, model_label
from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.errors import ConfigError, exit_on_user_error
from face2sketch.data.protocols import PROTOCOLS
from face2sketch.models.choices import (
    DISCRIMINATOR_FAKES,
    DISCRIMINATOR_NAMES,
    ENCODER_WEIGHTS,
    HEADS,
    LAYER_DEFAULTS,
    LOSS_HEADS,
    MEMORY_FORMATS,
    NORM_STATISTICS,
)
from face2sketch.pictures.images import INTERPOLATIONS
from face2sketch.realworld.conditions import CONDITION_SETS

if TYPE_CHECKING:
    from face2sketch.models.base import ImageTranslationModule

_ABSENT = object()
# torch.compile's modes (compile_mode); reduce-overhead records each compiled network's kernels as CUDA graphs
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _batches_limit(value: Any) -> bool:
    """Lightning's limit_*_batches: a fraction of the batches in (0, 1] or a whole number of batches >= 1."""
    return (_whole(value) and value >= 1) or (isinstance(value, float) and 0 < value <= 1)


def _scale_range(value: Any) -> bool:
    return isinstance(value, (list, tuple, ListConfig)) and len(value) == 2 and all(_number(v) for v in value) and 0 < value[0] <= value[1]


# the stage probabilities of augmentation=real_world (face2sketch.realworld.augmentation.RealWorldAugmentation)
AUGMENTATION_PROBABILITIES = (
    "p_flip",
    "p_geometry",
    "p_background",
    "p_dark_background",
    "p_camera",
    "p_side_light",
    "p_exposure",
    "p_sketch_paper",
    "p_line_drawing",
    "p_pencil_weight",
    "p_sketch_jpeg",
    "p_sketch_blur",
)


def _encoder_weights(value: Any) -> bool:
    return value in ENCODER_WEIGHTS or (isinstance(value, str) and Path(value).expanduser().is_file())


def _widths(value: Any, minimum_length: int) -> bool:
    """A list of at least ``minimum_length`` layer widths, each a whole number >= 1."""
    return isinstance(value, (list, tuple, ListConfig)) and len(value) >= minimum_length and all(_whole(v) and v >= 1 for v in value)


def _device(value: Any) -> bool:
    """auto, or a device name torch knows (cpu, cuda, cuda:1, ...)."""
    if value in ("auto", "cpu"):
        return True  # without importing torch, which the shipped models on the CPU never need
    import torch

    try:
        torch.device(value)
    except (RuntimeError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Rule:
    """``key`` must satisfy ``accepts``; ``allowed`` says what would. Absent keys (another model's) are not checked."""

    key: str
    allowed: str
    accepts: Callable[[Any], bool]
    nullable: bool = False


POSITIVE_WHOLE = "a whole number >= 1"
FRACTION = "a number between 0 and 1, both excluded"
BATCHES_LIMIT = "a fraction in (0, 1] or a whole number of batches >= 1"
RULES: tuple[Rule, ...] = (
    Rule("seed", "a whole number >= 0", lambda v: _whole(v) and v >= 0),
    Rule("trainer.max_epochs", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("trainer.limit_train_batches", BATCHES_LIMIT, _batches_limit),
    # 0 skips the loop (no validation, no test)
    Rule("trainer.limit_val_batches", f"0 or {BATCHES_LIMIT}", lambda v: v == 0 or _batches_limit(v)),
    Rule("trainer.limit_test_batches", f"0 or {BATCHES_LIMIT}", lambda v: v == 0 or _batches_limit(v)),
    Rule("trainer.check_val_every_n_epoch", "a whole number of epochs >= 1", lambda v: _whole(v) and v >= 1, nullable=True),
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
    Rule("model.head", " or ".join(HEADS), lambda v: v in HEADS),
    Rule("model.memory_format", f"one of {', '.join(MEMORY_FORMATS)}", lambda v: v in MEMORY_FORMATS),
    Rule("model.discriminator", f"one of {', '.join(DISCRIMINATOR_NAMES)}", lambda v: v in DISCRIMINATOR_NAMES),
    Rule("model.discriminator_fakes", f"one of {', '.join(DISCRIMINATOR_FAKES)}", lambda v: v in DISCRIMINATOR_FAKES),
    Rule("model.layer_defaults", f"one of {', '.join(LAYER_DEFAULTS)}", lambda v: v in LAYER_DEFAULTS),
    Rule("model.norm_statistics", f"one of {', '.join(NORM_STATISTICS)}", lambda v: v in NORM_STATISTICS),
    Rule("model.weights", f"one of {', '.join(ENCODER_WEIGHTS)}, or a state_dict file that exists", _encoder_weights),
    Rule("model.finetune_epochs", "a whole number >= 0 (0 keeps the encoder frozen)", lambda v: _whole(v) and v >= 0),
    Rule("model.dropout", "a number in [0, 1)", lambda v: _number(v) and 0 <= v < 1),
    # pix2pix's network widths and depth; the U-Net needs two downsamplings at least
    Rule("model.ngf", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("model.ndf", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("model.num_downs", "a whole number >= 2, or null (as many as the image size allows, up to 8)", lambda v: _whole(v) and v >= 2, nullable=True),
    # conv_ae's and sparse_ae's layers; the stride-2 transposed convolutions need kernels of 2 at least
    Rule("model.widths", "a list of one or more whole numbers >= 1", lambda v: _widths(v, 1)),
    Rule("model.kernel_size", "a whole number >= 2", lambda v: _whole(v) and v >= 2),
    Rule("model.decoder_kernel_size", "a whole number >= 2", lambda v: _whole(v) and v >= 2),
    Rule("model.hidden", "a list of whole numbers >= 1 (empty: the code follows the input layer)", lambda v: _widths(v, 0)),
    Rule("model.code_size", POSITIVE_WHOLE, lambda v: _whole(v) and v >= 1),
    Rule("model.lambda_l1", "a number >= 0", lambda v: _number(v) and v >= 0),
    Rule("model.l1_weight", "a number >= 0", lambda v: _number(v) and v >= 0),
    Rule("callbacks.last_checkpoint.every_minutes", "a number of minutes >= 0 (0: every epoch)", lambda v: _number(v) and v >= 0),
    Rule("model.lr_constant_epochs", "a whole number >= 0, or null", lambda v: _whole(v) and v >= 0, nullable=True),
    Rule("data.validation_conditions", f"null or a condition set: {', '.join(CONDITION_SETS)}", lambda v: v in CONDITION_SETS, nullable=True),
    *(Rule(f"data.augmentation.{name}", "a probability from 0 to 1", lambda v: _number(v) and 0 <= v <= 1) for name in AUGMENTATION_PROBABILITIES),
    Rule("data.augmentation.max_rotation", "a number of degrees from 0 to 180", lambda v: _number(v) and 0 <= v <= 180),
    Rule("data.augmentation.max_shift", "a fraction of the side from 0 to 0.5", lambda v: _number(v) and 0 <= v <= 0.5),
    Rule("data.augmentation.scale", "[smallest, largest] with 0 < smallest <= largest", _scale_range),
    Rule("cpu_threads", "a whole number >= 1, or null (torch's default)", lambda v: _whole(v) and v >= 1, nullable=True),
    Rule("compile_mode", f"one of {', '.join(COMPILE_MODES)}", lambda v: v in COMPILE_MODES),
)

# for_model.<model>.<key> (conf/train.yaml): the run settings data=cuhk and the trainer presets read for the chosen
# model (${oc.select:for_model.${model_name}.image_size,256}), for every model, and the settings each model's config
# reads (conf/model/vgg_ae.yaml: ${oc.select:for_model.vgg_ae.weights,imagenet}); tests/test_config.py composes every
# model and finds these keys and no others read from for_model
EVERY_MODEL_KEYS: dict[str, str] = {"image_size": "data.image_size", "batch_size": "data.batch_size", "max_epochs": "trainer.max_epochs"}
FOR_MODEL_KEYS: dict[str, tuple[str, ...]] = {"vgg_ae": ("finetune_epochs", "weights")}

# python -m face2sketch.demo: checked by ``validate_demo_settings`` before any model is loaded or Gradio imported
DEMO_RULES: tuple[Rule, ...] = (
    # Gradio reads the limit as a whole number of megabytes ("0.5mb" is not a size it parses)
    Rule("max_upload_mb", "a whole number of megabytes >= 1", lambda v: _whole(v) and v >= 1),
    Rule("server_port", "a whole number from 1 to 65535", lambda v: _whole(v) and 1 <= v <= 65535),
    Rule("server_name", "a host name or address to bind, e.g. 127.0.0.1", lambda v: isinstance(v, str) and v.strip() != ""),
    Rule("align", "auto, true or false", lambda v: v == "auto" or isinstance(v, bool)),
    Rule("device", "auto, cpu or cuda (cuda:N for one of several GPUs)", _device),
)


def _learning_rate_keys(node: Any, prefix: str) -> Iterator[str]:
    """Every ``lr`` or ``*_lr`` setting under ``node`` (model.optimizer.lr, model.finetune_lr, pix2pix's two optimisers)."""
    if isinstance(node, DictConfig):
        for name in node:
            key = f"{prefix}.{name!s}"
            if name == "lr" or str(name).endswith("_lr"):
                yield key
            else:
                yield from _learning_rate_keys(node[name], key)
    elif isinstance(node, ListConfig):
        for index, child in enumerate(node):
            yield from _learning_rate_keys(child, f"{prefix}[{index}]")


def model_class(model: DictConfig) -> type[ImageTranslationModule] | None:
    """The LightningModule class ``model._target_`` names (the class Hydra would instantiate), if it is one."""
    from face2sketch.models.base import ImageTranslationModule  # here: the demo's check does not load Lightning

    try:
        target = get_class(str(model.get("_target_", "")))
    except (ImportError, ValueError):
        return None  # instantiate names the bad target in its own error
    return target if isinstance(target, type) and issubclass(target, ImageTranslationModule) else None


def _check_model(cfg: DictConfig, model: DictConfig) -> None:
    """What the model class itself says about the image size and the epoch budget."""
    cls = model_class(model)
    if cls is None:
        return
    problem = None if cfg.trainer.get("fast_dev_run") else cls.epoch_budget_problem(model, cfg.trainer.max_epochs)
    if problem:
        raise ConfigError(problem)
    loss, head = model.get("loss"), model.get("head")
    if loss in LOSS_HEADS and head not in LOSS_HEADS[loss]:
        raise ConfigError(f"model.loss={loss} needs a sigmoid output (binary cross-entropy compares probabilities): set model.head=sigmoid or model.loss=mse")
    rule = cls.image_size_rule(model)
    problem = rule.problem(cfg.data.image_size) if rule else None
    if problem:
        raise ConfigError(f"data.image_size={cfg.data.image_size} is not allowed for {model_label(cfg)}: {problem}")


def _format(key: str, value: Any) -> str:
    return f"{key}={'null' if value is None else value}"


def _check_rule(rule: Rule, value: Any, key: str) -> None:
    if value is _ABSENT or (value is None and rule.nullable):
        return
    if not rule.accepts(value):
        raise ConfigError(f"{_format(key, value)} is not allowed: use {rule.allowed}")


def check_rules(cfg: DictConfig, rules: tuple[Rule, ...]) -> None:
    """Raise a one-line ConfigError for the first of ``rules`` that ``cfg`` breaks."""
    for rule in rules:
        _check_rule(rule, OmegaConf.select(cfg, rule.key, default=_ABSENT), rule.key)


def model_names() -> list[str]:
    """The models a run can choose: conf/model/<name>.yaml."""
    return sorted(path.stem for path in (CONFIG_DIR / "model").glob("*.yaml"))


def check_for_model(table: Any) -> None:
    """Every ``for_model.<model>.<key>`` names a model and a key that is read for it, with a value its rule allows.

    Checked whichever model is chosen, so that a sweep over several models refuses a bad value in its first job; a
    value that only fails together with other settings (vgg_ae's epoch budget) is refused in the job of its model.
    """
    if table is not None and not isinstance(table, DictConfig):
        raise ConfigError(f"{_format('for_model', table)} is not allowed: use for_model.<model>.<key>=<value>")
    names = model_names()
    for entry, settings in (table or {}).items():
        name = str(entry)
        if settings is not None and not isinstance(settings, DictConfig):
            raise ConfigError(f"{_format(f'for_model.{name}', settings)} is not allowed: use for_model.{name}.<key>=<value>")
        if name not in names:
            raise ConfigError(f"for_model.{name} is not allowed: use one of {', '.join(names)} (conf/model/)")
        own = FOR_MODEL_KEYS.get(name, ())
        for setting, value in (settings or {}).items():
            key = str(setting)
            if key not in EVERY_MODEL_KEYS and key not in own:
                read_by_model = f", and {', '.join(own)} (conf/model/{name}.yaml reads them)" if own else ""
                raise ConfigError(
                    f"for_model.{name}.{key} is not allowed: use {', '.join(EVERY_MODEL_KEYS)} (data and trainer read them){read_by_model}; "
                    f"model.{key}=... sets a model setting for a run of {name}"
                )
            checked = EVERY_MODEL_KEYS.get(key, f"model.{key}")
            for rule in RULES:
                if rule.key == checked:
                    _check_rule(rule, value, f"for_model.{name}.{key}")


def validate_settings(cfg: DictConfig) -> None:
    """Raise a one-line ConfigError for the first setting that cannot work; reads no data and writes no file."""
    check_for_model(cfg.get("for_model"))
    check_rules(cfg, RULES)
    model = cfg.get("model")
    if model is not None:
        for key in _learning_rate_keys(model, "model"):
            value = OmegaConf.select(cfg, key)
            if not (_number(value) and value > 0):
                raise ConfigError(f"{_format(key, value)} is not allowed: use a learning rate > 0")
        _check_model(cfg, model)


def validate_demo_settings(cfg: DictConfig) -> None:
    """The demo's settings, checked as a training run's are: one line naming the first value that cannot work."""
    check_rules(cfg, DEMO_RULES)


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
            f"the output folder '{folder}' cannot be written ({err.strerror or err}): pass a writable paths.output_root=PATH (or hydra.run.dir=PATH)"
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
