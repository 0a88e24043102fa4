"""Synthetic twins of the checks that otherwise only the real CUHK copy covers; they run everywhere.

A synthetic data set in the CUHK release layout (CUHK's file names, 200x250 pictures) stands in for the release, and a
detector stub that returns a known face stands in for the face detector. The real-data versions stay where they
are (test_alignment, test_datamodule, test_pairing, test_predict, test_demo) and run when the data is present.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from face2sketch.data import FolderPairsDataModule, find_pairs, photo_key, sketch_key
from face2sketch.data.synthetic import write_synthetic_dataset
from face2sketch.demo import DemoTranslation
from face2sketch.inference.api import load
from face2sketch.pictures.alignment import cuhk_eyes
from face2sketch.pictures.face_detection import Face
from face2sketch.predict import predict
from tests.helpers.inference import assert_predict_reproduces_evaluate, faceless_picture, make_run, save_picture, stub_detector

FOLDERS = ("Training photo", "Training sketch", "Testing photo", "Testing sketch")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 training and 6 testing identities in the CUHK release layout, with CUHK's names (F2-/M2- training sketches)."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("release") / "cuhk", num_train=8, num_test=6, layout="cuhk_release", seed=3)


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


# -- the aligned face in predict and the demo (twins of their real-data checks; alignment's own are in test_alignment) -----
def tilted_face() -> Face:
    """Eyes 1.5 times CUHK's distance apart, tilted by 10 degrees, in a 640x520 picture."""
    gap = cuhk_eyes().distance * 1.5
    left = np.array([260.0, 200.0])
    return Face(np.array([left, left + gap * np.array([np.cos(np.radians(10)), np.sin(np.radians(10))])]), (220.0, 140.0, 160.0, 190.0), 0.98)


def test_predict_with_alignment_translates_the_upright_face_and_records_its_transform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run", "data=synthetic", "data.image_size=32", "model=conv_ae")
    save_picture(tmp_path / "in.png", faceless_picture(640, 520, seed=6))
    face = tilted_face()
    stub_detector(monkeypatch, {(640, 520): [face]})
    settings = {"ckpt": str(run), "input": str(tmp_path / "in.png"), "output": str(tmp_path / "out"), "align": True, "side_by_side": False}
    result = predict(OmegaConf.create({**settings, "batch_size": 4, "device": "cpu"}))
    (item,) = result["items"]
    transform, size = cuhk_eyes().transform_for(face.eyes)
    assert item["face_found"] is True and item["size"] == [300, 375] == list(size) and item["eyes"] == np.round(face.eyes, 2).tolist()
    np.testing.assert_allclose(item["transform"], transform, atol=1e-6)
    assert Image.open(tmp_path / "out" / "in.png").size == (300, 375)  # the translation of the aligned face, at its size
    saved = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert saved["items"][0]["transform"] == item["transform"]


def test_the_demo_shows_and_translates_the_upright_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run", "data=synthetic", "data.image_size=32", "model=conv_ae")
    picture = save_picture(tmp_path / "upload.png", faceless_picture(640, 520, seed=7))
    face = tilted_face()
    stub_detector(monkeypatch, {(640, 520): [face]})
    region, result, status = DemoTranslation(load(run, align=True, device="cpu")).translate_upload(str(picture))
    (left_x, left_y), (right_x, right_y) = face.eyes
    assert status == f"face found (score 0.98), eyes at ({left_x:.0f}, {left_y:.0f}) and ({right_x:.0f}, {right_y:.0f}): translated it upright, 300x375 px"
    assert region.shape == result.shape == (375, 300, 3)
    transform, size = cuhk_eyes().transform_for(face.eyes)
    expected = cv2.warpAffine(np.asarray(Image.open(picture)), transform, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    inside = (slice(100, 275), slice(50, 250))  # away from the corners that fall outside the picture
    assert np.array_equal(region[inside], expected[inside])


# -- predict and evaluate prepare a picture the same way (twin of test_predict's real-data test) -----------------------
def test_predict_without_alignment_reproduces_evaluate_on_release_test_photos(release: Path, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", f"data.root={release}", "data.image_size=64", "model=conv_ae", "direction=f2sk")
    assert_predict_reproduces_evaluate(run, release / "Testing photo", tmp_path / "out", expected_count=6)
