"""Translate your own pictures with a trained model: photos to sketches (f2sk) or sketches to photos (sk2f).

    python -m face2sketch.predict input=<file | folder | glob>                     # the shipped face -> sketch model
    python -m face2sketch.predict input=<sketch> direction=sk2f                    # the shipped sketch -> face model
    python -m face2sketch.predict ckpt=<run folder | checkpoint.ckpt | model.onnx> input=<...> output=<folder>

Writes ``<output>/<input stem>.png`` (at the size of the region translated: the whole picture, or the
aligned face crop) and ``<output>/predictions.json``; ``side_by_side=true`` adds
``<output>/side_by_side/<stem>.png`` (input | output). Unreadable files are skipped and named.
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

from face2sketch.config import CONFIG_DIR
from face2sketch.data.alignment import align_if, resolve_align
from face2sketch.data.images import read_image
from face2sketch.errors import ConfigError, DataError, one_line_user_errors
from face2sketch.inference import Translator, load_translator, translate_regions
from face2sketch.io import write_json_atomic

log = logging.getLogger(__name__)
SIDE_BY_SIDE_DIR = "side_by_side"


@dataclass
class PredictionRecord:
    """One line of predictions.json; ``crop`` is [left, top, width, height] in the input's (upright) pixels."""

    input: str
    output: str | None = None
    status: str = "ok"
    reason: str | None = None
    face_found: bool = False
    crop: list[int] | None = None


@dataclass
class PendingImage:
    record: PredictionRecord
    name: str
    region: np.ndarray  # the uint8 RGB region that is translated (the whole picture or the face crop)


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


class Predictor:
    """Reads, aligns, batches, translates and writes; every file lands in ``staging`` first."""

    def __init__(self, translator: Translator, output: Path, staging: Path, align: bool, batch_size: int, write_side_by_side: bool) -> None:
        self.translator, self.output, self.staging = translator, output, staging
        self.align, self.batch_size, self.write_side_by_side = align, batch_size, write_side_by_side
        self.pending: list[PendingImage] = []
        if write_side_by_side:
            (staging / SIDE_BY_SIDE_DIR).mkdir()

    def add(self, path: Path, name: str) -> PredictionRecord:
        record = PredictionRecord(input=str(path))
        try:
            image = read_image(path)
        except DataError as err:
            record.status, record.reason = "skipped", str(err)
            log.warning("skipping %s: %s", path, err)
            return record
        aligned = align_if(image, self.align)
        if self.align and not aligned.face_found:
            log.warning("%s: no face found; translating the whole image", path)
        record.face_found, record.crop = aligned.face_found, list(aligned.crop) if aligned.crop else None
        self.pending.append(PendingImage(record, name, aligned.image))
        if len(self.pending) >= self.batch_size:
            self.flush()
        return record

    def flush(self) -> None:
        if not self.pending:
            return
        predictions = translate_regions(self.translator, [item.region for item in self.pending])
        for item, prediction in zip(self.pending, predictions, strict=False):
            Image.fromarray(prediction).save(self.staging / f"{item.name}.png")
            item.record.output = str(self.output / f"{item.name}.png")
            if self.write_side_by_side:
                Image.fromarray(side_by_side(item.region, prediction)).save(self.staging / SIDE_BY_SIDE_DIR / f"{item.name}.png")
        self.pending = []


def publish(staging: Path, output: Path) -> None:
    """Move every staged file into ``output`` (each move is atomic), then drop the staging folder."""
    for file in sorted(p for p in staging.rglob("*") if p.is_file()):
        target = output / file.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)
    shutil.rmtree(staging)


def summary_line(records: list[PredictionRecord], output: Path, aligned: bool) -> str:
    ok = [r for r in records if r.status == "ok"]
    skipped = [r for r in records if r.status == "skipped"]
    line = f"predict: {len(ok)} of {len(records)} images translated into {output}"
    if aligned:
        line += f"; {sum(r.face_found for r in ok)} with a face found"
    if skipped:
        line += f"; {len(skipped)} skipped: " + ", ".join(f"{Path(r.input).name} ({r.reason})" for r in skipped)
    return line


def predict(cfg: DictConfig) -> dict[str, Any]:
    """Translate every input; returns what predictions.json holds. Raises a DataError if nothing could be written."""
    if int(cfg.batch_size) < 1:
        raise ConfigError(f"batch_size must be at least 1, got {cfg.batch_size}")
    inputs = list_inputs(str(cfg.input))
    direction = OmegaConf.select(cfg, "direction.name")  # direction=f2sk|sk2f, the training config group
    translator = load_translator(cfg.get("ckpt"), cfg.device, direction=direction)
    if direction and translator.spec.direction != direction:
        raise ConfigError(f"ckpt '{cfg.ckpt}' translates {translator.spec.direction}, not direction={direction}: drop direction= or pick a {direction} model")
    align = resolve_align(cfg.align, translator.spec.source_kind)
    output = Path(str(cfg.output)).expanduser().resolve()
    if output.is_file():
        raise ConfigError(f"output '{output}' is a file: pass a folder")
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.predict.", dir=output.parent))
    try:
        predictor = Predictor(translator, output, staging, align, int(cfg.batch_size), bool(cfg.side_by_side))
        named = list(zip(inputs, unique_names(inputs), strict=True))
        records = [predictor.add(path, name) for path, name in tqdm(named, desc="predict", unit="image", disable=None)]
        predictor.flush()
        if not any(r.status == "ok" for r in records):
            reasons = "; ".join(f"{Path(r.input).name}: {r.reason}" for r in records[:3])
            raise DataError(f"nothing written: none of the {len(records)} inputs could be read ({reasons})")
        result = {"model": translator.origin, "spec": asdict(translator.spec), "align": align, "items": [asdict(r) for r in records]}
        write_json_atomic(staging / "predictions.json", result)
        output.mkdir(exist_ok=True)
        publish(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(summary_line(records, output, align))
    return result


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    predict(cfg)


if __name__ == "__main__":
    main()
