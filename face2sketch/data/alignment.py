"""Face alignment for users' photos: find the largest face and crop the region a CUHK photo would show around it.

The models learnt from CUHK's passport-style photos (200x250, the face at one place and size).
Where a face sits in such a photo, and how large it is, was measured once on the release's
*training* photos with the same detector and is stored in ``cuhk_framing.json``; nothing here is
guessed. Regenerate it with ``python -m face2sketch.data.alignment /path/to/cuhk``.

The detector is OpenCV's frontal-face Haar cascade, which ships inside ``opencv-python-headless``
4.x (``cv2.data.haarcascades``), so nothing is downloaded at run time.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from face2sketch.data.sources import decode_image
from face2sketch.errors import ConfigError, DataError
from face2sketch.io import write_json_atomic

FRAMING_FILE = Path(__file__).with_name("cuhk_framing.json")
CASCADE_FILE = "haarcascade_frontalface_default.xml"
# Detection parameters; measuring the framing and aligning use the same ones.
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 5
# the smallest face looked for, as a fraction of the image's shorter side (and never under 24 px)
MIN_FACE_FRACTION = 0.1
# larger images are searched on a copy shrunk to this longer side (the boxes are scaled back)
DETECTION_MAX_SIDE = 800

Box = tuple[int, int, int, int]  # left, top, width, height in pixels


@lru_cache(maxsize=1)
def face_cascade() -> cv2.CascadeClassifier:
    """The frontal-face Haar cascade that comes with OpenCV 4.x."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder or "") / CASCADE_FILE
    cascade = cv2.CascadeClassifier(str(path)) if path.is_file() else None
    if cascade is None or cascade.empty():
        raise ConfigError(
            f"OpenCV {cv2.__version__} has no Haar cascade '{CASCADE_FILE}' (5.x dropped them): "
            "pip install 'opencv-python-headless>=4.9,<5', or predict with align=false"
        )
    return cascade


def detect_largest_face(image: np.ndarray) -> Box | None:
    """The largest frontal face in an RGB (HxWx3) or grayscale (HxW) uint8 image, or None."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 and image.shape[2] == 3 else np.squeeze(image)
    height, width = gray.shape
    scale = min(1.0, DETECTION_MAX_SIDE / max(height, width))
    if scale < 1.0:
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    smallest = max(24, round(MIN_FACE_FRACTION * min(gray.shape)))
    faces = face_cascade().detectMultiScale(gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(smallest, smallest))
    if len(faces) == 0:
        return None
    left, top, w, h = max((tuple(int(v) for v in face) for face in faces), key=lambda f: f[2] * f[3])
    return round(left / scale), round(top / scale), round(w / scale), round(h / scale)


@dataclass(frozen=True)
class Framing:
    """Where the face box sits in a CUHK photo, as fractions of the photo's width and height."""

    center_x: float
    center_y: float
    width: float
    height: float

    def crop_for(self, face: Box) -> Box:
        """The region around ``face`` that frames it as a CUHK photo does (may extend past the image)."""
        left, top, w, h = face
        crop_w, crop_h = w / self.width, h / self.height
        crop_left = left + w / 2 - self.center_x * crop_w
        crop_top = top + h / 2 - self.center_y * crop_h
        return round(crop_left), round(crop_top), max(1, round(crop_w)), max(1, round(crop_h))


@lru_cache(maxsize=1)
def cuhk_framing() -> Framing:
    """The framing measured on CUHK's training photos (``cuhk_framing.json``)."""
    stats = json.loads(FRAMING_FILE.read_text())["median"]
    return Framing(stats["center_x"], stats["center_y"], stats["width"], stats["height"])


def border_colour(image: np.ndarray) -> tuple[int, ...]:
    """The median colour of the image's outermost pixels: what padding outside the image is filled with."""
    pixels = image if image.ndim == 3 else image[..., None]
    ring = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return tuple(int(v) for v in np.median(ring, axis=0))


