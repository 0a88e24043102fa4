"""The run folder and the evaluation folder: each file's name, which checkpoint a run is scored by, which evaluation
folder each checkpoint's scores go into, and how records name the weights (the folders as evaluate writes them:
tests/evaluation/test_evaluate.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import EvaluationFolder, RunFolder, best_weights_label, locate_run, runs_under


def run_with(folder: Path, *checkpoints: str, config: str = "seed: 0\n") -> RunFolder:
    """A run folder with its config and the named (empty) checkpoint files."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.yaml").write_text(config)
    for name in checkpoints:
        (folder / "checkpoints" / name).write_bytes(b"")
    return RunFolder(folder)


def test_each_file_of_a_run_folder_has_its_documented_name(tmp_path: Path) -> None:
    """A renamed file would leave every reader (evaluate, export, report, resume) looking in the wrong place."""
    run = RunFolder(tmp_path)
    names = (run.config_file, run.metrics_file, run.examples_file, run.skipped_file, run.checkpoints_dir, run.last_checkpoint, run.tensorboard_dir)
    assert [p.relative_to(tmp_path).as_posix() for p in names] == [
        "config.yaml",
        "metrics.json",
        "examples.json",
        "skipped.json",
        "checkpoints",
        "checkpoints/last.ckpt",
        "tensorboard",
    ]
    assert run.overrides_file == tmp_path / ".hydra" / "overrides.yaml"
    assert RunFolder.of_checkpoint(tmp_path / "checkpoints" / "last.ckpt") == run


def test_each_file_of_an_evaluation_folder_has_its_documented_name(tmp_path: Path) -> None:
    folder = EvaluationFolder(tmp_path)
    paths = {
        folder.metrics_file: "metrics.json",
        folder.per_image_file: "per_image.csv",
        folder.prediction("f-001"): "predictions/f-001.png",
        folder.sample_input("f-001"): "samples/f-001_input.png",
        folder.sample_target("f-001"): "samples/f-001_target.png",
        folder.condition_input("dark_wall", "f-001"): "conditions/dark_wall/f-001_input.png",
        folder.condition_target("dark_wall", "f-001"): "conditions/dark_wall/f-001_target.png",
        folder.condition_prediction("dark_wall", "f-001"): "conditions/dark_wall/f-001_prediction.png",
        folder.robustness_file("md"): "robustness.md",
    }
    assert {p.relative_to(tmp_path).as_posix(): name for p, name in paths.items()} == {name: name for name in paths.values()}
    assert folder.metrics() is None  # nothing evaluated yet
    folder.samples_dir.mkdir()
    for name in ("m-2", "f-1"):
        folder.sample_input(name).write_bytes(b"")
        folder.sample_target(name).write_bytes(b"")
    assert folder.sample_names() == ["f-1", "m-2"]
    folder.metrics_file.write_text('{"num_images": 4}')
    assert folder.metrics() == {"num_images": 4}


def test_a_run_is_scored_by_its_newest_best_checkpoint_else_its_last(tmp_path: Path) -> None:
    run = run_with(tmp_path / "run", "best-epoch002.ckpt", "best-epoch010.ckpt", "last.ckpt")
    assert run.checkpoint_to_score() == run.checkpoints_dir / "best-epoch010.ckpt"
    assert run_with(tmp_path / "no_best", "last.ckpt").checkpoint_to_score() == tmp_path / "no_best" / "checkpoints" / "last.ckpt"
    message = f"run folder '{tmp_path / 'none'}' has no checkpoint in checkpoints/: it did not finish an epoch (or ran with debug=fdr)"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):  # whole: it says why and which folder
        run_with(tmp_path / "none").checkpoint_to_score()


@pytest.mark.parametrize(
    ("checkpoints", "scored", "folder"),
    [
        (("best-epoch003.ckpt", "last.ckpt"), "best-epoch003.ckpt", "evaluation"),
        (("best-epoch003.ckpt", "last.ckpt"), "last.ckpt", "evaluation_last"),
        (("last.ckpt",), "last.ckpt", "evaluation"),
        (("best-epoch003.ckpt", "last.ckpt", "epoch=7.ckpt"), "epoch=7.ckpt", "evaluation_epoch=7"),
        (("last.ckpt", "epoch=7.ckpt"), "epoch=7.ckpt", "evaluation_epoch=7"),
    ],
    ids=["best", "last_beside_a_best", "last_alone", "another_beside_a_best", "another_beside_last"],
)
def test_each_checkpoint_gets_its_own_evaluation_folder_and_the_runs_own_gets_evaluation(
    tmp_path: Path, checkpoints: tuple[str, ...], scored: str, folder: str
) -> None:
    """Guards against last.ckpt's scores written into the folder of the best checkpoint (the run's own, which the
    report reads) when the run has a best one."""
    run = run_with(tmp_path / "run", *checkpoints)
    assert run.evaluation_dir(run.checkpoints_dir / scored) == tmp_path / "run" / folder


