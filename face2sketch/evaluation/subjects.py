"""What an evaluation scores: trained runs (a run folder, a multirun folder or a checkpoint) and shipped models,
each loaded with the data module it is scored on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from face2sketch.core.config import model_label
from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import RunFolder, locate_run, runs_under, with_current_targets
from face2sketch.inference.checkpoints import TorchTranslator, load_trained_model, spec_of_run
from face2sketch.inference.loading import load_translator
from face2sketch.inference.shipped import pretrained_entry
from face2sketch.inference.spec import pick_device
from face2sketch.inference.translator import Translator

if TYPE_CHECKING:
    # Lightning and torchmetrics are imported once a model is evaluated: a refusal (no such run) comes in a second
    from face2sketch.data.datamodule import PairedDataModule


# runs=[pretrained/f2sk]: the model shipped in the package for that direction
PRETRAINED_PREFIX = "pretrained/"


@dataclass(frozen=True)
class RunToEvaluate:
    run: RunFolder
    checkpoint: Path

    @property
    def output_dir(self) -> Path:
        return self.run.evaluation_dir(self.checkpoint)

    @property
    def weights(self) -> str:
        """Which weights are scored, in words for metrics.json and the report."""
        return self.run.weights_label(self.checkpoint)


def discover_runs(paths: list[str]) -> list[RunToEvaluate]:
    """Expand run folders, multirun folders and checkpoint files into (run, checkpoint) pairs."""
    found: list[RunToEvaluate] = []
    for raw in paths:
        path = Path(raw).expanduser()
        located = locate_run(path)
        if located is not None:
            found.append(RunToEvaluate(*located))
        elif path.is_dir() and (inner := runs_under(path)):
            found += [RunToEvaluate(run, run.checkpoint_to_score()) for run in inner]
        else:
            raise ConfigError(f"'{raw}' is not a run folder, a multirun folder or a .ckpt file: pass runs=[outputs/train/runs/<run>] or a checkpoint")
    return found


@dataclass
class Subject:
    """What one evaluation scores: a loaded model, the data module it is scored on, where the folder goes, and the
    facts ``metrics.json`` records about it."""

    translator: Translator
    datamodule: PairedDataModule
    output_dir: Path
    facts: dict[str, Any]


def subject_of_run(run: RunToEvaluate, cfg_eval: DictConfig) -> Subject:
    """A trained run's model with the checkpoint's weights, and its data module, from the run's saved config."""
    cfg, model = load_trained_model(run.run, run.checkpoint)
    direction = cfg.direction.name
    expected = cfg_eval.expect_direction
    if expected and expected != direction:
        raise ConfigError(
            f"checkpoint '{run.checkpoint}' was trained for {direction}, not expect_direction={expected}: "
            f"pass expect_direction={direction} or pick a {expected} run"
        )
    with open_dict(cfg):
        if cfg_eval.data_root is not None and "root" in cfg.data:
            cfg.data.root = cfg_eval.data_root
        cfg.data.eval_batch_size = cfg_eval.batch_size
    datamodule: PairedDataModule = instantiate(cfg.data, value_range=model.value_range)
    datamodule.prepare_data()
    datamodule.setup("test")
    from lightning.pytorch import seed_everything

    seed_everything(cfg.seed, verbose=False)  # pix2pix in train-mode inference draws dropout masks
    translator = TorchTranslator(model, spec_of_run(cfg, model), pick_device(cfg_eval.device), origin=str(run.checkpoint))
    facts = {
        "run": str(run.run.path),
        "checkpoint": str(run.checkpoint),
        "scored_weights": run.weights,
        "model": model_label(cfg),
        "model_class": type(model).__name__,
        "direction": direction,
        "seed": cfg.seed,
        "encoder_weights": cfg.trained_encoder_weights,
    }
    return Subject(translator, datamodule, run.output_dir, facts)


def subject_of_pretrained(direction: str, cfg_eval: DictConfig) -> Subject:
    """A shipped model and the data module it was trained with (models.json), on the CUHK copy at ``data_root``."""
    entry = pretrained_entry(direction)
    expected = cfg_eval.get("expect_direction")
    if expected and expected != direction:
        raise ConfigError(f"pretrained/{direction} translates {direction}, not expect_direction={expected}: pass pretrained/{expected}")
    if cfg_eval.data_root is None:
        raise ConfigError(f"evaluating the shipped {direction} model needs the CUHK data: pass data_root=/path/to/cuhk")
    translator = load_translator(direction, cfg_eval.device)
    data = OmegaConf.create(with_current_targets(entry["data"]))
    data.root, data.eval_batch_size = str(cfg_eval.data_root), cfg_eval.batch_size
    datamodule: PairedDataModule = instantiate(data, value_range=translator.spec.value_range)
    datamodule.prepare_data()
    datamodule.setup("test")
    facts = {
        "run": None,
        "checkpoint": translator.origin,
        "scored_weights": f"shipped model ({entry['selection']})",
        "model": translator.spec.model,
        "model_class": "Pix2Pix",
        "direction": direction,
        "seed": entry["seed"],
        "encoder_weights": None,
    }
    return Subject(translator, datamodule, Path(str(cfg_eval.output)) / f"{PRETRAINED_PREFIX.rstrip('/')}_{direction}", facts)


def discover_subjects(cfg_eval: DictConfig) -> list[Callable[[], Subject]]:
    """Every run, checkpoint or shipped model (``pretrained/f2sk``) named by ``runs=``, each as a function that loads
    it: every name is checked first, and one model at a time is in memory."""
    runs = cfg_eval.runs
    paths = [str(runs)] if isinstance(runs, str) else [str(p) for p in (runs if isinstance(runs, (list, ListConfig)) else [runs])]
    makers: list[Callable[[], Subject]] = []
    for path in paths:
        if path.startswith(PRETRAINED_PREFIX):
            direction = path.removeprefix(PRETRAINED_PREFIX)
            pretrained_entry(direction)  # an unknown direction is named before anything is evaluated
            makers.append(partial(subject_of_pretrained, direction, cfg_eval))
        else:
            makers += [partial(subject_of_run, run, cfg_eval) for run in discover_runs([path])]
    return makers
