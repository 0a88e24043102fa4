"""Following a face from frame to frame: the eyes placed again by the landmark model inside the last face's frame,
the detector run only every ``detect_every`` frames or when following fails, and the eyes smoothed over time (a One
Euro filter) so that a still head gives a still crop and a moving one is followed without lag.

A frame where the face is lost keeps the last face for ``hold_frames`` frames ("held"), then has none ("no face")
until the detector finds one again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from face2sketch.core.errors import ConfigError
from face2sketch.pictures.alignment import REFINE_SCALE, cuhk_eyes, landmark_eyes, min_eye_distance, refine, scaled
from face2sketch.pictures.face_detection import Face, detect_faces

DETECTED, FOLLOWED, HELD, NO_FACE = "detected", "followed", "held", "no face"
# the farthest an eye may move from one frame to the next, as a share of the eye distance, and still be followed
MAX_FOLLOWED_MOVE = 0.5


@dataclass
class OneEuroFilter:
    """Casiez, Roussel and Vogel's One Euro filter on an array of positions: little smoothing when they move fast (no
    lag), much when they are still (no jitter). ``min_cutoff`` (Hz) sets the smoothing of a still signal, ``beta`` how
    fast it falls with speed."""

    min_cutoff: float = 0.3
    beta: float = 0.3
    d_cutoff: float = 1.0
    _value: np.ndarray | None = field(default=None, repr=False)
    _speed: np.ndarray | None = field(default=None, repr=False)

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, value: np.ndarray, dt: float) -> np.ndarray:
        if self._value is None or self._speed is None:
            self._value, self._speed = value.astype(np.float64), np.zeros_like(value, dtype=np.float64)
            return self._value.copy()
        speed = (value - self._value) / dt
        self._speed = self._speed + self._alpha(self.d_cutoff, dt) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * float(np.abs(self._speed).max())
        self._value = self._value + self._alpha(cutoff, dt) * (value - self._value)
        return self._value.copy()

    def reset(self) -> None:
        self._value = self._speed = None


@dataclass(frozen=True)
class FollowSettings:
    """How faces are found in a stream: ``follow`` (else the detector runs on every frame), ``detect_every`` (frames
    between detections while following), ``hold_frames`` (frames a lost face is kept), ``smooth`` with the filter's
    ``min_cutoff`` and ``beta``."""

    follow: bool = True
    detect_every: int = 15
    hold_frames: int = 12
    smooth: bool = True
    min_cutoff: float = 0.3
    beta: float = 0.3

    def __post_init__(self) -> None:
        if self.detect_every < 1 or self.hold_frames < 0:
            raise ConfigError(f"detect_every={self.detect_every}, hold_frames={self.hold_frames} are not allowed: use detect_every >= 1 and hold_frames >= 0")
        if self.min_cutoff <= 0 or self.beta < 0:
            raise ConfigError(f"min_cutoff={self.min_cutoff}, beta={self.beta} are not allowed: use min_cutoff > 0 and beta >= 0")


def follow_eyes(frame: np.ndarray, face: Face, colour: tuple[int, ...]) -> Face | None:
    """``face`` in the next frame: its eyes placed by the landmark model on the frame turned and cropped as the last
    eyes give it, or None when they moved ``MAX_FOLLOWED_MOVE`` of the eye distance or more, shrank below what
    alignment uses or left the frame (the detector then looks again)."""
    transform, size = cuhk_eyes().transform_for(face.eyes, REFINE_SCALE)
    region = cv2.warpAffine(frame, transform, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=colour)
    eyes = landmark_eyes(region, scaled(cuhk_eyes().landmark_box, REFINE_SCALE))
    back = cv2.invertAffineTransform(transform)
    placed = eyes @ back[:, :2].T + back[:, 2]
    height, width = frame.shape[:2]
    inside = bool(((placed >= 0) & (placed < (width, height))).all())
    distance = float(np.linalg.norm(placed[1] - placed[0]))
    if not inside or distance < min_eye_distance() or np.linalg.norm(placed - face.eyes, axis=1).max() >= MAX_FOLLOWED_MOVE * face.eye_distance:
        return None
    return Face(placed, face.box, face.score)


def detect_largest(frame: np.ndarray, colour: tuple[int, ...]) -> Face | None:
    """The largest usable face of a frame, its eyes placed by the landmark model as still pictures' are, or None."""
    usable = [face for face in detect_faces(frame) if face.eye_distance >= min_eye_distance()]
    return refine(frame, usable[0], colour) if usable else None


class FaceFollower:
    """Where the face is in each frame of one stream, and how it was found (``DETECTED``, ``FOLLOWED``, ``HELD`` or
    ``NO_FACE``). Following starts from the last eyes as found, not as smoothed, so the smoothing never makes it lag;
    a lost face is looked for by the detector alone."""

    def __init__(self, settings: FollowSettings, frame_seconds: float) -> None:
        self.settings, self.frame_seconds = settings, frame_seconds
        self.smoother = OneEuroFilter(settings.min_cutoff, settings.beta)
        self.found: Face | None = None  # the last face as found
        self.shown: Face | None = None  # the last face as smoothed
        self.since_detection = 0
        self.missing = 0

    def _find(self, frame: np.ndarray, colour: tuple[int, ...]) -> tuple[Face | None, str]:
        due = not self.settings.follow or self.found is None or self.missing > 0 or self.since_detection >= self.settings.detect_every
        if not due and self.found is not None:
            followed = follow_eyes(frame, self.found, colour)
            if followed is not None:
                self.since_detection += 1
                return followed, FOLLOWED
        self.since_detection = 1
        return detect_largest(frame, colour), DETECTED

    def locate(self, frame: np.ndarray, colour: tuple[int, ...]) -> tuple[Face | None, str]:
        """The face of ``frame`` (its eyes smoothed over the stream) and how it was found."""
        face, how = self._find(frame, colour)
        if face is None:
            self.missing += 1
            if self.shown is not None and self.missing <= self.settings.hold_frames:
                return self.shown, HELD
            self.found = self.shown = None
            self.smoother.reset()
            return None, NO_FACE
        self.missing = 0
        self.found = face
        eyes = self.smoother(face.eyes, self.frame_seconds) if self.settings.smooth else face.eyes
        self.shown = Face(eyes, face.box, face.score)
        return self.shown, how
