"""The benchmark's video measurements, on clips made from CUHK test photos (``perf/clips.py``): frames a second end to
end (decode, find or follow, translate, compose, encode) with each stage's share, following against a detection in
every frame; and how steady and how good the result is (eye jitter and flicker on a still clip, per-frame FSIM and
SCOOT against the true sketch carried into the output frame, as a ratio to the still-picture path's on the same
frames)."""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from face2sketch.core.errors import ConfigError
from face2sketch.inference.api import Model
from face2sketch.inference.streams import FrameResult, FrameTranslator
from face2sketch.inference.videos import translate_video
from face2sketch.metrics.per_image import fsim
from face2sketch.metrics.scoot import scoot_pair
from face2sketch.perf.clips import Clip, make_clip
from face2sketch.perf.stability import eye_jitter, flicker
from face2sketch.pictures.alignment import CUHK_SIZE
from face2sketch.pictures.following import FollowSettings
from face2sketch.pictures.video import video_writer
from face2sketch.realworld.photographed import carry_into, compose, scale_to

MODES = {"follow": FollowSettings(), "detect every frame": FollowSettings(follow=False, smooth=False)}


def write_clip(clip: Clip, path: Path) -> Path:
    with video_writer(path, clip.fps, (clip.frames[0].shape[1], clip.frames[0].shape[0])) as sink:
        for frame in clip.frames:
            sink.write(frame)
    return path


def frames_of(model: Model, follow: FollowSettings, fps: float) -> FrameTranslator:
    return model.frames(fps, "overlay", follow)


def video_speed(model: Model, photo: np.ndarray, size: tuple[int, int], seconds: float, kind: str = "moving") -> list[dict[str, Any]]:
    """Frames a second through ``translate_video`` on a clip of ``kind`` at ``size``, in each mode, with stage shares."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="face2sketch-video-") as scratch:
        source = write_clip(make_clip(photo, kind, size, seconds), Path(scratch) / "source.mp4")
        for mode, follow in MODES.items():
            started = time.perf_counter()
            done = translate_video(source, Path(scratch) / "out.mp4", partial(frames_of, model, follow))
            wall = time.perf_counter() - started
            statuses = [frame["status"] for frame in done.frames]
            rows.append(
                {
                    "size": list(size),
                    "mode": mode,
                    "frames": len(statuses),
                    "fps": len(statuses) / wall,
                    "shares": {stage: spent / wall for stage, spent in done.seconds.items()},
                    "detections": statuses.count("detected"),
                }
            )
    return rows


def frame_quality(result: FrameResult, sketch: np.ndarray, placed: np.ndarray) -> tuple[float, float] | None:
    """(FSIM, SCOOT) of a frame's sketch against the true sketch carried into its frame, both at CUHK's 200x250."""
    if result.prediction is None or result.alignment is None:
        return None
    region = (result.alignment.image.shape[1], result.alignment.image.shape[0])
    carry = compose(scale_to(region, CUHK_SIZE), compose(result.alignment.transform, placed))
    truth = carry_into(sketch, carry, CUHK_SIZE)
    predicted = cv2.resize(result.prediction, CUHK_SIZE, interpolation=cv2.INTER_AREA)
    as_tensor = [torch.from_numpy(image.astype(np.float32) / 255.0)[None, None] for image in (predicted, truth)]
    return float(fsim(as_tensor[0], as_tensor[1], chromatic=False)[0]), scoot_pair(predicted, truth)


def clip_quality(model: Model, photo: np.ndarray, sketch: np.ndarray, kind: str, size: tuple[int, int], seconds: float) -> dict[str, Any]:
    """Jitter, flicker and per-frame quality of one clip, following against a detection in every frame."""
    clip = make_clip(photo, kind, size, seconds)
    row: dict[str, Any] = {"kind": kind}
    scores: dict[str, list[tuple[float, float] | None]] = {}
    for mode, follow in MODES.items():
        results = list(model.stream(clip.frames, clip.fps, "overlay", follow))
        row[mode] = {"jitter_px": eye_jitter(results), "flicker": flicker(results)}
        scores[mode] = [None if placed is None else frame_quality(r, sketch, placed) for r, placed in zip(results, clip.placements, strict=True)]
    both = [(a, b) for a, b in zip(scores["follow"], scores["detect every frame"], strict=True) if a is not None and b is not None]
    row["frames_compared"] = len(both)
    for index, metric in enumerate(("fsim", "scoot")):
        followed, detected = np.mean([a[index] for a, _ in both]), np.mean([b[index] for _, b in both])
        row[f"{metric}_ratio"] = float(followed / detected) if both else float("nan")
    return row


def video_quality(model: Model, pairs: list[tuple[np.ndarray, np.ndarray]], size: tuple[int, int], seconds: float) -> list[dict[str, Any]]:
    """``clip_quality`` of each clip kind for each (photo, sketch) pair, averaged over the pairs."""
    rows = []
    for kind in ("still", "moving", "leaving"):
        per_pair = [clip_quality(model, photo, sketch, kind, size, seconds) for photo, sketch in pairs]
        row: dict[str, Any] = {"kind": kind, "pairs": len(per_pair), "frames_compared": sum(r["frames_compared"] for r in per_pair)}
        for mode in MODES:
            row[mode] = {key: float(np.nanmean([r[mode][key] for r in per_pair])) for key in ("jitter_px", "flicker")}
        row.update({key: float(np.nanmean([r[key] for r in per_pair])) for key in ("fsim_ratio", "scoot_ratio")})
        rows.append(row)
    return rows


def first_test_photo(root: Path) -> bytes:
    """The file of CUHK's first test photo (by name), as an app would send it."""
    photos = sorted((root / "Testing photo").glob("*.jpg"))
    if not photos:
        raise ConfigError(f"the service benchmark sends CUHK's first test photo, not found under {root}: pass data_root=/path/to/cuhk")
    return photos[0].read_bytes()


def cuhk_test_pairs(root: Path, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``count`` CUHK test photos (by name) and their sketches (grey), as the clips are made from them."""
    from face2sketch.data.pairing import photo_key, sketch_key
    from face2sketch.pictures.images import read_image

    photos = sorted((root / "Testing photo").glob("*.jpg"))[:count]
    sketches = {sketch_key(path): path for path in (root / "Testing sketch").glob("*")} if (root / "Testing sketch").is_dir() else {}
    if not photos or any(photo_key(photo) not in sketches for photo in photos):
        raise ConfigError(f"the video benchmark makes its clips from CUHK's test photos and sketches, not found under {root}: pass data_root=/path/to/cuhk")
    grey = [read_image(sketches[photo_key(photo)]) for photo in photos]
    return [(read_image(photo), sketch if sketch.ndim == 2 else sketch[..., 0]) for photo, sketch in zip(photos, grey, strict=True)]


def measure_videos(root: Path, sizes: list[tuple[int, int]], seconds: float, pairs: int) -> dict[str, Any]:
    """Every video measurement with the shipped f2sk model on the CPU: speed at each size, stability and quality at the first."""
    from face2sketch.inference.api import load

    test_pairs = cuhk_test_pairs(root, pairs)
    model = load("f2sk", device="cpu")
    speed = [row for size in sizes for row in video_speed(model, test_pairs[0][0], size, seconds)]
    return {"seconds": seconds, "speed": speed, "quality_size": list(sizes[0]), "quality": video_quality(model, test_pairs, sizes[0], seconds)}