def crop_with_padding(image: np.ndarray, box: Box) -> np.ndarray:
    """``image[box]``, filled with the border colour where the box leaves the image."""
    left, top, width, height = box
    img_h, img_w = image.shape[:2]
    pad_left, pad_top = max(0, -left), max(0, -top)
    pad_right, pad_bottom = max(0, left + width - img_w), max(0, top + height - img_h)
    if pad_left or pad_top or pad_right or pad_bottom:
        colour = border_colour(image)
        image = cv2.copyMakeBorder(image, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_CONSTANT, value=colour if image.ndim == 3 else colour[0])
    left, top = left + pad_left, top + pad_top
    return np.ascontiguousarray(image[top : top + height, left : left + width])


@dataclass(frozen=True)
class Alignment:
    """What alignment did to one image: the region translated (input pixel coordinates) and whether a face was found."""

    image: np.ndarray
    face_found: bool
    crop: Box | None


def align_face(image: np.ndarray) -> Alignment:
    """Crop the largest face as CUHK frames it; without a face, the whole image (``face_found`` False)."""
    face = detect_largest_face(image)
    if face is None:
        return Alignment(image, False, None)
    crop = cuhk_framing().crop_for(face)
    return Alignment(crop_with_padding(image, crop), True, crop)


ALIGN_CHOICES = ("auto", True, False)


def resolve_align(align: object, source_kind: str) -> bool:
    """align=auto aligns photos (users' photos are not CUHK crops) but not sketches; true/false force it."""
    if align not in ALIGN_CHOICES or isinstance(align, str) and align != "auto":
        raise ConfigError(f"align must be auto, true or false, got '{align}'")
    return source_kind == "photo" if align == "auto" else bool(align)


def align_if(image: np.ndarray, align: bool) -> Alignment:
    """``align_face(image)`` when aligning, else the whole image untouched."""
    return align_face(image) if align else Alignment(image, False, None)


# -- measuring the framing (once, on the training photos) -----------------------------------------------
def measure_framing(photo_paths: list[Path]) -> dict:
    """Detect the face in each photo and summarise where it sits; the dict that ``cuhk_framing.json`` holds."""
    if not photo_paths:
        raise DataError("no photos to measure the framing on")
    samples: dict[str, list[float]] = {"center_x": [], "center_y": [], "width": [], "height": []}
    sizes = set()
    for path in photo_paths:
        photo = decode_image(path, "RGB")
        img_h, img_w = photo.shape[:2]
        sizes.add(f"{img_w}x{img_h}")
        face = detect_largest_face(photo)
        if face is None:
            continue
        left, top, w, h = face
        samples["center_x"].append((left + w / 2) / img_w)
        samples["center_y"].append((top + h / 2) / img_h)
        samples["width"].append(w / img_w)
        samples["height"].append(h / img_h)
    found = len(samples["width"])
    if found == 0:
        raise DataError(f"no face found in any of the {len(photo_paths)} photos")
    return {
        "what": "where the largest detected face box sits in a CUHK training photo, as fractions of the photo's width and height",
        "median": {k: round(statistics.median(v), 5) for k, v in samples.items()},
        "stdev": {k: round(statistics.pstdev(v), 5) for k, v in samples.items()},
        "measured_on": "the CUHK student release's 'Training photo' folder (never the testing photos)",
        "photo_sizes": sorted(sizes),
        "photos": len(photo_paths),
        "faces_found": found,
        "detector": {
            "name": f"OpenCV Haar cascade {CASCADE_FILE}",
            "opencv": cv2.__version__,
            "scale_factor": SCALE_FACTOR,
            "min_neighbors": MIN_NEIGHBORS,
            "min_face_fraction": MIN_FACE_FRACTION,
            "detection_max_side": DETECTION_MAX_SIDE,
            "preprocessing": "RGB to gray, histogram equalisation; the largest box is kept",
        },
        "regenerate": "python -m face2sketch.data.alignment /path/to/cuhk",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the CUHK framing from the training photos and store it in the package.")
    parser.add_argument("root", type=Path, help="the CUHK release folder (holding 'Training photo')")
    parser.add_argument("--out", type=Path, default=FRAMING_FILE)
    args = parser.parse_args()
    folder = args.root / "Training photo"
    photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        raise SystemExit(f"face2sketch: error: no training photos in '{folder}'")
    stats = measure_framing(photos)
    write_json_atomic(args.out, stats)
    print(f"{stats['faces_found']}/{stats['photos']} faces; median framing {stats['median']} -> {args.out}")


if __name__ == "__main__":
    main()
