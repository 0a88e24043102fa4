"""A sweep's wall-time estimate, printed before its jobs start (``experiment=paper_gpu``)."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

from hydra import compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEstimate:
    name: str
    images: int
    seconds: float


def sweep_jobs(config: DictConfig) -> list[list[str]]:
    """Each job's overrides, as the basic sweeper expands them: the sweeper's params, then the command line's."""
    lines = [f"{key}={value}" for key, value in (config.hydra.sweeper.get("params") or {}).items()]
    by_key: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides([*lines, *config.hydra.overrides.task]):
        key = override.get_key_element()
        by_key[key] = [f"{key}={value}" for value in override.sweep_string_iterator()] if override.is_sweep_override() else [str(override.input_line)]
    return [list(job) for job in itertools.product(*by_key.values())]


def estimate_job(job: DictConfig, images_per_second: dict[str, float], train_examples: dict[str, int]) -> JobEstimate:
    """Training seconds of one composed job: epochs x examples per epoch / the model's measured rate."""
    model, split = str(job.hydra.runtime.choices.model), str(job.data.split)
    with open_dict(job):
        # the job's own model, not the sweep's: its for_model settings (conf/train.yaml) are read by this name
        job.model_name = model
    images = int(job.trainer.max_epochs) * int(train_examples[split])
    return JobEstimate(f"{model} {job.direction.name} {split}", images, images / float(images_per_second[model]))


class WallTimeEstimate(Callback):
    """Hydra callback: before a sweep starts, log each job's estimated training time and the sweep's wall time.

    Jobs run at once on one GPU: the longest job, slowed by sharing the GPU, bounds the wall time from below, and
    all jobs run one after another bound it from above.
    """

    def __init__(self, images_per_second: dict[str, float], train_examples: dict[str, int], overhead_seconds: float = 60.0) -> None:
        self.images_per_second = dict(images_per_second)
        self.train_examples = dict(train_examples)
        self.overhead_seconds = overhead_seconds

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            jobs = [
                estimate_job(compose("train", overrides=o, return_hydra_config=True), self.images_per_second, self.train_examples) for o in sweep_jobs(config)
            ]
        except Exception as err:  # an estimate never stops the sweep
            log.warning("no time estimate: %s", err)
            return
        for job in jobs:
            log.info("estimate: %-24s %9d training images  %6.0f s", job.name, job.images, job.seconds)
        longest = max(jobs, key=lambda j: j.seconds)
        total = sum(j.seconds for j in jobs)
        log.info(
            "estimate: %d jobs; the longest (%s) trains for %.0f s, all of them one after another for %.0f s; expected wall "
            "time %.1f-%.1f min with start-up and evaluation (%.0f s a job)",
            len(jobs),
            longest.name,
            longest.seconds,
            total,
            (longest.seconds + self.overhead_seconds) / 60,
            (total + self.overhead_seconds) / 60,
            self.overhead_seconds,
        )
