"""Errors a user can cause and fix: they end a command with one line, not a traceback."""


class Face2SketchError(Exception):
    """A problem with the user's data, configuration or files; the message names the cause and the fix."""


class DataError(Face2SketchError):
    """Missing, unpaired or unreadable data."""


class ConfigError(Face2SketchError):
    """A configuration value that cannot work."""