def test_a_checkpoint_kept_outside_the_checkpoints_folder_counts_as_the_runs_own(tmp_path: Path) -> None:
    run = run_with(tmp_path / "run", "best-epoch001.ckpt", "last.ckpt")
    assert run.is_own_checkpoint(tmp_path / "run" / "kept" / "last.ckpt")
    assert run.evaluation_dir(tmp_path / "run" / "kept" / "last.ckpt") == tmp_path / "run" / "evaluation"
    assert not run.is_own_checkpoint(run.last_checkpoint) and run.is_own_checkpoint(run.checkpoints_dir / "best-epoch001.ckpt")


def test_records_name_the_weights_a_checkpoint_holds(tmp_path: Path) -> None:
    run = run_with(tmp_path / "run", "best-epoch001.ckpt", "last.ckpt", config="callbacks:\n  model_checkpoint:\n    monitor: val/quality\n")
    assert run.selection_monitor() == "val/quality"
    assert run.weights_label(run.checkpoints_dir / "best-epoch001.ckpt") == "best by validation quality"
    assert run.weights_label(run.last_checkpoint) == "final weights"
    assert run.weights_label(run.checkpoints_dir / "epoch=7.ckpt") == "checkpoint epoch=7.ckpt"
    plain = run_with(tmp_path / "plain", "best-epoch001.ckpt")  # no monitor recorded: validation SSIM, the default
    assert plain.selection_monitor() is None and plain.weights_label(plain.checkpoints_dir / "best-epoch001.ckpt") == "best by validation SSIM"


@pytest.mark.parametrize(
    ("monitor", "label"),
    [
        ("val/ssim", "best by validation SSIM"),
        ("val/mse", "best by validation MSE"),
        ("val/fsim", "best by validation FSIM"),
        ("val/scoot", "best by validation SCOOT"),
        ("val/quality", "best by validation quality"),
        ("val/real_fsim", "best by validation real fsim"),
        (None, "best by validation SSIM"),
    ],
)
def test_a_best_checkpoint_is_named_by_its_validation_metric_with_acronyms_in_capitals(monitor: str | None, label: str) -> None:
    assert best_weights_label(monitor) == label


def test_a_run_folder_a_checkpoint_inside_one_and_a_multirun_folder_are_told_apart(tmp_path: Path) -> None:
    first = run_with(tmp_path / "sweep" / "1_conv_ae", "last.ckpt")
    second = run_with(tmp_path / "sweep" / "0_pix2pix", "best-epoch004.ckpt", "last.ckpt")
    (tmp_path / "sweep" / "report").mkdir()  # a folder without a config is no run
    assert runs_under(tmp_path / "sweep") == [second, first]  # in name order
    assert locate_run(tmp_path / "sweep" / "0_pix2pix") == (second, second.checkpoints_dir / "best-epoch004.ckpt")
    assert locate_run(second.last_checkpoint) == (second, second.last_checkpoint)
    assert locate_run(tmp_path / "sweep") is None
    stray = tmp_path / "elsewhere" / "checkpoints" / "model.ckpt"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"")
    message = f"checkpoint '{stray}' is not inside a face2sketch run folder (no {tmp_path / 'elsewhere' / 'config.yaml'})"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        locate_run(stray)


