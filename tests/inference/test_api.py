"""The Python API: face2sketch.load(...) and model(picture), its input and output types, batches, the alignment record
and the messages for pictures it cannot use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image

import face2sketch
from face2sketch.core.errors import ConfigError, DataError
from face2sketch.pictures import images
from face2sketch.pictures.alignment import FaceTooSmall, NoFaceFound, cuhk_eyes, min_eye_distance
from face2sketch.pictures.face_detection import Face
from tests.conftest import PROJECT_ROOT
from tests.helpers.inference import faceless_picture, make_run, save_picture, stub_detector


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "conv_ae", "data=synthetic", "data.image_size=32", "model=conv_ae")


def portrait() -> Path:
    """A face photo that ships with matplotlib (Grace Hopper)."""
    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def test_a_path_a_pil_image_and_arrays_of_each_layout_give_the_same_pil_image(run: Path, tmp_path: Path) -> None:
    model = face2sketch.load(run, align=False, device="cpu")
    rgb = faceless_picture(60, 40)
    path = save_picture(tmp_path / "in.png", rgb)
    by_path = model(path)
    assert isinstance(by_path, Image.Image) and by_path.size == (60, 40) and by_path.mode == "RGB"
    same = [model(str(path)), model(Image.open(path)), model(rgb), model(np.dstack([rgb, np.full((40, 60), 255, np.uint8)]))]
    assert all(np.array_equal(np.asarray(other), np.asarray(by_path)) for other in same)
    gray = rgb[..., 0]
    assert np.array_equal(np.asarray(model(gray)), np.asarray(model(np.repeat(gray[..., None], 3, axis=2))))
    assert np.array_equal(np.asarray(model(gray[..., None])), np.asarray(model(gray)))


def test_transparent_array_pixels_are_composited_on_white_as_files_are(run: Path) -> None:
    model = face2sketch.load(run, align=False, device="cpu")
    clear = np.zeros((30, 30, 4), np.uint8)
    assert np.array_equal(np.asarray(model(clear)), np.asarray(model(np.full((30, 30, 3), 255, np.uint8))))


def test_a_batch_gives_what_single_calls_give_in_order(run: Path) -> None:
    model = face2sketch.load(run, align=False, device="cpu", batch_size=2)
    pictures = [faceless_picture(40 + 4 * i, 30, seed=i) for i in range(5)]
    batched = model.batch(pictures)
    assert [p.size for p in batched] == [(40 + 4 * i, 30) for i in range(5)]
    for picture, result in zip(pictures, batched, strict=True):
        assert np.abs(np.asarray(result, dtype=int) - np.asarray(model(picture), dtype=int)).max() <= 1  # batched float sums may differ by a grey level


def test_translate_each_gives_every_pictures_outcome_in_order_batching_faces_across_pictures(run: Path, tmp_path: Path) -> None:
    """Guards predict's path through the API: each picture's translations (what single calls give) or the reason it was
    skipped, in input order, with the faces of several pictures run as one batch once ``batch_size`` of them wait."""
    model = face2sketch.load(run, align=False, device="cpu", batch_size=2)
    pictures = [faceless_picture(60, 40), tmp_path / "missing.png", faceless_picture(30, 50), faceless_picture(20, 20)]
    batches: list[int] = []
    translate = model.translator.translate
    model.translator.translate = lambda inputs: batches.append(len(inputs)) or translate(inputs)  # type: ignore[method-assign]
    outcomes = list(model.translate_each(pictures))
    assert [outcome.picture is picture for outcome, picture in zip(outcomes, pictures, strict=True)] == [True] * 4
    assert batches == [2, 1], "two faces waiting make a batch; the last one is run at the end"
    skipped = outcomes[1]
    assert isinstance(skipped.error, DataError) and "not a file" in str(skipped.error) and skipped.translations == []
    for outcome in (outcomes[0], outcomes[2], outcomes[3]):
        assert outcome.error is None and len(outcome.translations) == 1
        assert np.array_equal(np.asarray(outcome.translations[0].image), np.asarray(model(outcome.picture)))


def test_with_options_shares_the_loaded_network_and_checks_the_options(run: Path) -> None:
    model = face2sketch.load(run, align=False, device="cpu")
    other = model.with_options(align=True, batch_size=1)
    assert other.translator is model.translator and (other.align, other.batch_size, other.faces) == (True, 1, "largest")
    assert (model.align, model.batch_size) == (False, 16)
    with pytest.raises(ConfigError, match="faces must be largest or all, got 'some'"):
        model.with_options(faces="some")
    with pytest.raises(ConfigError, match="batch_size must be at least 1, got 0"):
        face2sketch.load("f2sk", batch_size=0)


def test_the_alignment_record_holds_the_transform_eyes_and_score(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eyes = np.array([[300.0, 200.0], [300.0 + cuhk_eyes().distance * 2, 200.0]])  # level eyes at twice CUHK's distance
    face = Face(eyes, (250.0, 140.0, 220.0, 260.0), 0.97)
    stub_detector(monkeypatch, {(640, 480): [face]})
    model = face2sketch.load(run, device="cpu")
    (translation,) = model.translate(faceless_picture(640, 480))
    record = translation.record()
    assert translation.image.size == translation.aligned.size == (400, 500) == tuple(record["size"])
    transform = np.array(record["transform"])
    landed = eyes @ transform[:, :2].T + transform[:, 2]
    np.testing.assert_allclose(landed, 2 * np.array([cuhk_eyes().left, cuhk_eyes().right]), atol=1e-3)  # onto CUHK's, at twice the size
    assert np.linalg.det(transform[:, :2]) == pytest.approx(1.0, abs=1e-5)  # turned and moved, not scaled
    assert record["eyes"] == np.round(eyes, 2).tolist() and record["score"] == 0.97 and record["faces_found"] == 1


def test_no_face_too_small_and_too_large_are_data_errors_that_say_what_to_do(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = face2sketch.load(run, device="cpu")
    flat = np.full((120, 90, 3), 128, np.uint8)
    with pytest.raises(NoFaceFound, match="no face found: pass align=false to translate the whole picture"):
        model(flat)
    with pytest.raises(DataError, match=r"picture 1 \(ndarray\): no face found"):
        model.batch([flat, flat])
    assert face2sketch.load(run, align=False, device="cpu")(flat).size == (90, 120)
    tiny = Face(np.array([[40.0, 40.0], [46.0, 40.0]]), (35.0, 30.0, 16.0, 20.0), 0.9)
    stub_detector(monkeypatch, {(90, 120): [tiny]})
    with pytest.raises(FaceTooSmall, match="too small to use .* use a closer or larger picture, or align=false"):
        model(flat)
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    for too_large in (flat, Image.fromarray(flat)):
        with pytest.raises(DataError, match=r"too large \(90x120 = 10800 pixels is over the pixel limit=1000\)"):
            model(too_large)


def test_a_largest_face_too_small_is_refused_by_name_and_a_smaller_one_is_translated_only_with_faces_all(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: too-small faces filtered out before the largest is chosen, so ``model(picture)`` (always the largest face)
    quietly translated a smaller face; and ``model(picture)`` must ask for the largest even when loaded with faces=all."""
    smallest = min_eye_distance()
    largest = Face(np.array([[100.0, 100.0], [100.0 + smallest - 3, 100.0]]), (60.0, 50.0, 240.0, 260.0), 0.99)  # the largest box, eyes too close
    smaller = Face(np.array([[400.0, 300.0], [400.0 + cuhk_eyes().distance, 300.0]]), (370.0, 260.0, 110.0, 120.0), 0.95)
    stub_detector(monkeypatch, {(640, 480): [largest, smaller], (480, 640): [smaller]})  # the second size: a usable face alone
    picture = faceless_picture(640, 480)
    too_small = rf"^the face is too small to use \(its eyes are {smallest - 3:.0f} px apart, at least {smallest:.0f} are needed\)"
    for model in (face2sketch.load(run, device="cpu"), face2sketch.load(run, device="cpu", faces="all")):
        with pytest.raises(FaceTooSmall, match=too_small):
            model(picture)
        with pytest.raises(FaceTooSmall, match=too_small):
            model.translate(picture, faces="largest")
        with pytest.raises(DataError, match=r"^picture 2 \(ndarray\): the face is too small to use \(its eyes are"):
            model.batch([faceless_picture(480, 640), picture])
    (translation,) = face2sketch.load(run, device="cpu").translate(picture, faces="all")
    record = translation.record()
    assert record["eyes"] == np.round(smaller.eyes, 2).tolist() and record["score"] == 0.95 and record["faces_found"] == 2
    assert record["size"] == [200, 250] and translation.image.size == (200, 250)  # the smaller face is at CUHK's size


