"""Every settings rule of face2sketch/training/validation.py at its boundary: the nearest bad value is refused in one line
naming it, the nearest good value is accepted.

A rule that disappears or is loosened fails its refused case; a rule that is tightened fails its accepted case; a
rule added without a case here fails ``test_every_rule_has_a_boundary_case``. The learning rates, image sizes and
epoch budgets the model classes decide are refused below (as the train command meets them: tests/commands/).
"""

from __future__ import annotations

import ast
import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from face2sketch.core.config import CONFIG_DIR, model_label
from face2sketch.core.errors import ConfigError
from face2sketch.training.validation import AUGMENTATION_PROBABILITIES, DEMO_RULES, RULES, _learning_rate_keys, validate_demo_settings, validate_settings
from tests.conftest import PROJECT_ROOT, compose_train

REAL_WORLD = ("augmentation=real_world",)
PIX2PIX, SPARSE, VGG, SYNTHETIC = ("model=pix2pix",), ("model=sparse_ae",), ("model=vgg_ae", "++for_model.vgg_ae.weights=none"), ("data=synthetic",)

# rule key: (the config it lives in, values refused, values accepted); each refused value is a boundary's near side
TRAIN_BOUNDARIES: dict[str, tuple[tuple[str, ...], list[Any], list[Any]]] = {
    "seed": ((), [-1], [0]),
    "trainer.max_epochs": ((), [0, -1], [1]),
    "trainer.limit_train_batches": ((), [0, 1.5, -1], [1, 0.5, 1.0]),
    "trainer.limit_val_batches": ((), [-1, 1.5], [0, 0.5, 1]),
    "trainer.limit_test_batches": ((), [-1, 1.5], [0, 0.5, 1]),
    "trainer.check_val_every_n_epoch": ((), [0], [1, None]),
    "direction.name": ((), ["x2y"], ["sk2f"]),
    "direction.sketch_channels": ((), [2, 0], [1, 3]),
    "data.batch_size": ((), [0], [1]),
    "data.eval_batch_size": ((), [0], [1, None]),
    "data.num_workers": ((), [-1], [0]),
    "data.image_size": ((), [7], [8]),
    "data.val_fraction": ((), [1, 1.0, -0.01], [0, 0.99]),
    "data.test_fraction": ((), [0, 1], [0.01, 0.99]),
    "data.min_pairs": ((), [0], [1]),
    "data.max_image_pixels": ((), [0], [1]),
    "data.num_train": (SYNTHETIC, [1], [2]),
    "data.num_test": (SYNTHETIC, [0], [1]),
    "data.split": ((), ["leaky"], ["paper", "standard"]),
    "data.interpolation": ((), ["nearest"], ["lanczos"]),
    "model.loss": (SPARSE, ["l2"], ["mse", "bce"]),
    "model.head": ((), ["softmax"], ["sigmoid"]),
    "model.memory_format": ((), ["nhwc"], ["auto", "channels_last", "contiguous"]),
    "model.discriminator": (PIX2PIX, ["patchgan16"], ["tutorial", "patchgan70"]),
    "model.discriminator_fakes": (PIX2PIX, ["fresh"], ["predict", "detached"]),
    "model.layer_defaults": (PIX2PIX, ["tensorflow"], ["keras", "pytorch"]),
    "model.norm_statistics": (PIX2PIX, ["instance"], ["running", "picture"]),
    "model.weights": (VGG, ["/no/such/vgg16.pth", "imagenet1k"], ["none", "imagenet", "imagenet_features"]),
    "model.finetune_epochs": (VGG, [-1, None, 1.5], [0]),
    "model.dropout": (PIX2PIX, [1, -0.1], [0, 0.99]),
    "model.ngf": (PIX2PIX, [0], [1]),
    "model.ndf": (PIX2PIX, [0], [1]),
    "model.num_downs": (PIX2PIX, [1], [2, None]),
    "model.widths": ((), [[], [16, 0]], [[8]]),
    "model.kernel_size": ((), [1], [2]),
    "model.decoder_kernel_size": (VGG, [1], [2]),
    "model.hidden": (SPARSE, [[0]], [[], [1]]),
    "model.code_size": (SPARSE, [0], [1]),
    "model.lambda_l1": (PIX2PIX, [-0.1], [0]),
    "model.l1_weight": (SPARSE, [-1e-4], [0]),
    "callbacks.last_checkpoint.every_minutes": ((), [-1], [0]),
    "model.lr_constant_epochs": (PIX2PIX, [-1], [0, None]),
    "data.validation_conditions": (REAL_WORLD, ["moonlight"], ["real", None]),
    **{f"data.augmentation.{name}": (REAL_WORLD, [-0.01, 1.01], [0, 1]) for name in AUGMENTATION_PROBABILITIES},
    "data.augmentation.max_rotation": (REAL_WORLD, [-1, 181], [0, 180]),
    "data.augmentation.max_shift": (REAL_WORLD, [-0.01, 0.51], [0, 0.5]),
    "data.augmentation.scale": (REAL_WORLD, [[0, 1], [1.2, 1.1], [1.0]], [[0.5, 0.5], [0.9, 1.1]]),
    "cpu_threads": ((), [0, -1, 1.5], [1, None]),
    "compile_mode": ((), ["fast", None], ["default", "reduce-overhead"]),
}