def test_a_folder_holding_only_what_a_run_writes_before_its_first_checkpoint_is_unfinished(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    for name in (".hydra", "tensorboard", "csv"):
        (run.path / name).mkdir()
    for name in ("train.log", "config.yaml", "skipped.json", "examples.json"):
        (run.path / name).write_text("")
    assert run.is_unfinished() and run.missing("config.yaml", "metrics.json", "examples.json") == ["metrics.json"]
    run.checkpoints_dir.mkdir()
    assert not run.is_unfinished()
    assert not RunFolder(tmp_path / "absent").is_unfinished()


def test_a_runs_records_are_read_from_its_files_and_a_folder_without_them_reads_as_empty(tmp_path: Path) -> None:
    run = run_with(tmp_path / "run", "last.ckpt", config="seed: 7\ncallbacks:\n  model_checkpoint:\n    monitor: val/fsim\n")
    (run.path / ".hydra").mkdir()
    run.overrides_file.write_text("- model=pix2pix\n- seed=7\n")
    run.metrics_file.write_text('{"epochs": 3}')
    run.examples_file.write_text('{"train": ["a"]}')
    assert (run.config().seed, run.selection_monitor(), run.overrides()) == (7, "val/fsim", ["model=pix2pix", "seed=7"])
    assert (run.metrics(), run.examples()) == ({"epochs": 3}, {"train": ["a"]})
    empty = RunFolder(tmp_path / "empty")
    assert (dict(empty.config()), empty.overrides(), empty.is_run()) == ({}, [], False)


def test_a_run_folder_named_from_the_home_folder_is_a_path_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``~`` is expanded and a string becomes a Path, so every file name below is joined onto a real folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    run = RunFolder("~/runs/r1")  # type: ignore[arg-type]
    assert run.path == tmp_path / "runs" / "r1" and run.config_file == tmp_path / "runs" / "r1" / "config.yaml"


def test_a_checkpoint_path_that_does_not_exist_is_no_run_rather_than_a_checkpoint_outside_one(tmp_path: Path) -> None:
    """The caller names what was given ('not a run folder, a .ckpt ...'); a missing .ckpt is not a stray checkpoint."""
    assert locate_run(tmp_path / "missing.ckpt") is None


def test_a_run_trained_before_its_classes_moved_names_each_class_where_it_is_now(tmp_path: Path) -> None:
    """Guards evaluate failing on every run trained before the real-world code moved to ``face2sketch/realworld/``: the
    ``_target_`` its config.yaml recorded then is read as the class's new home, which instantiates."""
    from hydra.utils import get_class

    (tmp_path / RunFolder.CONFIG).write_text(
        "data:\n  conditions:\n    _target_: face2sketch.data.augmentation.RealWorldAugmentation\n  note: face2sketch.data.augmentation stays\n"
        "callbacks:\n  model_checkpoint:\n    _target_: face2sketch.callbacks.checkpoints.BestCheckpoint\n"
        "logger:\n- _target_: face2sketch.loggers.BackgroundTensorBoardLogger\n"
    )
    cfg = RunFolder(tmp_path).config()
    assert cfg.data.conditions._target_ == "face2sketch.realworld.augmentation.RealWorldAugmentation"
    assert cfg.data.note == "face2sketch.data.augmentation stays", "only class names under _target_ are read anew"
    assert get_class(cfg.data.conditions._target_).__name__ == "RealWorldAugmentation"
    assert cfg.callbacks.model_checkpoint._target_ == "face2sketch.training.callbacks.checkpoints.BestCheckpoint"
    assert get_class(cfg.logger[0]._target_).__name__ == "BackgroundTensorBoardLogger"


def test_a_run_that_recorded_its_augmentation_as_data_conditions_builds_its_data_module_with_it(tmp_path: Path) -> None:
    """Guards evaluate failing on runs trained before ``augmentation=`` wrote ``data.augmentation``: a data module's
    recorded ``conditions`` is read as ``augmentation``, and the data module takes it; other nodes keep their keys."""
    from hydra.utils import instantiate

    (tmp_path / RunFolder.CONFIG).write_text(
        "data:\n  _target_: face2sketch.data.SyntheticPairsDataModule\n  num_train: 4\n  num_test: 2\n  image_size: 32\n"
        "  conditions:\n    _target_: face2sketch.data.augmentation.RealWorldAugmentation\n    p_flip: 0.25\n"
        "other:\n  conditions: kept\n"
    )
    cfg = RunFolder(tmp_path).config()
    assert "conditions" not in cfg.data and cfg.data.augmentation.p_flip == 0.25
    assert cfg.other.conditions == "kept"
    datamodule = instantiate(cfg.data)
    assert type(datamodule.augmentation).__name__ == "RealWorldAugmentation" and datamodule.augmentation.p_flip == 0.25
