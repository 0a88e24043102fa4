"""A training run's folder and an evaluation's folder: the one place that names the files in them.

``face2sketch.train`` writes a run folder; ``evaluate``, ``export``, ``predict``, ``report``, the benchmark and the
checkpoint callbacks read it. Each asks :class:`RunFolder` for a path instead of spelling the layout again, so the
layout can change here alone::

    <run>/config.yaml          the resolved config the run trained with
    <run>/metrics.json         what ran, how it ended and what the test scored
    <run>/examples.json        the identities of each split
    <run>/skipped.json         files the data module could not use
    <run>/checkpoints/         best-epochNNN.ckpt (best by validation; weights only) and last.ckpt (full, for resume)
    <run>/evaluation/          evaluate's scores of the run's own checkpoint (:class:`EvaluationFolder`)
    <run>/evaluation_<name>/   ... of another checkpoint named on the command line
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from face2sketch.core.errors import ConfigError

if TYPE_CHECKING:  # OmegaConf is imported where a run's config is read, so that the Python API does without it
    from omegaconf import DictConfig

# ModelCheckpoint's filename pattern for the best checkpoint (Lightning adds the suffix)
BEST_CHECKPOINT_FILENAME = "best-epoch{epoch:03d}"
CHECKPOINT_SUFFIX = ".ckpt"


# modules whose classes a recorded config (a run's config.yaml, the shipped models' recipe) may name under ``_target_``
# as they were called when it was written
MOVED_MODULES = {
    "face2sketch.data.augmentation": "face2sketch.realworld.augmentation",
    **{f"face2sketch.callbacks.{name}": f"face2sketch.training.callbacks.{name}" for name in ("checkpoints", "guards", "progress", "quality", "resume")},
    "face2sketch.loggers": "face2sketch.training.loggers",
    "face2sketch.validation": "face2sketch.training.validation",
}


# settings renamed since runs recorded them, by the class that takes them: data.conditions is data.augmentation now
RENAMED_SETTINGS = {f"face2sketch.data.{name}": {"conditions": "augmentation"} for name in ("FolderPairsDataModule", "SyntheticPairsDataModule")}


def with_current_targets(node: Any) -> Any:
    """A recorded config (plain dicts and lists) with each ``_target_`` in a moved module named where its class lives now,
    and each renamed setting under its current name, so that runs and shipped models trained before a move still load."""
    if isinstance(node, dict):
        target = _current_target(node["_target_"]) if isinstance(node.get("_target_"), str) else None
        renamed = RENAMED_SETTINGS.get(target or "", {})
        return {renamed.get(key, key): target if key == "_target_" and target else with_current_targets(value) for key, value in node.items()}
    if isinstance(node, list):
        return [with_current_targets(value) for value in node]
    return node


def _current_target(name: str) -> str:
    module, _, attribute = name.rpartition(".")
    return f"{MOVED_MODULES.get(module, module)}.{attribute}"


@dataclass(frozen=True)
class RunFolder:
    """The folder of one training run; paths in it, and the checkpoint a run is scored by."""

    path: Path

    CONFIG = "config.yaml"
    METRICS = "metrics.json"
    EXAMPLES = "examples.json"
    SKIPPED = "skipped.json"
    LOG = "train.log"
    CHECKPOINTS = "checkpoints"
    LAST = "last.ckpt"
    BEST_PREFIX = "best-"
    TENSORBOARD = "tensorboard"
    CSV = "csv"
    HYDRA = ".hydra"
    EVALUATION = "evaluation"
    # what a run writes before its first checkpoint: a folder holding nothing else can be removed after a user error
    UNFINISHED_CONTENTS = frozenset({HYDRA, LOG, CONFIG, SKIPPED, EXAMPLES, TENSORBOARD, CSV})

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser())

    @classmethod
    def of_checkpoint(cls, checkpoint: Path) -> RunFolder:
        """The run folder a checkpoint file lies in (``<run>/checkpoints/<name>.ckpt``)."""
        return cls(Path(checkpoint).expanduser().parent.parent)

    # -- files ------------------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics_file(self) -> Path:
        return self.path / self.METRICS

    @property
    def examples_file(self) -> Path:
        return self.path / self.EXAMPLES

    @property
    def skipped_file(self) -> Path:
        return self.path / self.SKIPPED

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / self.CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        """The full checkpoint (optimiser and loops too) a run resumes from."""
        return self.checkpoints_dir / self.LAST

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / self.TENSORBOARD

    @property
    def overrides_file(self) -> Path:
        """Hydra's record of the command line's overrides."""
        return self.path / self.HYDRA / "overrides.yaml"

    def is_run(self) -> bool:
        """Whether this is a face2sketch run folder (it holds the run's config)."""
        return self.config_file.is_file()

    def is_unfinished(self) -> bool:
        """Whether the folder holds only what a run writes before its first checkpoint."""
        return self.path.is_dir() and {p.name for p in self.path.iterdir()} <= self.UNFINISHED_CONTENTS

    def missing(self, *names: str) -> list[str]:
        """Which of the named files (``RunFolder.CONFIG``, ...) the folder lacks."""
        return [name for name in names if not (self.path / name).is_file()]

    # -- reading ----------------------------------------------------------------------------------
    def config(self) -> DictConfig:
        """The resolved config the run trained with (empty for a folder without one)."""
        from omegaconf import DictConfig, OmegaConf

        cfg = OmegaConf.create(with_current_targets(OmegaConf.to_container(OmegaConf.load(self.config_file)))) if self.is_run() else OmegaConf.create()
        assert isinstance(cfg, DictConfig)
        return cfg

    def metrics(self) -> dict[str, Any]:
        return dict(json.loads(self.metrics_file.read_text()))

    def examples(self) -> dict[str, Any]:
        return dict(json.loads(self.examples_file.read_text()))

    def overrides(self) -> list[str]:
        """The command line's overrides, as Hydra recorded them (none for a run started from Python)."""
        from omegaconf import OmegaConf

        return [str(o) for o in OmegaConf.load(self.overrides_file)] if self.overrides_file.is_file() else []

    def selection_monitor(self) -> str | None:
        """The validation metric the run chose its best checkpoint by (``callbacks.model_checkpoint.monitor``)."""
        from omegaconf import OmegaConf

        return OmegaConf.select(self.config(), "callbacks.model_checkpoint.monitor", default=None)

    # -- checkpoints ------------------------------------------------------------------------------
    def best_checkpoints(self) -> list[Path]:
        return sorted(self.checkpoints_dir.glob(f"{self.BEST_PREFIX}*{CHECKPOINT_SUFFIX}"))

    def checkpoint_to_score(self) -> Path:
        """The run's best checkpoint (by its validation metric), else its last one."""
        best = self.best_checkpoints()
        if best:
            return best[-1]
        if self.last_checkpoint.is_file():
            return self.last_checkpoint
        raise ConfigError(f"run folder '{self.path}' has no checkpoint in {self.CHECKPOINTS}/: it did not finish an epoch (or ran with debug=fdr)")

    def is_own_checkpoint(self, checkpoint: Path) -> bool:
        """Whether ``checkpoint`` is the one the run itself is scored by: its best, or its last when it has no best
        (a checkpoint kept elsewhere counts as the run's own too)."""
        if checkpoint.parent.name != self.CHECKPOINTS or checkpoint.name.startswith(self.BEST_PREFIX):
            return True
        return checkpoint.name == self.LAST and not self.best_checkpoints()

    def evaluation_dir(self, checkpoint: Path) -> Path:
        """``evaluation/`` for the checkpoint the run itself is scored by, ``evaluation_<name>/`` for another."""
        return self.path / (self.EVALUATION if self.is_own_checkpoint(checkpoint) else f"{self.EVALUATION}_{checkpoint.stem}")

    def weights_label(self, checkpoint: Path) -> str:
        """Which weights ``checkpoint`` holds, in words for records and reports."""
        if checkpoint.name.startswith(self.BEST_PREFIX):
            return best_weights_label(self.selection_monitor())
        return "final weights" if checkpoint.name == self.LAST else f"checkpoint {checkpoint.name}"


def locate_run(path: str | Path) -> tuple[RunFolder, Path] | None:
    """(run folder, checkpoint) for a run folder or a ``.ckpt`` inside one; None if ``path`` is neither."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == CHECKPOINT_SUFFIX:
        run = RunFolder.of_checkpoint(path)
        if not run.is_run():
            raise ConfigError(f"checkpoint '{path}' is not inside a face2sketch run folder (no {run.config_file})")
        return run, path
    run = RunFolder(path)
    return (run, run.checkpoint_to_score()) if run.is_run() else None


def runs_under(folder: Path) -> list[RunFolder]:
    """The run folders directly inside ``folder`` (a multirun's sweep folder), in name order."""
    return [RunFolder(p.parent) for p in sorted(Path(folder).glob(f"*/{RunFolder.CONFIG}"))]


# validation metrics whose names are acronyms, written in capitals where records name them
ACRONYM_METRICS = ("ssim", "mse", "fsim", "scoot")


def best_weights_label(monitor: str | None) -> str:
    """How records name a best-by-validation checkpoint: "best by validation SSIM" for monitor val/ssim, "best by
    validation quality" for val/quality."""
    name = str(monitor or "val/ssim").removeprefix("val/")
    return f"best by validation {name.upper() if name in ACRONYM_METRICS else name.replace('_', ' ')}"


@dataclass(frozen=True)
class EvaluationFolder:
    """What ``evaluate`` writes for one model: scores, per-image rows, predictions, samples and, under conditions,
    the robustness record."""

    path: Path

    METRICS = "metrics.json"
    PER_IMAGE = "per_image.csv"
    PREDICTIONS = "predictions"
    SAMPLES = "samples"
    CONDITIONS = "conditions"
    ROBUSTNESS = "robustness"

    @property
    def metrics_file(self) -> Path:
        return self.path / self.METRICS

    @property
    def per_image_file(self) -> Path:
        return self.path / self.PER_IMAGE

    @property
    def predictions_dir(self) -> Path:
        return self.path / self.PREDICTIONS

    @property
    def samples_dir(self) -> Path:
        return self.path / self.SAMPLES

    def prediction(self, name: str) -> Path:
        return self.predictions_dir / f"{name}.png"

    def sample_input(self, name: str) -> Path:
        return self.samples_dir / f"{name}_input.png"

    def sample_target(self, name: str) -> Path:
        return self.samples_dir / f"{name}_target.png"

    def sample_names(self) -> list[str]:
        """The examples whose input and target were kept in ``samples/``, in name order."""
        return sorted(p.name.removesuffix("_input.png") for p in self.samples_dir.glob("*_input.png"))

    def condition_dir(self, condition: str) -> Path:
        return self.path / self.CONDITIONS / condition

    def condition_input(self, condition: str, name: str) -> Path:
        return self.condition_dir(condition) / f"{name}_input.png"

    def condition_target(self, condition: str, name: str) -> Path:
        """The target carried into a changed frame (the as-photographed set)."""
        return self.condition_dir(condition) / f"{name}_target.png"

    def condition_prediction(self, condition: str, name: str) -> Path:
        return self.condition_dir(condition) / f"{name}_prediction.png"

    def robustness_file(self, suffix: str) -> Path:
        """``robustness.json``, ``.csv``, ``.md`` or ``.png``."""
        return self.path / f"{self.ROBUSTNESS}.{suffix}"

    def metrics(self) -> dict[str, Any] | None:
        """The evaluation's summary, or None where there is none yet."""
        return dict(json.loads(self.metrics_file.read_text())) if self.metrics_file.is_file() else None