def test_what_is_not_a_picture_is_refused_by_name(run: Path, tmp_path: Path) -> None:
    model = face2sketch.load(run, align=False, device="cpu")
    with pytest.raises(DataError, match="must be uint8 .* got float32 with shape"):
        model(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(DataError, match="with shape \\(10, 10, 2\\)"):
        model(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(TypeError, match="a file path, a PIL image or a uint8 numpy array, not list"):
        model([[0, 1]])  # type: ignore[arg-type]
    (tmp_path / "notes.jpg").write_text("text")
    with pytest.raises(DataError, match="not an image"):
        model(tmp_path / "notes.jpg")
    with pytest.raises(ConfigError, match="model '.*nope.onnx' not found"):
        face2sketch.load(tmp_path / "nope.onnx")


def test_the_shipped_model_sketches_a_real_face_upright_and_records_where_its_eyes_were() -> None:
    model = face2sketch.load("f2sk", device="cpu")
    assert model.align and model.spec.direction == "f2sk"
    (translation,) = model.translate(portrait())
    record = translation.record()
    sketch = np.asarray(translation.image)
    assert translation.image.mode == "L" and sketch.shape == (record["size"][1], record["size"][0])
    assert record["score"] > 0.999 and record["faces_found"] == 1
    # Grace Hopper's eyes in the 512x600 portrait (as found here: 221.55, 195.72 and 305.43, 189.36), within a pixel and a half
    np.testing.assert_allclose(record["eyes"], [[221.55, 195.72], [305.43, 189.36]], atol=1.5)
    assert 20 < sketch.mean() < 250 and sketch.std() > 10  # drawn lines on paper
    assert face2sketch.load("sk2f", device="cpu").align is False  # sketches are not aligned


def test_the_api_loads_no_training_stack() -> None:
    """Nor OmegaConf, which only commands and run folders need (its import is a tenth of a second of a cold start)."""
    heavy = "{'lightning', 'albumentations', 'torchvision', 'torchmetrics', 'hydra', 'omegaconf'}"
    probe = f"import sys, face2sketch; face2sketch.load('f2sk', device='cpu'); print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert result.stdout.strip() == "[]"