DEMO_BOUNDARIES: dict[str, tuple[list[Any], list[Any]]] = {
    "max_upload_mb": ([0, -1, 0.5], [1]),
    "server_port": ([0, 65536], [1, 65535]),
    "server_name": ([""], ["0.0.0.0"]),
    "align": (["yes"], ["auto", True, False]),
    "device": (["gpu"], ["auto", "cpu", "cuda:1"]),
}


@cache
def _composed(base: tuple[str, ...]) -> DictConfig:
    cfg = compose_train(Path("unused") / "run", *base)
    OmegaConf.update(cfg, "model_name", model_label(cfg))  # resolved now: later composes change Hydra's choices
    return cfg


def _with(cfg: DictConfig, key: str, value: Any) -> DictConfig:
    changed = copy.deepcopy(cfg)
    OmegaConf.update(changed, key, value, merge=False)
    return changed


def _shown(value: Any) -> str:
    return "null" if value is None else str(OmegaConf.create({"v": value}).v)


def _assert_refused(validate: Any, cfg: DictConfig, key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as err:
        validate(_with(cfg, key, value))
    message = str(err.value)
    assert message.startswith(f"{key}={_shown(value)} is not allowed: use "), message
    assert "\n" not in message


def test_every_rule_has_a_boundary_case() -> None:
    assert [rule.key for rule in RULES] == list(TRAIN_BOUNDARIES)
    assert [rule.key for rule in DEMO_RULES] == list(DEMO_BOUNDARIES)


@pytest.mark.parametrize("key", list(TRAIN_BOUNDARIES))
def test_each_training_rule_refuses_the_nearest_bad_value_and_accepts_the_nearest_good_one(key: str) -> None:
    base, refused, accepted = TRAIN_BOUNDARIES[key]
    cfg = _composed(base)
    assert OmegaConf.select(cfg, key, default="absent") != "absent", f"{key} is not in the config composed from {base}"
    for value in refused:
        _assert_refused(validate_settings, cfg, key, value)
    for value in accepted:
        validate_settings(_with(cfg, key, value))


LEARNING_RATES = {
    (): ["model.optimizer.lr"],
    PIX2PIX: ["model.generator_optimizer.lr", "model.discriminator_optimizer.lr"],
    SPARSE: ["model.optimizer.lr"],
    VGG: ["model.optimizer.lr", "model.finetune_lr"],
}


@pytest.mark.parametrize("base", list(LEARNING_RATES), ids=["conv_ae", "pix2pix", "sparse_ae", "vgg_ae"])
def test_every_learning_rate_must_be_positive(base: tuple[str, ...]) -> None:
    """Every ``lr`` or ``*_lr`` under ``model`` is found and checked: 0 refused, the smallest positive rate accepted."""
    cfg = _composed(base)
    assert sorted(_learning_rate_keys(cfg.model, "model")) == sorted(LEARNING_RATES[base])
    for key in LEARNING_RATES[base]:
        with pytest.raises(ConfigError, match=rf"^{key}=0 is not allowed: use a learning rate > 0$"):
            validate_settings(_with(cfg, key, 0))
        validate_settings(_with(cfg, key, 1e-12))


def _demo_config(*overrides: str) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("demo", overrides=list(overrides))


@pytest.mark.parametrize("key", list(DEMO_BOUNDARIES))
def test_each_demo_rule_refuses_the_nearest_bad_value_and_accepts_the_nearest_good_one(key: str) -> None:
    refused, accepted = DEMO_BOUNDARIES[key]
    cfg = _demo_config()
    validate_demo_settings(cfg)  # the shipped defaults
    for value in refused:
        _assert_refused(validate_demo_settings, cfg, key, value)
    for value in accepted:
        validate_demo_settings(_with(cfg, key, value))


def test_bce_needs_the_sigmoid_head_and_says_so_in_one_line() -> None:
    cfg = _with(_with(_composed(SPARSE), "model.loss", "bce"), "model.head", "linear")
    with pytest.raises(ConfigError, match=r"^model.loss=bce needs a sigmoid output .*: set model.head=sigmoid or model.loss=mse$"):
        validate_settings(cfg)


def _raises_config_error(function: ast.AST) -> bool:
    return any(isinstance(node, ast.Raise) and node.exc is not None and "ConfigError" in ast.unparse(node.exc) for node in ast.walk(function))


def test_no_model_or_data_module_checks_a_setting_itself() -> None:
    """Settings are checked once, by validate_settings, before anything is built: no LightningModule or DataModule
    method (constructors and hooks alike) raises a ConfigError of its own."""
    package = PROJECT_ROOT / "face2sketch"
    checking = []
    for path in [*sorted((package / "models").glob("*.py")), package / "data" / "datamodule.py", package / "data" / "sources.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                checking += [f"{path.name}:{node.name}.{f.name}" for f in node.body if isinstance(f, ast.FunctionDef) and _raises_config_error(f)]
    assert not checking, checking


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epochs=0"], "trainer.max_epochs=0 is not allowed: use a whole number >= 1"),
        (["trainer.max_epochs=-1"], "trainer.max_epochs=-1 is not allowed: use a whole number >= 1"),
        (["data.batch_size=0"], "data.batch_size=0 is not allowed: use a whole number >= 1"),
        (["data.eval_batch_size=-2"], "data.eval_batch_size=-2 is not allowed"),
        (["model.optimizer.lr=-1"], "model.optimizer.lr=-1 is not allowed: use a learning rate > 0"),
        (["model.optimizer.lr=0"], "model.optimizer.lr=0 is not allowed: use a learning rate > 0"),
        (["model=pix2pix", "model.discriminator_optimizer.lr=-0.1"], "model.discriminator_optimizer.lr=-0.1 is not allowed"),
        (["model=vgg_ae", "model.finetune_lr=0"], "model.finetune_lr=0 is not allowed: use a learning rate > 0"),
        (["data.num_workers=-3"], "data.num_workers=-3 is not allowed: use a whole number >= 0"),
        (["data.val_fraction=1.5"], "data.val_fraction=1.5 is not allowed: use a number from 0 (no validation: the final weights are tested) to 1, 1 excluded"),
        (["data.val_fraction=-0.1"], "data.val_fraction=-0.1 is not allowed"),
        (["data.val_fraction=1"], "data.val_fraction=1 is not allowed"),
        (["data.test_fraction=1"], "data.test_fraction=1 is not allowed"),
        (
            ["callbacks.last_checkpoint.every_minutes=-1"],
            "callbacks.last_checkpoint.every_minutes=-1 is not allowed: use a number of minutes >= 0 (0: every epoch)",
        ),
        (["data.image_size=30"], "data.image_size=30 is not allowed for conv_ae: use a multiple of 8 of at least 8"),
        (["model=pix2pix", "data.image_size=24"], "data.image_size=24 is not allowed for pix2pix: use a multiple of 16 of at least 16"),
        (["model=pix2pix_paper", "data.image_size=16"], "data.image_size=16 is not allowed for pix2pix_paper: use a multiple of 4 of at least 24"),
        (["model.head=softmax"], "model.head=softmax is not allowed: use linear or sigmoid"),
        (["model=vgg_ae", "data.image_size=100"], "data.image_size=100 is not allowed for vgg_ae: use a multiple of 32 of at least 32"),
        (["data.image_size=4"], "data.image_size=4 is not allowed: use a whole number >= 8"),
        (["model.loss=l2"], "model.loss=l2 is not allowed: use one of mse, bce"),
        (["data.split=leaky"], "data.split=leaky is not allowed: use one of standard, paper"),
        (["data.interpolation=nearest"], "data.interpolation=nearest is not allowed"),
        (["data.min_pairs=0"], "data.min_pairs=0 is not allowed: use a whole number >= 1"),
        (["direction.sketch_channels=2"], "direction.sketch_channels=2 is not allowed: use 1 or 3"),
        (["seed=-1"], "seed=-1 is not allowed: use a whole number >= 0"),
        (["trainer.limit_train_batches=0"], "trainer.limit_train_batches=0 is not allowed"),
        (["model=vgg_ae", "trainer.max_epochs=10"], "model.finetune_epochs=10 is not allowed with trainer.max_epochs=10: use fewer"),
        (["model=pix2pix", "model.lr_constant_epochs=6"], "model.lr_constant_epochs=6 is not allowed with trainer.max_epochs=6"),
        (["cpu_threads=0"], "cpu_threads=0 is not allowed: use a whole number >= 1, or null (torch's default)"),
        (["++for_model.vggae.weights=none"], "for_model.vggae is not allowed: use one of conv_ae, pix2pix, pix2pix_paper, sparse_ae, vgg_ae (conf/model/)"),
        (
            ["++for_model.pix2pix.ngf=8"],
            "for_model.pix2pix.ngf is not allowed: use image_size, batch_size, max_epochs (data and trainer read them); model.ngf=",
        ),
        (["++for_model.conv_ae.batch_size=0"], "for_model.conv_ae.batch_size=0 is not allowed: use a whole number >= 1"),
        (
            ["++for_model.vgg_ae.finetune_lr=0.1"],
            "for_model.vgg_ae.finetune_lr is not allowed: use image_size, batch_size, max_epochs (data and trainer read them), "
            "and finetune_epochs, weights (conf/model/vgg_ae.yaml reads them)",
        ),
        (["model=conv_ae", "++for_model.vgg_ae.weights=imagenet1k"], "for_model.vgg_ae.weights=imagenet1k is not allowed: use one of "),
        (["++for_model.vgg_ae=none"], "for_model.vgg_ae=none is not allowed: use for_model.vgg_ae.<key>=<value>"),
        (["for_model=3"], "for_model=3 is not allowed: use for_model.<model>.<key>=<value>"),
        (["++for_model.vgg_ae.finetune_epochs=-1"], "for_model.vgg_ae.finetune_epochs=-1 is not allowed: use a whole number >= 0"),
        (["compile_mode=fast"], "compile_mode=fast is not allowed: use one of default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs"),
    ],
)
def test_bad_settings_are_named_with_value_and_what_is_allowed(tmp_path: Path, overrides: list[str], message: str) -> None:
    cfg = compose_train(tmp_path / "run", "data=synthetic", *overrides)
    with pytest.raises(ConfigError) as err:
        validate_settings(cfg)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize("model", ["sparse_ae", "conv_ae", "pix2pix", "vgg_ae"])
def test_every_model_default_and_the_experiments_pass_the_check(tmp_path: Path, model: str) -> None:
    for extra in ([], ["experiment=demo"], ["experiment=paper_cpu"], ["debug=fdr"]):
        validate_settings(compose_train(tmp_path / "run", f"model={model}", *extra))
