"""The validation quality a checkpoint is chosen by (``callbacks/quality.py``): FSIMc for photos, FSIM and SCOOT for
sketches, per image over the epoch, on clean and real-condition inputs."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from face2sketch.metrics.per_image import fsim
from face2sketch.metrics.scoot import scoot
from face2sketch.training.callbacks.quality import ValidationFSIM


class _Recorder:
    """The parts of a LightningModule that ValidationFSIM uses: [0, 1] images and a log."""

    def __init__(self) -> None:
        self.logged: dict[str, float] = {}
        self.options: dict[str, dict[str, Any]] = {}

    def to_unit_range(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def log(self, name: str, value: float, **kwargs: Any) -> None:
        self.logged[name] = value
        self.options[name] = kwargs


def test_validation_quality_is_the_mean_of_the_clean_and_the_real_condition_scores() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(3, 1, 48, 48, generator=generator)
    blurred = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1)
    callback, module = ValidationFSIM("f2sk"), _Recorder()
    callback.on_validation_epoch_start(None, module)  # type: ignore[arg-type]
    callback.on_validation_batch_end(None, module, target, {"target": target}, 0, 0)  # type: ignore[arg-type]
    callback.on_validation_batch_end(None, module, blurred, {"target": target}, 0, 1)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(None, module)  # type: ignore[arg-type]
    logged = module.logged
    assert logged["val/fsim"] == pytest.approx(1.0) and logged["val/scoot"] == pytest.approx(1.0)
    assert logged["val/fsim_real"] == pytest.approx(float(fsim(blurred, target, chromatic=False).mean()))
    assert logged["val/scoot_real"] == pytest.approx(float(scoot(blurred, target).mean()))
    parts = [logged[name] for name in ("val/fsim", "val/scoot", "val/fsim_real", "val/scoot_real")]
    assert logged["val/quality"] == pytest.approx(sum(parts) / 4) and logged["val/quality"] < 1.0


def test_without_a_real_conditions_loader_there_is_no_quality() -> None:
    target = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    callback, module = ValidationFSIM("sk2f"), _Recorder()
    callback.on_validation_epoch_start(None, module)  # type: ignore[arg-type]
    callback.on_validation_batch_end(None, module, target, {"target": target}, 0, 0)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(None, module)  # type: ignore[arg-type]
    assert module.logged == {"val/fsim": pytest.approx(1.0)}


def _colour_shifted_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """A structured colour picture (the target) and a copy shifted along a colour direction of no luminance (YIQ's Y
    unchanged): FSIM sees no difference between them, FSIMc does (``test_metrics.py``)."""
    base = torch.nn.functional.avg_pool2d(torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)), 5, 1, 2) * 0.5 + 0.25
    shift = torch.tensor([0.1, -0.299 * 0.1 / 0.587, 0.0]).view(1, 3, 1, 1)  # 0.299 dR + 0.587 dG + 0.114 dB = 0
    return base + shift, base


def _epoch(callback: ValidationFSIM, module: _Recorder, batches: list[tuple[torch.Tensor, torch.Tensor, int]]) -> dict[str, float]:
    """One validation epoch over (prediction, target, dataloader index) batches; what the callback logged."""
    callback.on_validation_epoch_start(None, module)  # type: ignore[arg-type]
    for index, (prediction, target, dataloader_idx) in enumerate(batches):
        callback.on_validation_batch_end(None, module, prediction, {"target": target}, index, dataloader_idx)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(None, module)  # type: ignore[arg-type]
    return dict(module.logged)


@pytest.mark.parametrize(("direction", "chromatic"), [("sk2f", True), ("f2sk", False)])
def test_photos_are_scored_with_fsimc_and_sketches_with_fsim(direction: str, chromatic: bool) -> None:
    """Guards the metric's flag by direction (``self.chromatic = direction == "f2sk"`` would score colour photos with
    plain FSIM and sketches with FSIMc): a colour target and a prediction that differs in colour only, where the two
    metrics disagree."""
    prediction, target = _colour_shifted_pair()
    luminance, colour = float(fsim(prediction, target, chromatic=False).mean()), float(fsim(prediction, target, chromatic=True).mean())
    assert luminance == pytest.approx(1.0, abs=1e-4) and colour < 0.97, "the pair tells the two metrics apart"
    logged = _epoch(ValidationFSIM(direction), _Recorder(), [(prediction, target, 0)])
    assert logged["val/fsim"] == pytest.approx(colour if chromatic else luminance, abs=1e-6)
    assert set(logged) == ({"val/fsim"} if chromatic else {"val/fsim", "val/scoot"}), "SCOOT for sketches only"
    if not chromatic:
        assert logged["val/scoot"] == pytest.approx(float(scoot(prediction, target).mean()), abs=1e-6)


def test_the_epochs_score_is_the_mean_over_images_not_over_batches_and_starts_afresh_each_epoch() -> None:
    """Guards the count (``+= 1`` a batch would weigh a batch of one like a batch of three) and the reset at each
    epoch's start (a second epoch averaged with the first)."""
    target = torch.rand(4, 1, 48, 48, generator=torch.Generator().manual_seed(2))
    blurred = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1)
    callback, module = ValidationFSIM("f2sk"), _Recorder()
    first = _epoch(callback, module, [(target[:1], target[:1], 0), (blurred[1:], target[1:], 0)])
    blurred_scores = fsim(blurred[1:], target[1:], chromatic=False)
    assert first["val/fsim"] == pytest.approx((1.0 + float(blurred_scores.sum())) / 4, abs=1e-6)
    assert first["val/scoot"] == pytest.approx((1.0 + float(scoot(blurred[1:], target[1:]).sum())) / 4, abs=1e-6)
    second = _epoch(callback, module, [(target, target, 0)])
    assert second["val/fsim"] == pytest.approx(1.0) and second["val/scoot"] == pytest.approx(1.0)


def test_the_clean_and_the_quality_scores_are_shown_in_the_progress_bar_and_every_score_is_synchronised() -> None:
    """Guards the logging options: ``sync_dist`` (each DDP process would choose by its own share of the images), no
    dataloader suffix (the checkpoint monitors ``val/quality`` by that exact name) and the progress bar's two scores."""
    target = torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(3))
    module = _Recorder()
    _epoch(ValidationFSIM("f2sk"), module, [(target, target, 0), (target, target, 1)])
    assert set(module.options) == {"val/fsim", "val/scoot", "val/fsim_real", "val/scoot_real", "val/quality"}
    for name, options in module.options.items():
        assert options == {"prog_bar": name in ("val/fsim", "val/quality"), "sync_dist": True, "add_dataloader_idx": False}, name


def test_a_batch_from_a_single_validation_loader_counts_as_clean() -> None:
    """Guards the default ``dataloader_idx=0``: Lightning leaves it out with one validation loader."""
    target = torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(4))
    callback, module = ValidationFSIM("f2sk"), _Recorder()
    callback.on_validation_epoch_start(None, module)  # type: ignore[arg-type]
    callback.on_validation_batch_end(None, module, target, {"target": target}, 0)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(None, module)  # type: ignore[arg-type]
    assert module.logged == {"val/fsim": pytest.approx(1.0), "val/scoot": pytest.approx(1.0)}
