"""Frames through a model: each frame's face found or followed (``pictures/following.py``), translated, and shown as a
sketch over the face in the frame (``overlay``), the sketch alone in CUHK's frame (``sketch``) or the frame beside it
(``side_by_side``). ``Model.stream`` is the front door; video files and a camera are its clients."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from face2sketch.core.errors import ConfigError, DataError
from face2sketch.inference.translator import Translator
from face2sketch.pictures.alignment import CUHK_SIZE, Alignment, border_colour, warp_to_cuhk
from face2sketch.pictures.following import NO_FACE, FaceFollower, FollowSettings
from face2sketch.pictures.images import check_pixel_count

SHOWS = ("overlay", "sketch", "side_by_side")
STAGES = ("find", "translate", "compose")
WHOLE_PICTURE = "whole picture"
# the share of the face region's side over which the overlaid sketch fades into the frame
FEATHER = 0.08


@dataclass(frozen=True)
class FrameResult:
    """One frame of a stream: the frame shown (uint8 RGB), how its face was found (``detected``, ``followed``, ``held``,
    ``no face``; ``whole picture`` without alignment) and the alignment it was translated with."""

    image: np.ndarray
    status: str
    alignment: Alignment | None = None
    # the translation itself: of the aligned face (CUHK's frame) or of the whole frame; None without a face
    prediction: np.ndarray | None = None

    def record(self, index: int) -> dict[str, Any]:
        """What predictions.json keeps for the frame: its index, status, transform and eyes."""
        record: dict[str, Any] = {"frame": index, "status": self.status, "transform": None, "eyes": None}
        if self.alignment is not None and self.status != WHOLE_PICTURE:
            found = self.alignment.record()
            record.update(transform=found["transform"], eyes=found["eyes"])
        return record


def check_show(show: str) -> None:
    if show not in SHOWS:
        raise ConfigError(f"show={show} is not allowed: use one of {', '.join(SHOWS)}")


def as_frame(frame: np.ndarray) -> np.ndarray:
    """A frame as a uint8 HxWx3 RGB array; anything else is a one-line DataError."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        described = f"{frame.dtype} with shape {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise DataError(f"a frame must be a uint8 HxWx3 RGB array, got {described}")
    check_pixel_count(frame.shape[1], frame.shape[0])
    return frame


def feather_mask(height: int, width: int) -> np.ndarray:
    """1 inside a region, falling linearly to 0 over its outer ``FEATHER`` share."""
    ramp = max(1.0, FEATHER * min(height, width))
    rows = np.minimum(np.arange(height) + 0.5, height - np.arange(height) - 0.5) / ramp
    cols = np.minimum(np.arange(width) + 0.5, width - np.arange(width) - 0.5) / ramp
    return np.clip(np.minimum(rows[:, None], cols[None, :]), 0.0, 1.0).astype(np.float32)


def as_rgb(picture: np.ndarray) -> np.ndarray:
    return picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=2)


def overlay(frame: np.ndarray, prediction: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """The prediction put back over the face: warped into the frame by the inverse of the alignment, its edges faded.
    Only the box the face's region covers in the frame is warped and blended."""
    height, width = prediction.shape[:2]
    inverse = cv2.invertAffineTransform(transform)
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64) @ inverse[:, :2].T + inverse[:, 2]
    left, top = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    right, bottom = np.minimum(np.ceil(corners.max(axis=0)).astype(int), (frame.shape[1], frame.shape[0]))
    shown = frame.copy()
    if right <= left or bottom <= top:
        return shown
    inverse[:, 2] -= (left, top)
    box = (int(right - left), int(bottom - top))
    back = cv2.warpAffine(as_rgb(prediction), inverse, box, flags=cv2.INTER_LINEAR).astype(np.float32)
    mask = cv2.warpAffine(feather_mask(height, width), inverse, box, flags=cv2.INTER_LINEAR)[..., None]
    under = shown[top:bottom, left:right].astype(np.float32)
    shown[top:bottom, left:right] = (under + (back - under) * mask + 0.5).astype(np.uint8)
    return shown


def sketch_frame(prediction: np.ndarray | None, height: int) -> np.ndarray:
    """The sketch alone in CUHK's frame at the stream's height (white paper where there is no face)."""
    size = (max(1, round(CUHK_SIZE[0] * height / CUHK_SIZE[1])), height)
    if prediction is None:
        return np.full((size[1], size[0], 3), 255, np.uint8)
    return as_rgb(cv2.resize(prediction, size, interpolation=cv2.INTER_AREA))


class FrameTranslator:
    """Translates the frames of one stream in order, following the face from frame to frame (photos), or the whole
    frame (sketches, or ``align`` off)."""

    def __init__(self, translator: Translator, align: bool, show: str, fps: float, settings: FollowSettings) -> None:
        check_show(show)
        self.translator, self.show = translator, show
        self.follower = FaceFollower(settings, 1.0 / fps) if align else None
        # seconds spent so far in each stage: finding or following the face, translating it, composing the frame
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def _timed(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - started
        return now

    def translate(self, region: np.ndarray) -> np.ndarray:
        return self.translator.translate_pictures([region])[0]

    def shown(self, frame: np.ndarray, prediction: np.ndarray | None, transform: np.ndarray | None) -> np.ndarray:
        if self.show == "sketch":
            return sketch_frame(prediction, frame.shape[0])
        over = frame if prediction is None or transform is None else overlay(frame, prediction, transform)
        return np.concatenate([frame, over], axis=1) if self.show == "side_by_side" else over

    def __call__(self, frame: np.ndarray) -> FrameResult:
        frame = as_frame(frame)
        started = time.perf_counter()
        if self.follower is None:
            prediction = as_rgb(self.translate(frame))
            started = self._timed("translate", started)
            shown = np.concatenate([frame, prediction], axis=1) if self.show == "side_by_side" else prediction
            self._timed("compose", started)
            return FrameResult(shown, WHOLE_PICTURE, Alignment(frame, np.eye(2, 3)), prediction)
        colour = border_colour(frame)
        face, status = self.follower.locate(frame, colour)
        started = self._timed("find", started)
        if face is None:
            return FrameResult(self.shown(frame, None, None), NO_FACE)
        region, transform = warp_to_cuhk(frame, face.eyes, colour)
        prediction = self.translate(region)
        started = self._timed("translate", started)
        shown = self.shown(frame, prediction, transform)
        self._timed("compose", started)
        return FrameResult(shown, status, Alignment(region, transform, face, 1), prediction)
