"""Errors a user can cause and fix: they end a command with one line, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable


class Face2SketchError(Exception):
    """A problem with the user's data, configuration or files; the message names the cause and the fix."""


class DataError(Face2SketchError):
    """Missing, unpaired or unreadable data."""


class ConfigError(Face2SketchError):
    """A configuration value that cannot work."""


def find_user_error(err: BaseException) -> Face2SketchError | None:
    """The user error behind an exception, also when Hydra's instantiate or Lightning wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, Face2SketchError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def exit_on_user_error(err: BaseException, cleanup: Callable[[], None] | None = None) -> None:
    """If ``err`` is (or wraps) a user error: clean up, print one line and exit with status 2; else return."""
    user_error = find_user_error(err)
    if user_error is None:
        return
    if cleanup is not None:
        cleanup()
    print(f"face2sketch: error: {user_error}", file=sys.stderr)
    raise SystemExit(2) from None
