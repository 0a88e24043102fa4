"""Errors a user can cause and fix: they end a command with one line, not a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Face2SketchError(Exception):
    """A problem with the user's data, configuration or files; the message names the cause and the fix."""

    label = "error"
    exit_status = 2


class DataError(Face2SketchError):
    """Missing, paired-by-nothing or too few usable data."""


class ConfigError(Face2SketchError):
    """A configuration value that cannot work."""


class TrainingStopped(Face2SketchError):
    """Training stopped before its end on purpose; the run folder is kept and the message says what to do next."""

    label = "stopped"


class TrainingInterrupted(TrainingStopped):
    """SIGTERM or SIGINT: a checkpoint was saved; exits with 128 + the signal number, as a shell reports a signal."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.exit_status = 128 + signal_number


class TrainingDiverged(TrainingStopped):
    """A loss became NaN or infinite; the checkpoints saved before it are kept."""

    exit_status = 3


def find_user_error(err: BaseException) -> Face2SketchError | None:
    """The user error behind an exception, also when Hydra's instantiate or Lightning wrapped it; a required setting
    left out (``???`` in a command's config) is one too."""
    # only OmegaConf raises it, so where OmegaConf was never imported (the Python API) there is none to look for
    missing_value = getattr(sys.modules.get("omegaconf.errors"), "MissingMandatoryValue", None)
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, Face2SketchError):
            return current
        if missing_value is not None and isinstance(current, missing_value):  # a command's ??? setting left out
            key = current.full_key or "a required setting"
            return ConfigError(f"{key} has no value: pass {key}=... on the command line")
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def exit_on_user_error(err: BaseException, cleanup: Callable[[], None] | None = None) -> None:
    """If ``err`` is (or wraps) a user error: clean up, print one line and exit with its status; else return."""
    user_error = find_user_error(err)
    if user_error is None:
        return
    if cleanup is not None:
        cleanup()
    print(f"face2sketch: {user_error.label}: {user_error}", file=sys.stderr)
    raise SystemExit(user_error.exit_status) from None


def one_line_user_errors(cleanup: Callable[[Any], None] | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator for a command's ``main``: a user error, also one Hydra or Lightning wrapped, ends the command in one
    line with its exit status (``exit_on_user_error``); anything else is raised as it is. ``cleanup`` is called with
    ``main``'s first argument (its config) before the line is printed."""

    def decorate(main: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(main)
        def guarded(*args: Any, **kwargs: Any) -> T:
            try:
                return main(*args, **kwargs)
            except Exception as err:
                exit_on_user_error(err, cleanup=(lambda: cleanup(args[0])) if cleanup and args else None)
                raise

        return guarded

    return decorate
