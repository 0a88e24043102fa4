"""Evaluate trained runs on the test split of their protocol with every metric of face2sketch.metrics.

    python -m face2sketch.evaluate runs=[outputs/train/runs/<run>]
    python -m face2sketch.evaluate runs=[outputs/train/multiruns/<time>] resolution=model
    python -m face2sketch.evaluate runs=[pretrained/f2sk,pretrained/sk2f] data_root=/path/to/cuhk   # the shipped models
    python -m face2sketch.evaluate runs=[pretrained/f2sk] data_root=/path/to/cuhk conditions=real   # and under real-world conditions

Each run gets ``<run>/evaluation/`` (``evaluation_<checkpoint>/`` for a named checkpoint), a shipped model
``<output>/pretrained_<direction>/``, with metrics.json (mean and standard deviation per metric, ``ssim_study``
beside ``ssim``), per_image.csv and predictions/<name>.png; with ``conditions=<set>`` also robustness.json, .csv and
.md (each condition's means and ratio to clean) and conditions/<condition>/ (sample inputs and predictions).
"""

from __future__ import annotations

from typing import Any

import hydra
from omegaconf import DictConfig

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import one_line_user_errors
from face2sketch.evaluation.evaluation import evaluate_subject
from face2sketch.evaluation.subjects import discover_subjects


def evaluate(cfg_eval: DictConfig) -> list[dict[str, Any]]:
    return [evaluate_subject(make_subject(), cfg_eval) for make_subject in discover_subjects(cfg_eval)]


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
