"""evaluate in process: an evaluation is published whole or not at all, and as-photographed inputs are aligned with their
true sketch carried into the aligned frame (the command: tests/commands/test_evaluate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


def _folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "metrics.json").write_text(text)
    return path


def test_publishing_an_evaluation_never_leaves_the_run_without_a_whole_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from face2sketch.evaluate import publish

    output = _folder(tmp_path / "evaluation", "old")
    staging = _folder(tmp_path / ".evaluation.new", "new")
    rename = Path.rename

    def killed_while_moving_the_new_one_in(self: Path, target: Path) -> Path:
        if self == staging:
            raise KeyboardInterrupt
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", killed_while_moving_the_new_one_in)
    with pytest.raises(KeyboardInterrupt):
        publish(staging, output)
    assert (output / "metrics.json").read_text() == "old"  # the earlier evaluation is back in place
    monkeypatch.setattr(Path, "rename", rename)
    # a hard kill after the earlier folder was set aside: the next publish restores it before anything else
    output.rename(tmp_path / ".evaluation.old")
    publish(staging, output)
    assert (output / "metrics.json").read_text() == "new"
    assert not (tmp_path / ".evaluation.old").exists() and not staging.exists()


def test_as_photographed_aligns_the_picture_and_carries_the_true_sketch_into_the_aligned_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a detector that finds the photo's eyes where the scene put them, the aligned frame is the stored photo's
    own: the carry is the identity and the carried sketch is the stored one. A wrong order of the transforms, a missing
    scale back to the stored size or the sketch carried on one side only would each move it."""
    from types import SimpleNamespace

    import numpy as np

    from face2sketch.data.alignment import cuhk_eyes
    from face2sketch.data.photographed import apply_affine, photographed_scene
    from face2sketch.evaluate import AS_PHOTOGRAPHED_SEED_INDEX, PhotographedInputs, stored_target
    from tests.inference_helpers import stub_detector
    from tests.studio import studio_pair
    from tests.test_alignment import face_at

    photo, sketch, person = studio_pair(250, 200)
    mask = person.astype(np.uint8) * 255
    picture, placed = photographed_scene(photo, mask, np.random.default_rng([5, AS_PHOTOGRAPHED_SEED_INDEX, 3]))
    eyes = apply_affine(placed, [cuhk_eyes().left, cuhk_eyes().right])
    stub_detector(monkeypatch, {(picture.shape[1], picture.shape[0]): [face_at(eyes.tolist())]})
    item = SimpleNamespace(full_resolution=lambda kind: photo, full_resolution_mask=lambda: mask)
    datamodule = SimpleNamespace(fit=lambda image, kind: image, sketch_layout=lambda image: image[..., None])
    changed = PhotographedInputs(seed=5).source(datamodule, (0.0, 1.0), 3, item)  # type: ignore[arg-type]
    assert changed is not None and np.array_equal(changed.picture, picture)
    # the identity up to the aligned frame's whole-pixel size (round(200 s) x round(250 s) for the face's scale s)
    np.testing.assert_allclose(changed.carry, [[1, 0, 0], [0, 1, 0]], atol=2e-3)
    channels, height, width = changed.source.shape  # the aligned face, in CUHK's frame at the picture's scale
    assert channels == 3 and height / width == pytest.approx(250 / 200, abs=0.01)
    carried = stored_target(datamodule, sketch, "sketch", changed.carry)  # type: ignore[arg-type]
    difference = np.abs(carried[..., 0].astype(int) - sketch)
    assert carried.shape == (250, 200, 1) and difference.mean() < 1.0 and np.median(difference) == 0


def test_as_photographed_leaves_out_a_picture_without_a_usable_face(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import numpy as np

    from face2sketch.evaluate import PhotographedInputs
    from tests.inference_helpers import stub_detector
    from tests.studio import studio_pair

    photo, _, person = studio_pair(250, 200)
    stub_detector(monkeypatch, {})
    item = SimpleNamespace(full_resolution=lambda kind: photo, full_resolution_mask=lambda: person.astype(np.uint8) * 255)
    datamodule = SimpleNamespace(fit=lambda image, kind: image)
    assert PhotographedInputs(seed=0).source(datamodule, (0.0, 1.0), 0, item) is None  # type: ignore[arg-type]
