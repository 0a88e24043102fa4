"""Face alignment: the stored CUHK eye positions, the similarity transform on synthetic pictures with known eyes, the
bad-input messages, and on real CUHK photos tilted, rescaled and placed in larger pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import face2sketch.data.alignment as alignment
from face2sketch.data.alignment import (
    EYES_FILE,
    CuhkEyes,
    Face,
    FaceTooSmall,
    NoFaceFound,
    align_faces,
    cuhk_eyes,
    measure_eyes,
    min_eye_distance,
    similarity,
)
from face2sketch.data.images import decode_image
from face2sketch.data.photographed import Photographing, apply_affine, as_photographed, carry_into, check_alignment, compose
from face2sketch.errors import ConfigError
from tests.inference_helpers import face_like_picture, save_picture, stub_detector

# the share of tilted, rescaled training photos whose eyes land within 3 px of CUHK's: 264 of 264 measured (docs/alignment.md), less a margin
TRAINING_WITHIN_3_PX = 0.95


def face_at(eyes: list[tuple[float, float]], score: float = 0.99, size: float = 100.0) -> Face:
    return Face(np.array(eyes, dtype=np.float64), (eyes[0][0] - size / 4, eyes[0][1] - size / 3, size, size), score)


def marked_picture(eyes: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A textured picture with a red 5x5 dot on the image-left eye and a blue one on the image-right eye."""
    picture = face_like_picture(*size, seed=1)
    for (x, y), colour in zip(np.rint(eyes).astype(int), ((255, 0, 0), (0, 0, 255)), strict=True):
        picture[y - 2 : y + 3, x - 2 : x + 3] = colour
    return picture


# -- the stored eye positions ----------------------------------------------------------------------------------------
def test_stored_eye_positions_say_how_they_were_measured_and_are_level_and_centred() -> None:
    stored = json.loads(EYES_FILE.read_text())
    assert stored["photos"] == 88 and stored["faces_found"] == 88 and "Training photo" in stored["measured_on"]
    assert "MTCNN" in stored["detector"]["faces"] and "5-point" in stored["detector"]["eyes"] and "regenerate" in stored
    eyes = cuhk_eyes()
    assert abs(eyes.left[1] - eyes.right[1]) < 3 and abs((eyes.left[0] + eyes.right[0]) / 2 - 100) < 5  # level, centred in the 200 px width
    assert 40 < eyes.distance < 70 and 100 < eyes.left[1] < 140


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


def test_outside_the_picture_the_aligned_face_is_filled_with_the_border_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    picture = np.full((300, 300, 3), (10, 20, 30), np.uint8)
    picture[100:200, 100:200] = 200
    stub_detector(monkeypatch, {(300, 300): [face_at([(20.0, 30.0), (80.0, 30.0)])]})  # eyes near the top-left corner
    (aligned,) = align_faces(picture)
    assert aligned.image[0, 0].tolist() == [10, 20, 30]


# -- bad input --------------------------------------------------------------------------------------------------------------
def test_a_picture_without_a_face_says_so_and_how_to_translate_it_whole() -> None:
    with pytest.raises(NoFaceFound, match=r"^no face found: pass align=false to translate the whole picture$"):
        align_faces(np.full((300, 200, 3), 128, np.uint8))


def test_a_face_too_small_to_use_is_refused_with_its_size_and_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    smallest = min_eye_distance()
    assert smallest == pytest.approx(cuhk_eyes().distance / 3)
    stub_detector(monkeypatch, {(640, 480): [face_at([(300.0, 200.0), (300.0 + smallest - 1, 200.0)])]})
    with pytest.raises(FaceTooSmall, match=rf"too small to use \(its eyes are {smallest - 1:.0f} px apart, at least {smallest:.0f} are needed\)"):
        align_faces(face_like_picture(640, 480))


def test_of_several_faces_the_largest_is_aligned_or_each_with_faces_all(monkeypatch: pytest.MonkeyPatch) -> None:
    large, small, tiny = (
        face_at([(100.0, 100.0), (180.0, 100.0)], size=160),
        face_at([(400.0, 300.0), (450.0, 300.0)], size=100),
        face_at([(10, 10), (14, 10)], size=8),
    )
    stub_detector(monkeypatch, {(640, 480): [large, small, tiny]})
    picture = face_like_picture(640, 480)
    (only,) = align_faces(picture)
    assert only.face is large and only.faces_found == 3
    every = align_faces(picture, faces="all")
    assert len(every) == 2 and every[0].face is large and every[1].face is small  # the tiny one is left out; the others, largest first
    with pytest.raises(ConfigError, match="faces must be largest or all"):
        align_faces(picture, faces="biggest")


# -- as photographed ----------------------------------------------------------------------------------------------------------
def test_as_photographed_returns_the_transform_that_placed_the_photo() -> None:
    photo = np.zeros((250, 200, 3), np.uint8)
    photo[120:125, 60:65] = (255, 255, 255)  # a white 5x5 dot centred on (62, 122)
    picture, transform = as_photographed(photo, np.random.default_rng(3), how=Photographing(gain=(1.0, 1.0), tint=0.0, jpeg_quality=(95, 95)))
    x, y = np.rint(apply_affine(transform, [[62.0, 122.0]])[0]).astype(int)
    assert picture[y, x].min() > 200 and picture.shape[0] > 250 * 0.6 * 1.1 - 1
    scale = np.sqrt(abs(np.linalg.det(transform[:, :2])))
    assert 0.6 <= scale <= 2.5


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
    sketch = face_like_picture(200, 250, seed=4)[..., 0]
    turn = np.array([[0.0, -1.0, 249.0], [1.0, 0.0, 0.0]])  # a quarter turn into a 250x200 frame
    back = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 249.0]])
    np.testing.assert_allclose(compose(back, turn), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
    turned = carry_into(sketch, turn, (250, 200))
    assert np.array_equal(turned, np.rot90(sketch, -1)) and np.array_equal(carry_into(turned, back, (200, 250)), sketch)


def test_tilted_rescaled_training_photos_land_their_eyes_on_cuhk_s(cuhk_root: Path) -> None:
    photos = [decode_image(path, "RGB") for path in sorted((cuhk_root / "Training photo").glob("*.jpg"))[::2]]
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
    from face2sketch.data.photographed import placement

    for seed, height in ((9, 300), (13, 401), (34, 333)):
        transform, size = placement((200, 250), (900, height), np.random.default_rng(seed), Photographing())
        corners = apply_affine(transform, [[0.0, 0.0], [200.0, 0.0], [0.0, 250.0], [200.0, 250.0]])
        assert size == (900, height) and corners[:, 1].min() >= -1e-6 and corners[:, 1].max() <= height + 1e-6
