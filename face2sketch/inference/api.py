"""The Python API for apps: ``face2sketch.load`` returns a ``Model`` that translates pictures (a path, PIL image or
uint8 array), aligning photos by the eyes first. predict and the demo translate through it too.

Pictures stay numpy arrays from decoding to the finished result, so a model run by ONNX Runtime (the shipped models
on the CPU, any .onnx file) starts and runs without torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from face2sketch.core.errors import ConfigError, DataError
from face2sketch.inference.loading import load_translator
from face2sketch.inference.spec import ModelSpec
from face2sketch.inference.streams import FrameResult, FrameTranslator
from face2sketch.inference.translator import Translator
from face2sketch.pictures.alignment import Alignment, align_if, check_faces, resolve_align
from face2sketch.pictures.following import FollowSettings
from face2sketch.pictures.images import check_pixel_count, normalise_image, read_image

Picture = str | Path | bytes | Image.Image | np.ndarray


def check_options(faces: str, batch_size: int) -> None:
    """The options every client of ``Model`` may set wrongly, checked before a model is loaded."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    check_faces(faces)


def as_rgb_array(picture: Picture) -> np.ndarray:
    """A path, a file's bytes, a PIL image or a uint8 array (HxW, HxWx3 RGB or HxWx4 RGBA) as an upright uint8 RGB array.

    Unreadable files and oversized pictures are DataErrors with the reason; other types are a TypeError.
    """
    if isinstance(picture, (str, Path, bytes)):
        return read_image(picture)
    if isinstance(picture, Image.Image):
        check_pixel_count(*picture.size)
        return normalise_image(picture)
    if isinstance(picture, np.ndarray):
        if picture.dtype != np.uint8 or picture.ndim not in (2, 3) or (picture.ndim == 3 and picture.shape[2] not in (1, 3, 4)):
            raise DataError(f"a picture array must be uint8 HxW, HxWx3 (RGB) or HxWx4 (RGBA), got {picture.dtype} with shape {picture.shape}")
        check_pixel_count(picture.shape[1], picture.shape[0])
        plane = picture[..., 0] if picture.ndim == 3 and picture.shape[2] == 1 else picture
        mode = "L" if plane.ndim == 2 else ("RGB" if plane.shape[2] == 3 else "RGBA")
        return normalise_image(Image.fromarray(np.ascontiguousarray(plane), mode))
    raise TypeError(f"a picture is a file path, a PIL image or a uint8 numpy array, not {type(picture).__name__}")


@dataclass(frozen=True)
class Translation:
    """One translated face (or whole picture): the result, the region that was translated, and how it was aligned
    (``alignment.transform``: the 2x3 map from the picture's upright pixels into the result's; its face's eyes and
    detection score)."""

    image: Image.Image
    aligned: Image.Image
    alignment: Alignment

    def record(self) -> dict[str, Any]:
        return self.alignment.record()


@dataclass(frozen=True)
class Outcome:
    """One picture of ``Model.translate_each``: the faces (or whole picture) aligned and their translations, or the
    DataError that says why the picture was skipped."""

    picture: Picture
    alignments: list[Alignment]
    error: DataError | None = None
    translations: list[Translation] = field(default_factory=list)


