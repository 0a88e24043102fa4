"""Test inputs under a condition: changed as a user's picture would be (a named condition set), or photographed
end to end and aligned by the eyes, with the transform that carries the stored target into the model's frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from face2sketch.core.directions import DIRECTIONS
from face2sketch.data.protocols import Item
from face2sketch.pictures.tensors import to_tensor
from face2sketch.realworld.conditions import Condition, input_under_condition
from face2sketch.realworld.photographed import Affine, carry_into, compose, photographed_scene, scale_to

if TYPE_CHECKING:
    # Lightning and torchmetrics are imported once a model is evaluated: a refusal (no such run) comes in a second
    from face2sketch.data.datamodule import PairedDataModule


@dataclass(frozen=True)
class ConditionedInputs:
    """The test inputs under one condition of a named set (``face2sketch.realworld.conditions``): each stored input is
    changed as a user's picture would be, then fitted to the model as any picture is. Targets stay as they are."""

    condition: str
    conditions: dict[str, Condition]
    seed: int

    def source(self, datamodule: PairedDataModule, value_range: tuple[float, float], index: int, item: Item) -> ChangedInput | None:
        kind = DIRECTIONS[datamodule.direction][0]
        changed = input_under_condition(item, kind, self.condition, self.conditions, self.seed, index)
        return ChangedInput(changed, to_tensor(datamodule.fit(changed, kind), value_range))


@dataclass(frozen=True)
class ChangedInput:
    """One test input under a condition: the picture a user would have, the model's input made from it and, when the
    model sees another frame than the stored photo's, the transform carrying the stored target into that frame."""

    picture: np.ndarray
    source: torch.Tensor
    carry: Affine | None = None


# the name of the end-to-end condition in a robustness report; seeded apart from the named set's conditions
AS_PHOTOGRAPHED = "as_photographed"


AS_PHOTOGRAPHED_SEED_INDEX = 1000


@dataclass(frozen=True)
class PhotographedInputs:
    """The end-to-end condition: each test photo as photographed (``photographed_scene``: tilted, any size and place in
    a larger picture of another background and light, JPEG), found and aligned by the eyes as ``predict`` does, and
    its true target carried into the aligned frame by the recorded transforms. Pictures without a usable face are
    counted and left out of the scores."""

    seed: int
    condition: str = AS_PHOTOGRAPHED

    def source(self, datamodule: PairedDataModule, value_range: tuple[float, float], index: int, item: Item) -> ChangedInput | None:
        from face2sketch.pictures.alignment import AlignmentFailed, align_faces

        photo = item.full_resolution("photo")
        rng = np.random.default_rng([self.seed, AS_PHOTOGRAPHED_SEED_INDEX, index])
        picture, placed = photographed_scene(photo, item.full_resolution_mask(), rng)
        try:
            aligned = align_faces(picture)[0]
        except AlignmentFailed:
            return None
        frame = (aligned.image.shape[1], aligned.image.shape[0])
        carry = compose(scale_to(frame, (photo.shape[1], photo.shape[0])), compose(aligned.transform, placed))
        return ChangedInput(picture, to_tensor(datamodule.fit(aligned.image, "photo"), value_range), carry)


def stored_target(datamodule: PairedDataModule, target: np.ndarray, kind: str, carry: Affine | None) -> np.ndarray:
    """The stored target in the model's channel layout, carried into a changed input's frame (at the stored size) when
    ``carry`` is given; outside the photo's frame a sketch is white paper."""
    laid_out = datamodule.sketch_layout(target) if kind == "sketch" else target
    if carry is None:
        return laid_out
    carried = carry_into(laid_out, carry, (target.shape[1], target.shape[0]), fill=255)
    return carried.reshape(laid_out.shape)  # OpenCV drops a single channel
