"""How steady a stream's result is: eye jitter (how far the eyes the crop is made from move between frames, in the
frame's pixels) and flicker (the mean absolute change of the sketch between frames, in CUHK's frame, 0-255)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from face2sketch.inference.streams import FrameResult
from face2sketch.pictures.alignment import CUHK_SIZE


def eye_jitter(results: Sequence[FrameResult]) -> float:
    """Mean distance (px) each eye moves between consecutive frames that both have a face."""
    moves = [
        float(np.linalg.norm(b.alignment.face.eyes - a.alignment.face.eyes, axis=1).mean())
        for a, b in zip(results, results[1:], strict=False)
        if a.alignment is not None and b.alignment is not None and a.alignment.face is not None and b.alignment.face is not None
    ]
    return float(np.mean(moves)) if moves else float("nan")


def flicker(results: Sequence[FrameResult]) -> float:
    """Mean absolute change of the sketch (0-255) between consecutive frames that both have one, each sketch brought
    to CUHK's 200x250 first (a face's region changes size by a pixel as its eyes move)."""
    sketches = [cv2.resize(r.prediction, CUHK_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32) if r.prediction is not None else None for r in results]
    changes = [float(np.abs(b - a).mean()) for a, b in zip(sketches, sketches[1:], strict=False) if a is not None and b is not None]
    return float(np.mean(changes)) if changes else float("nan")