class Model:
    """A trained model behind an app: ``model(picture)`` returns the translation as a PIL image.

    Photos are aligned by default (the largest face found, turned and cropped as CUHK frames its faces); sketches
    are not. ``faces="all"`` translates every face, largest first. ``translate`` also returns the alignment record.
    """

    def __init__(self, translator: Translator, align: object = "auto", faces: str = "largest", batch_size: int = 16) -> None:
        check_options(faces, batch_size)
        self.translator, self.faces, self.batch_size = translator, faces, batch_size
        self.align = resolve_align(align, translator.spec.source_kind)

    def with_options(self, align: object | None = None, faces: str | None = None, batch_size: int | None = None) -> Model:
        """This model with other options: the loaded network is shared, not loaded again."""
        return Model(
            self.translator,
            self.align if align is None else align,
            self.faces if faces is None else faces,
            self.batch_size if batch_size is None else batch_size,
        )

    @property
    def spec(self) -> ModelSpec:
        return self.translator.spec

    @property
    def origin(self) -> str:
        return self.translator.origin

    def __call__(self, picture: Picture) -> Image.Image:
        """The translation of ``picture`` (a path, PIL image or uint8 array): the largest face's, or the whole picture's."""
        return self.translate(picture, faces="largest")[0].image

    def batch(self, pictures: list[Picture]) -> list[Image.Image]:
        """``model(picture)`` for each picture, translated in batches."""
        return [found[0].image for found in self.translate_batch(pictures, faces="largest")]

    def align_picture(self, picture: Picture, faces: str | None = None) -> list[Alignment]:
        """The regions ``translate`` would translate: a DataError says why there is none (no face, too small, unreadable)."""
        return align_if(as_rgb_array(picture), self.align, faces or self.faces)

    def translate(self, picture: Picture, faces: str | None = None) -> list[Translation]:
        """Every face translated (one with ``faces="largest"``, the default), each with its alignment record."""
        return self.translate_aligned(self.align_picture(picture, faces))

    def translate_batch(self, pictures: list[Picture], faces: str | None = None) -> list[list[Translation]]:
        """``translate`` for each picture, all faces batched together; a DataError names the picture it is about (1 = the first)."""
        alignments = []
        for index, picture in enumerate(pictures, start=1):
            try:
                alignments.append(self.align_picture(picture, faces))
            except DataError as err:
                raise DataError(f"picture {index} ({picture if isinstance(picture, (str, Path)) else type(picture).__name__}): {err}") from err
        translated = iter(self.translate_aligned([region for found in alignments for region in found]))
        return [[next(translated) for _ in found] for found in alignments]

    def translate_each(self, pictures: Iterable[Picture]) -> Iterator[Outcome]:
        """Every picture's outcome, in order: its translations, or the DataError that says why it was skipped (unreadable,
        no usable face). Faces are translated in batches across pictures: a batch is run once ``batch_size`` faces wait."""
        waiting: list[Outcome] = []
        for picture in pictures:
            try:
                waiting.append(Outcome(picture, self.align_picture(picture)))
            except DataError as err:
                waiting.append(Outcome(picture, [], err))
            if sum(len(outcome.alignments) for outcome in waiting) >= self.batch_size:
                yield from self._translate_waiting(waiting)
                waiting = []
        yield from self._translate_waiting(waiting)

    def _translate_waiting(self, waiting: list[Outcome]) -> Iterator[Outcome]:
        translated = iter(self.translate_aligned([alignment for outcome in waiting for alignment in outcome.alignments]))
        for outcome in waiting:
            yield replace(outcome, translations=[next(translated) for _ in outcome.alignments])

    def frames(self, fps: float = 25.0, show: str = "overlay", follow: FollowSettings | None = None) -> FrameTranslator:
        """A translator for the frames of one stream (a video, a camera), called frame by frame in order: the face is
        followed from frame to frame and its eyes smoothed (``follow``: ``FollowSettings``), so that a still head gives
        a still result. ``show``: "overlay" (the sketch over the face in the frame), "sketch" (the sketch alone, in
        CUHK's frame at the stream's height) or "side_by_side" (the frame, then the overlay)."""
        return FrameTranslator(self.translator, self.align, show, fps, follow or FollowSettings())

    def stream(self, frames: Iterable[np.ndarray], fps: float = 25.0, show: str = "overlay", follow: FollowSettings | None = None) -> Iterator[FrameResult]:
        """Each frame (uint8 HxWx3 RGB) translated, in order: one ``FrameResult`` per frame (see ``frames``).

        for result in face2sketch.load("f2sk").stream(frames, fps=30):
            show(result.image)
        """
        translate = self.frames(fps, show, follow)
        for frame in frames:
            yield translate(frame)

    def translate_aligned(self, alignments: list[Alignment]) -> list[Translation]:
        """Translate aligned regions in batches of ``batch_size``."""
        results = []
        for start in range(0, len(alignments), self.batch_size):
            chunk = alignments[start : start + self.batch_size]
            for alignment, prediction in zip(chunk, self.translator.translate_pictures([a.image for a in chunk]), strict=True):
                results.append(Translation(Image.fromarray(prediction), Image.fromarray(alignment.image), alignment))
        return results


def load(model: str | Path = "f2sk", align: object = "auto", faces: str = "largest", device: str = "auto", batch_size: int = 16) -> Model:
    """A trained model to call on pictures: "f2sk" or "sk2f" (the shipped models), or a run folder, a ``.ckpt`` inside
    one, or a file written by ``face2sketch.export`` (``.onnx``, ``.pt``, ``.pth``).

        model = face2sketch.load("f2sk")
        sketch = model("me.jpg")  # a PIL image

    ``align``: "auto" (photos yes, sketches no), True or False; ``faces``: "largest" or "all". ``device``: "auto"
    (the GPU when there is one), "cpu" or "cuda"; on the CPU the shipped models run by ONNX Runtime, without torch.
    """
    check_options(faces, batch_size)
    return Model(load_translator(model, device), align, faces, batch_size)
