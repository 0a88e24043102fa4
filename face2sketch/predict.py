"""Translate your own pictures with a trained model: photos to sketches (f2sk) or sketches to photos (sk2f).

    python -m face2sketch.predict input=<file | folder | glob>                     # the shipped face -> sketch model
    python -m face2sketch.predict input=<sketch> direction=sk2f                    # the shipped sketch -> face model
    python -m face2sketch.predict ckpt=<run folder | checkpoint.ckpt | model.onnx> input=<...> output=<folder>

Videos (``input=clip.mp4``, or among the files of a folder) are written as ``<output>/<input stem>.mp4`` at their frame
rate, the face followed from frame to frame (``show=overlay|sketch|side_by_side``), with a record per frame.

Writes ``<output>/<input stem>.png`` (at the size of the region translated: the whole picture, or the aligned face;
``faces=all``: ``<stem>_face<n>.png`` for every face) and ``<output>/predictions.json`` (for every output the 2x3
transform from the input's pixels into it, the eyes and the detection score); ``side_by_side=true`` adds
``<output>/side_by_side/<stem>.png`` (input | output). Unreadable files, and photos without a usable face, are
skipped and named. Pictures are translated by ``face2sketch.load``'s ``Model``, as in the Python API and the demo.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf
from PIL import Image
from tqdm import tqdm

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import ConfigError, DataError, one_line_user_errors
from face2sketch.core.io import publish_files, write_json_atomic
from face2sketch.inference.api import Model, Outcome, check_options, load
from face2sketch.inference.streams import check_show
from face2sketch.inference.videos import translate_video
from face2sketch.pictures.following import NO_FACE, FollowSettings
from face2sketch.pictures.video import OUTPUT_SUFFIX, is_video

log = logging.getLogger(__name__)
SIDE_BY_SIDE_DIR = "side_by_side"


@dataclass
class PredictionRecord:
    """One line of predictions.json: one translated face (or whole picture), or one input skipped with its reason.

    ``transform`` is the 2x3 map from the input's upright pixels into the output's, ``size`` the output's (width,
    height); ``eyes`` (image-left eye first, input pixels) and ``score`` are the detection's, ``faces_found`` how many
    faces the picture held, ``face`` which of them this is with faces=all (1 = the largest).
    """

    input: str
    output: str | None = None
    status: str = "ok"
    reason: str | None = None
    face_found: bool = False
    face: int | None = None
    faces_found: int = 0
    transform: list[list[float]] | None = None
    size: list[int] | None = None
    eyes: list[list[float]] | None = None
    score: float | None = None
    # a video's frame rate and, for each frame, its status (detected, followed, held, no face), transform and eyes
    fps: float | None = None
    frames: list[dict[str, Any]] | None = None


def list_inputs(spec: str) -> list[Path]:
    """The files named by ``input=``: one file, every file in a folder (not hidden ones), or a glob pattern."""
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    elif path.is_file():
        files = [path]
    elif glob.has_magic(spec):
        files = sorted(Path(p) for p in glob.glob(os.path.expanduser(spec)) if Path(p).is_file())
    else:
        raise ConfigError(f"input '{spec}' not found: pass input=<image file | folder | glob pattern>")
    if not files:
        raise ConfigError(f"input '{spec}' names no files")
    return files


def unique_names(paths: list[Path]) -> list[str]:
    """Output names from input stems; a repeated stem (a.jpg, a.png) gets its extension appended."""
    stems = [p.stem for p in paths]
    names, used = [], set()
    for path, stem in zip(paths, stems, strict=False):
        name = stem if stems.count(stem) == 1 else f"{stem}_{path.suffix.lstrip('.').lower()}"
        while name in used:
            name += "_"
        used.add(name)
        names.append(name)
    return names


def side_by_side(region: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """input | output as one RGB picture (the output has the region's size)."""
    as_rgb = prediction if prediction.ndim == 3 else np.repeat(prediction[..., None], 3, axis=2)
    return np.concatenate([region, as_rgb], axis=1)


class OutputWriter:
    """Names and writes each outcome's files into ``staging``, one record per translated face or skipped input."""

    def __init__(self, model: Model, output: Path, staging: Path, write_side_by_side: bool) -> None:
        self.model, self.output, self.staging, self.write_side_by_side = model, output, staging, write_side_by_side
        if write_side_by_side:
            (staging / SIDE_BY_SIDE_DIR).mkdir()

    def write(self, outcome: Outcome, name: str) -> list[PredictionRecord]:
        path = outcome.picture
        if outcome.error is not None:
            log.warning("skipping %s: %s", path, outcome.error)
            return [PredictionRecord(input=str(path), status="skipped", reason=str(outcome.error))]
        if outcome.alignments and outcome.alignments[0].faces_found > 1 and self.model.faces == "largest":
            log.info("%s: %d faces found; translating the largest (faces=all translates each)", path, outcome.alignments[0].faces_found)
        records = []
        for index, translation in enumerate(outcome.translations, start=1):
            face = index if self.model.faces == "all" else None
            stem = name if face is None else f"{name}_face{face}"
            alignment = translation.alignment
            translation.image.save(self.staging / f"{stem}.png")
            if self.write_side_by_side:
                pair = side_by_side(alignment.image, np.asarray(translation.image))
                Image.fromarray(pair).save(self.staging / SIDE_BY_SIDE_DIR / f"{stem}.png")
            output = str(self.output / f"{stem}.png")
            records.append(PredictionRecord(input=str(path), output=output, face_found=alignment.face is not None, face=face, **alignment.record()))
        return records


def summary_line(records: list[PredictionRecord], output: Path, aligned: bool) -> str:
    ok = [r for r in records if r.status == "ok"]
    skipped = [r for r in records if r.status == "skipped"]
    inputs = len({r.input for r in records})
    videos = len([r for r in ok if r.frames is not None])
    what = "images" if not videos else f"inputs ({videos} videos)"
    line = f"predict: {len({r.input for r in ok})} of {inputs} {what} translated into {output}"
    if aligned:
        line += f" ({len(ok) - videos} faces)" if not videos else ""
    if skipped:
        line += f"; {len(skipped)} skipped: " + ", ".join(f"{Path(r.input).name} ({r.reason})" for r in skipped)
    return line


def load_model(cfg: DictConfig) -> Model:
    """The model ``ckpt`` names (the shipped one for ``direction`` without it), checked against ``direction``."""
    direction = OmegaConf.select(cfg, "direction.name")  # direction=f2sk|sk2f, the training config group
    ckpt = cfg.get("ckpt")
    model = load(ckpt if ckpt is not None else (direction or "f2sk"), cfg.align, str(cfg.get("faces", "largest")), cfg.device, int(cfg.batch_size))
    if direction and model.spec.direction != direction:
        raise ConfigError(f"ckpt '{cfg.ckpt}' translates {model.spec.direction}, not direction={direction}: drop direction= or pick a {direction} model")
    return model


def write_videos(model: Model, cfg: DictConfig, videos: list[Path], names: list[str], output: Path, staging: Path) -> list[PredictionRecord]:
    """Each video translated into ``staging``: one record with its frames, or the reason it was skipped."""
    records: list[PredictionRecord] = []
    following = bool(cfg.get("follow", True))
    follow = FollowSettings(follow=following, smooth=following, detect_every=int(cfg.get("detect_every", FollowSettings.detect_every)))
    show = str(cfg.get("show", "overlay"))
    for video, name in zip(videos, names, strict=True):
        with tqdm(desc=video.name, unit="frame", disable=None) as bar:
            try:
                done = translate_video(video, staging / f"{name}{OUTPUT_SUFFIX}", lambda fps: model.frames(fps, show, follow), bar.update)
            except DataError as err:
                log.warning("skipping %s: %s", video, err)
                records.append(PredictionRecord(input=str(video), status="skipped", reason=str(err)))
                continue
        found = sum(frame["status"] != NO_FACE for frame in done.frames)
        output_file = str(output / done.output.name)
        records.append(PredictionRecord(input=str(video), output=output_file, face_found=found > 0, size=list(done.size), fps=done.fps, frames=done.frames))
    return records


def predict(cfg: DictConfig) -> dict[str, Any]:
    """Translate every input; returns what predictions.json holds. Raises a DataError if nothing could be written."""
    check_options(str(cfg.get("faces", "largest")), int(cfg.batch_size))
    check_show(str(cfg.get("show", "overlay")))
    inputs = list_inputs(str(cfg.input))
    model = load_model(cfg)
    output = Path(str(cfg.output)).expanduser().resolve()
    if output.is_file():
        raise ConfigError(f"output '{output}' is a file: pass a folder")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.predict.", dir=output.parent))
    try:
        names = dict(zip(inputs, unique_names(inputs), strict=True))
        pictures, videos = [p for p in inputs if not is_video(p)], [p for p in inputs if is_video(p)]
        writer = OutputWriter(model, output, staging, bool(cfg.side_by_side))
        outcomes = tqdm(model.translate_each(pictures), total=len(pictures), desc="predict", unit="image", disable=None if pictures else True)
        records = [record for outcome, path in zip(outcomes, pictures, strict=True) for record in writer.write(outcome, names[path])]
        records += write_videos(model, cfg, videos, [names[path] for path in videos], output, staging)
        if not any(r.status == "ok" for r in records):
            reasons = "; ".join(f"{Path(r.input).name}: {r.reason}" for r in records[:3])
            raise DataError(f"nothing written: none of the {len(records)} inputs could be used ({reasons})")
        result = {"model": model.origin, "spec": asdict(model.spec), "align": model.align, "faces": model.faces, "items": [asdict(r) for r in records]}
        write_json_atomic(staging / "predictions.json", result)
        output.mkdir(exist_ok=True)
        publish_files(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(summary_line(records, output, model.align))
    return result


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    predict(cfg)


if __name__ == "__main__":
    main()
