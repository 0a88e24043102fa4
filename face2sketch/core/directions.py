"""The two directions a model translates in, and the kind of picture each reads and writes."""

from __future__ import annotations

# direction -> (what the model reads, what it writes)
DIRECTIONS = {"f2sk": ("photo", "sketch"), "sk2f": ("sketch", "photo")}


def source_kind(direction: str) -> str:
    """The kind of picture a model of ``direction`` reads: 'photo' or 'sketch'."""
    return DIRECTIONS[direction][0]


def target_kind(direction: str) -> str:
    """The kind of picture a model of ``direction`` writes."""
    return DIRECTIONS[direction][1]
