"""Video files as frames: read with OpenCV's FFmpeg build (mp4, webm, avi, mov, mkv, animated gif), written frame by
frame, whole or not at all, with a codec a plain ``pip install`` of opencv-python-headless can write: MPEG-4 part 2
(``.mp4`` and the like, ``mp4v``: fast, but browsers do not play it) or VP8 (``.webm``: browsers play it inline;
slower to encode). Frames are uint8 HxWx3 RGB arrays, as pictures are everywhere else."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from face2sketch.core.errors import DataError
from face2sketch.core.io import atomic_path
from face2sketch.pictures.images import check_pixel_count

# FFmpeg's own messages about a broken file ("moov atom not found") would stand before the one line that says what to do
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v", ".gif"})
# the codec each suffix a video can be written as is written with; what predict writes; the frame rate assumed where
# a file gives none
CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "mp4v", ".mkv": "mp4v", ".webm": "VP80"}
OUTPUT_SUFFIX, BROWSER_SUFFIX, DEFAULT_FPS = ".mp4", ".webm", 25.0


def is_video(path: Path) -> bool:
    """Whether ``path`` is read as a video: a video suffix, and for a GIF more than one frame."""
    suffix = path.suffix.lower()
    if suffix != ".gif":
        return suffix in VIDEO_SUFFIXES
    try:
        with Image.open(path) as gif:
            return getattr(gif, "n_frames", 1) > 1
    except OSError:
        return False


@dataclass(frozen=True)
class VideoInfo:
    """A video's frame rate, size (width, height) and frame count (as its container states it; 0 when unknown)."""

    fps: float
    size: tuple[int, int]
    frames: int


class VideoReader:
    """The frames of a video file, in order, as RGB arrays; a file that cannot be read is a one-line DataError."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"video '{self.path}' not found")
        self.capture = cv2.VideoCapture(str(self.path))
        ok, first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok or first is None:
            self.capture.release()
            raise DataError(f"video '{self.path.name}' has no frame that can be read (not a video, truncated or an unsupported codec)")
        check_pixel_count(first.shape[1], first.shape[0])
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        fps = float(fps) if np.isfinite(fps) and 0 < fps <= 1000 else DEFAULT_FPS
        self.info = VideoInfo(fps, (first.shape[1], first.shape[0]), max(0, int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))))
        self._first: np.ndarray | None = first

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            while True:
                frame, self._first = (self._first, None) if self._first is not None else (self.capture.read()[1], None)
                if frame is None:
                    return
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            self.capture.release()


def written_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a frame of ``size`` is written at: even sides (an odd one loses its last column or row), as MPEG-4 and
    VP8 with 4:2:0 colour need."""
    return size[0] - size[0] % 2, size[1] - size[1] % 2


class FrameSink:
    """The open writer of one video: RGB frames of one size, in order (written at ``size``, even sides)."""

    def __init__(self, writer: cv2.VideoWriter, frame_size: tuple[int, int]) -> None:
        self.writer, self.frame_size, self.size, self.frames = writer, frame_size, written_size(frame_size), 0

    def write(self, frame: np.ndarray) -> None:
        if (frame.shape[1], frame.shape[0]) != self.frame_size:
            raise DataError(f"frame {self.frames + 1} is {frame.shape[1]}x{frame.shape[0]}, the video {self.frame_size[0]}x{self.frame_size[1]}")
        self.writer.write(cv2.cvtColor(np.ascontiguousarray(frame[: self.size[1], : self.size[0]]), cv2.COLOR_RGB2BGR))
        self.frames += 1


@contextmanager
def video_writer(path: str | Path, fps: float, size: tuple[int, int]) -> Iterator[FrameSink]:
    """A video file (.mp4, .webm and the others of ``CODECS``) written frame by frame: into a hidden file beside ``path``, put in
    place when the block ends after at least one frame, removed when anything goes wrong. A rate or size the writer
    refuses is a DataError; frames of an odd width or height lose their last column or row (written sides are even)."""
    codec = CODECS.get(Path(path).suffix.lower())
    if codec is None:
        raise DataError(f"cannot write a video as '{Path(path).name}': name it {', '.join(CODECS)}")
    with atomic_path(path) as staged:
        writer = cv2.VideoWriter(str(staged), cv2.VideoWriter.fourcc(*codec), fps, written_size(size)) if fps > 0 and min(size) > 1 else None
        if writer is None or not writer.isOpened():
            raise DataError(f"cannot write a video of {size[0]}x{size[1]} at {fps:g} frames a second ({codec}): the writer refuses that size or rate")
        sink = FrameSink(writer, size)
        try:
            yield sink
        finally:
            writer.release()
        if not sink.frames:
            raise DataError(f"no frame was written to '{Path(path).name}'")
