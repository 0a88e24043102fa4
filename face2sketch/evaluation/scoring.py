"""Scoring a model on its test split in batches: predictions at the resolution asked for, every metric per image,
and the predictions and samples saved beside the scores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import DictConfig
from PIL import Image

from face2sketch.core.directions import DIRECTIONS
from face2sketch.core.run_folder import EvaluationFolder
from face2sketch.data.protocols import Item
from face2sketch.evaluation.inputs import ChangedInput, ConditionedInputs, PhotographedInputs, stored_target
from face2sketch.evaluation.subjects import Subject
from face2sketch.pictures.tensors import resize_prediction, save_image, to_tensor, unit_range
from face2sketch.realworld.photographed import Affine

if TYPE_CHECKING:
    # Lightning and torchmetrics are imported once a model is evaluated: a refusal (no such run) comes in a second
    from face2sketch.data.datamodule import PairedDataModule
    from face2sketch.metrics.image_sets import ImageSetEvaluator


def score(
    subject: Subject, cfg_eval: DictConfig, staging: Path, inputs: ConditionedInputs | PhotographedInputs | None = None
) -> tuple[list[dict[str, Any]], ImageSetEvaluator]:
    """Predict the test split in batches and score each prediction; predictions and samples go into ``staging``.

    With ``inputs`` the test inputs are changed by that condition first (those it cannot use are left out), and only
    the samples are saved (the changed input and the prediction, in ``conditions/<condition>/``).
    """
    translator, datamodule = subject.translator, subject.datamodule
    value_range = translator.spec.value_range
    target_kind = DIRECTIONS[translator.spec.direction][1]
    dataset = datamodule.dataset(str(cfg_eval.split))
    from face2sketch.metrics.image_sets import ImageSetEvaluator

    evaluator = ImageSetEvaluator(target_kind)
    rows: list[dict[str, Any]] = []
    sample_names = set(sorted(item.name for item in dataset.items)[: cfg_eval.num_samples])
    for start in range(0, len(dataset), cfg_eval.batch_size):
        items = dataset.items[start : start + cfg_eval.batch_size]
        batch = [dataset[start + k] for k in range(len(items))]
        changed = [inputs.source(datamodule, value_range, start + k, item) for k, item in enumerate(items)] if inputs else [None] * len(items)
        kept = [k for k in range(len(items)) if inputs is None or changed[k] is not None]
        if not kept:
            continue
        sources = [changed[k].source if changed[k] else batch[k]["source"] for k in kept]  # type: ignore[union-attr]
        predictions = torch.from_numpy(translator.translate(torch.stack(sources).numpy()))
        for k, raw in zip(kept, predictions, strict=True):
            item, change = items[k], changed[k]
            target, prediction = scored_pair(datamodule, cfg_eval, item, batch[k], raw, change.carry if change else None)
            rows.append({"name": item.name, "identity": item.key, "variant": item.variant, **evaluator.update(prediction[None], target[None])[0]})
            if item.name in sample_names or (inputs is None and cfg_eval.save_predictions):
                save_outputs(staging, inputs, item, batch[k], change, target, prediction, cfg_eval, item.name in sample_names, value_range)
    return rows, evaluator


def scored_pair(
    datamodule: PairedDataModule, cfg_eval: DictConfig, item: Item, sample: dict, prediction: torch.Tensor, carry: Affine | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(target, prediction) in [0, 1] as they are scored: at the target's stored resolution (``resolution=original``,
    the prediction resized to it) or the model's; a changed input's target carried into its frame first."""
    target_kind = DIRECTIONS[datamodule.direction][1]
    if cfg_eval.resolution == "original":
        target = to_tensor(stored_target(datamodule, item.full_resolution(target_kind), target_kind, carry), (0.0, 1.0))
        return target, resize_prediction(prediction, (target.shape[-2], target.shape[-1]))
    if carry is not None:
        carried = stored_target(datamodule, item.full_resolution(target_kind), target_kind, carry)
        # fit lays a sketch out in the model's channels itself: give it the carried grey plane, not the laid-out copy
        return to_tensor(datamodule.fit(carried[..., 0] if target_kind == "sketch" else carried, target_kind), (0.0, 1.0)), prediction
    return unit_range(sample["target"], datamodule.value_range), prediction


def save_outputs(
    staging: Path,
    inputs: ConditionedInputs | PhotographedInputs | None,
    item: Item,
    sample: dict,
    change: ChangedInput | None,
    target: torch.Tensor,
    prediction: torch.Tensor,
    cfg_eval: DictConfig,
    is_sample: bool,
    value_range: tuple[float, float],
) -> None:
    """A clean prediction into predictions/ (with ``save_predictions``) and a sample's input and target into samples/;
    under a condition, a sample's changed input, prediction and (for a changed frame) carried target."""
    folder = EvaluationFolder(staging)
    if inputs is not None and change is not None:
        folder.condition_dir(inputs.condition).mkdir(parents=True, exist_ok=True)
        Image.fromarray(change.picture).save(folder.condition_input(inputs.condition, item.name))
        if change.carry is not None:
            save_image(folder.condition_target(inputs.condition, item.name), target)
        save_image(folder.condition_prediction(inputs.condition, item.name), prediction)
        return
    if cfg_eval.save_predictions:
        save_image(folder.prediction(item.name), prediction)
    if is_sample:
        save_image(folder.sample_input(item.name), unit_range(sample["source"], value_range))
        save_image(folder.sample_target(item.name), target)


def means_of(evaluator: ImageSetEvaluator) -> dict[str, float]:
    """Each metric's mean over the images, for the metrics that have one."""
    return {name: r.mean for name, r in evaluator.compute().items() if r.mean is not None}
