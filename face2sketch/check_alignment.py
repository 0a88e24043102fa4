"""Align a release folder's photos as people photograph them, and say how alignment did.

    python -m face2sketch.check_alignment data_root=/path/to/cuhk folder="Testing photo" max_tilt=20 variants=3

Each photo is photographed ``variants`` times (tilted up to ``max_tilt`` degrees, rescaled, on another background,
relit, JPEG; face2sketch/realworld/photographed.py), aligned by the eyes as ``predict`` does, and its eyes compared with
CUHK's positions at 200x250 (docs/alignment.md).
"""

from __future__ import annotations

from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import ConfigError, one_line_user_errors
from face2sketch.data.pairing import image_files
from face2sketch.pictures.images import decode_image
from face2sketch.realworld.photographed import AlignmentCheck, Photographing, check_alignment


def check(cfg: DictConfig) -> AlignmentCheck:
    folder = Path(str(cfg.data_root)).expanduser() / str(cfg.folder)
    photos = image_files(folder)
    if not photos:
        raise ConfigError(f"no photos in '{folder}': pass data_root=<release folder> folder=<its photo folder>")
    how = Photographing(max_tilt=float(cfg.max_tilt))
    checked = check_alignment([decode_image(p, "RGB") for p in photos], np.random.default_rng(int(cfg.seed)), int(cfg.variants), how)
    print(f"{folder.name}, {len(photos)} photos x {cfg.variants}, tilted up to {cfg.max_tilt:g} degrees: {checked.summary()}")
    return checked


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="check_alignment")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    check(cfg)


if __name__ == "__main__":
    main()
