"""Synthetic twins of the checks that otherwise only the real CUHK copy covers; they run everywhere.

A synthetic data set in the CUHK release layout (CUHK's file names, 200x250 pictures) stands in for the release, and a
detector stub that returns a known box stands in for OpenCV's face detector. The real-data versions stay where they
are (test_alignment, test_datamodule, test_pairing, test_predict, test_demo) and run when the data is present.
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

import face2sketch.data.alignment as alignment
from face2sketch.data import FolderPairsDataModule, find_pairs, photo_key, sketch_key
from face2sketch.data.alignment import align_face, cuhk_framing, measure_framing
from face2sketch.data.synthetic import write_synthetic_dataset
from face2sketch.demo import DemoTranslation
from face2sketch.inference import load_translator
from face2sketch.predict import predict
from tests.inference_helpers import assert_predict_reproduces_evaluate, face_like_picture, make_run, save_picture

FOLDERS = ("Training photo", "Training sketch", "Testing photo", "Testing sketch")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 training and 6 testing identities in the CUHK release layout, with CUHK's names (F2-/M2- training sketches)."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("release") / "cuhk", num_train=8, num_test=6, layout="cuhk_release", seed=3)


def stub_detector(monkeypatch: pytest.MonkeyPatch, boxes: dict[tuple[int, int], tuple[int, int, int, int] | None]) -> None:
    """Replace the face detector: a picture of size (width, height) in ``boxes`` has its face there."""
    monkeypatch.setattr(alignment, "detect_largest_face", lambda image: boxes.get((image.shape[1], image.shape[0])))


# -- pairing and splits (twins of test_pairing's and test_datamodule's real-data tests) ----------------------------------
def test_release_names_pair_completely(release: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        pairs = find_pairs(release)
    assert len(pairs) == 14 and sum(p.split == "train" for p in pairs) == 8 and sum(p.split == "test" for p in pairs) == 6
    assert "no partner" not in caplog.text
    assert all(photo_key(p.photo) == sketch_key(p.sketch) == p.key for p in pairs)
    train_sketch = next(p for p in pairs if p.split == "train").sketch.name
    assert train_sketch[:3] in ("F2-", "M2-") and train_sketch.endswith("-sz1.jpg")


def test_a_lower_cased_copy_of_the_release_layout_pairs_the_same(release: Path, tmp_path: Path) -> None:
    for folder in FOLDERS:
        (tmp_path / folder.lower()).mkdir()
        for file in (release / folder).iterdir():
            shutil.copy(file, tmp_path / folder.lower() / file.name.lower())
    assert any(name[0].isupper() for name in (p.name for p in (release / "Training sketch").iterdir()))  # the copy changes names
    original = sorted((p.key, p.split) for p in find_pairs(release))
    lowered = find_pairs(tmp_path)
    assert sorted((p.key, p.split) for p in lowered) == original
    assert all(photo_key(p.photo) == sketch_key(p.sketch) for p in lowered)


def test_standard_protocol_keeps_the_release_split_without_shared_identities(release: Path) -> None:
    dm = FolderPairsDataModule(root=str(release), image_size=32, split="standard", seed=7)
    dm.setup()
    s = dm.splits
    keys = lambda items: {i.key for i in items}  # noqa: E731
    assert len(s.train) + len(s.val) == 8 and len(s.test) == 6 and not s.leaky
    assert keys(s.test) == {p.key for p in find_pairs(release) if p.split == "test"}
    assert not (keys(s.train) & keys(s.test)) and not (keys(s.val) & keys(s.test)) and not (keys(s.train) & keys(s.val))


def test_paper_protocol_on_the_release_layout_is_eight_copies_split_and_leaky(release: Path) -> None:
    dm = FolderPairsDataModule(root=str(release), image_size=16, split="paper", seed=7)
    dm.setup()
    s = dm.splits
    variants = s.train + s.val + s.test
    assert len({i.name for i in variants}) == len(variants) == 14 * 8
    assert s.leaky and {i.key for i in s.train} & {i.key for i in s.test}


# -- the face-detection crop path (twins of test_alignment's, and of predict's and the demo's with a real face) ------------
def test_the_framing_is_the_median_of_the_detected_boxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boxes = [(50, 60, 100, 120), (56, 70, 90, 110), (44, 64, 110, 126), None, (52, 58, 96, 118)]
    photos = []
    for index, _box in enumerate(boxes):
        width = 200 + index  # each photo its own size, so the stub can tell them apart
        photos.append(save_picture(tmp_path / f"f-{index:03d}-01.png", face_like_picture(width, 250, seed=index)))
    stub_detector(monkeypatch, {(200 + i, 250): box for i, box in enumerate(boxes)})
    measured = measure_framing(photos)
    found = [(box, 200 + i) for i, box in enumerate(boxes) if box is not None]
    expected = {
        "center_x": statistics.median((left + w / 2) / width for (left, _, w, _), width in found),
        "center_y": statistics.median((top + h / 2) / 250 for (_, top, _, h), _ in found),
        "width": statistics.median(w / width for (_, _, w, _), width in found),
        "height": statistics.median(h / 250 for (_, _, _, h), _ in found),
    }
    assert measured["median"] == pytest.approx(expected, abs=1e-5)
    assert measured["photos"] == 5 and measured["faces_found"] == 4


def framed(box: tuple[int, int, int, int], crop: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """Where ``box`` sits in ``crop``: centre and size as fractions of the crop (what cuhk_framing stores)."""
    left, top, w, h = box
    c_left, c_top, c_w, c_h = crop
    return (left + w / 2 - c_left) / c_w, (top + h / 2 - c_top) / c_h, w / c_w, h / c_h


def test_an_aligned_crop_frames_the_detected_face_as_a_cuhk_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    canvas = face_like_picture(640, 520, seed=5)
    box = (300, 150, 110, 130)
    stub_detector(monkeypatch, {(640, 520): box})
    aligned = align_face(canvas)
    framing = cuhk_framing()
    assert aligned.face_found
    cx, cy, w, h = framed(box, aligned.crop)
    assert (cx, cy, w, h) == pytest.approx((framing.center_x, framing.center_y, framing.width, framing.height), abs=0.01)
    left, top, crop_w, crop_h = aligned.crop
    assert left >= 0 and top >= 0 and left + crop_w <= 640 and top + crop_h <= 520  # inside: a plain slice of the picture
    assert np.array_equal(aligned.image, canvas[top : top + crop_h, left : left + crop_w])


def test_predict_with_alignment_translates_the_crop_around_the_detected_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run", "data=synthetic", "data.image_size=32", "model=conv_ae")
    save_picture(tmp_path / "in.png", face_like_picture(640, 520, seed=6))
    box = (300, 150, 110, 130)
    stub_detector(monkeypatch, {(640, 520): box})
    result = predict(
        OmegaConf.create(
            {
                "ckpt": str(run),
                "input": str(tmp_path / "in.png"),
                "output": str(tmp_path / "out"),
                "align": True,
                "side_by_side": False,
                "batch_size": 4,
                "device": "cpu",
            }
        )
    )
    (item,) = result["items"]
    crop = cuhk_framing().crop_for(box)
    assert item["face_found"] is True and item["crop"] == list(crop)
    assert Image.open(tmp_path / "out" / "in.png").size == (crop[2], crop[3])  # the translation of the crop, at its size
    saved = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert saved["items"][0]["crop"] == list(crop)


def test_the_demo_shows_and_translates_the_crop_around_the_detected_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run", "data=synthetic", "data.image_size=32", "model=conv_ae")
    picture = save_picture(tmp_path / "upload.png", face_like_picture(640, 520, seed=7))
    box = (300, 150, 110, 130)
    stub_detector(monkeypatch, {(640, 520): box})
    region, result, status = DemoTranslation(load_translator(run, device="cpu"), align=True).translate_upload(str(picture))
    left, top, width, height = cuhk_framing().crop_for(box)
    assert status == f"face found: translated the crop left={left}, top={top}, {width}x{height} px"
    assert region.shape == result.shape == (height, width, 3)
    assert np.array_equal(region, np.asarray(Image.open(picture))[top : top + height, left : left + width])


# -- predict and evaluate prepare a picture the same way (twin of test_predict's real-data test) -----------------------
def test_predict_without_alignment_reproduces_evaluate_on_release_test_photos(release: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", f"data.root={release}", "data.image_size=64", "model=conv_ae", "direction=f2sk")
    assert_predict_reproduces_evaluate(run, release / "Testing photo", tmp_path / "out", expected_count=6)
