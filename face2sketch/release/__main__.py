"""Write the package's own data, from a source checkout only (conf/release.yaml).

python -m face2sketch.release action=ship ckpt=outputs/train/runs/<run>     # a run's generator becomes the shipped model
python -m face2sketch.release action=onnx                                   # the shipped models' ONNX files, from their weights
python -m face2sketch.release action=scores data_root=/path/to/cuhk         # the shipped models' test scores, into models.json
python -m face2sketch.release action=eyes data_root=/path/to/cuhk           # CUHK's eye positions, for alignment
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from face2sketch.core.config import CONFIG_DIR, FROM_CHECKOUT
from face2sketch.core.errors import ConfigError, one_line_user_errors
from face2sketch.release.actions import ACTIONS


def release(cfg: DictConfig) -> None:
    if cfg.action not in ACTIONS:
        raise ConfigError(f"unknown action '{cfg.action}': use one of {', '.join(ACTIONS)}")
    if not FROM_CHECKOUT:
        raise ConfigError("release writes the package's own files and runs from a source checkout only: clone the repository and pip install -e .")
    ACTIONS[cfg.action](cfg)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="release")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    release(cfg)


if __name__ == "__main__":
    main()
