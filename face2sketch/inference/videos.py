"""A video file through a model: its frames read, streamed through ``Model.frames`` (the face followed from frame to
frame) and written as a video of the input's frame rate, whole or not at all, with a record per frame."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from face2sketch.core.errors import DataError
from face2sketch.inference.streams import FrameTranslator
from face2sketch.pictures.following import NO_FACE
from face2sketch.pictures.video import VideoReader, video_writer


@dataclass(frozen=True)
class VideoOutcome:
    """A translated video: the file written, its frame rate and size, what happened in each frame, and the seconds
    spent in each stage (decode, find, translate, compose, encode)."""

    output: Path
    fps: float
    size: tuple[int, int]
    frames: list[dict[str, Any]]
    seconds: dict[str, float]


class TimedFrames:
    """A reader's frames, with the seconds spent decoding them."""

    def __init__(self, reader: VideoReader) -> None:
        self.frames, self.seconds = iter(reader), 0.0

    def __iter__(self) -> TimedFrames:
        return self

    def __next__(self) -> np.ndarray:
        started = time.perf_counter()
        try:
            return next(self.frames)
        finally:
            self.seconds += time.perf_counter() - started


def translate_video(source: Path, output: Path, frames: Callable[[float], FrameTranslator], progress: Callable[[int], None] | None = None) -> VideoOutcome:
    """Translate every frame of ``source`` into ``output`` (.mp4) with the frame translator ``frames(fps)`` makes.

    A video that cannot be read, or (aligning) holds no face in any frame, is a DataError and leaves no file behind.
    """
    reader = VideoReader(source)
    translate = frames(reader.info.fps)
    decoded = TimedFrames(reader)
    records: list[dict[str, Any]] = []
    encoding = 0.0
    with ExitStack() as stack:
        sink = None
        for index, frame in enumerate(decoded):
            result = translate(frame)
            if sink is None:
                sink = stack.enter_context(video_writer(output, reader.info.fps, (result.image.shape[1], result.image.shape[0])))
            started = time.perf_counter()
            sink.write(result.image)
            encoding += time.perf_counter() - started
            records.append(result.record(index))
            if progress is not None:
                progress(1)
        if translate.follower is not None and all(record["status"] == NO_FACE for record in records):
            raise DataError(f"no face in any of the {len(records)} frames of '{source.name}': pass align=false to translate the whole frames")
    assert sink is not None  # the reader holds at least one frame
    seconds = {"decode": decoded.seconds, **translate.seconds, "encode": encoding}
    return VideoOutcome(output, reader.info.fps, sink.size, records, seconds)
