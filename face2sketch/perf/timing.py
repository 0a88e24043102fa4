"""Timing that machine drift cannot bias: runners take turns call by call, and each gets the median of its calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU), so a timer reads finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def alternating_ms(runners: dict[str, Callable[[], Any]], repeats: int, device: torch.device, warmup: int = 3) -> dict[str, float]:
    """Median milliseconds per call of each runner, the runners taking turns call by call after ``warmup`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for round_ in range(warmup + repeats):
        for name, run in runners.items():
            synchronize(device)
            started = time.perf_counter()
            run()
            synchronize(device)
            if round_ >= warmup:
                times[name].append(1000 * (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in times.items()}
