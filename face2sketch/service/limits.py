"""What one server takes, apart from the web framework, so that the command checks its settings before importing it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one server takes: the body size, the requests admitted at once (translating or waiting), the seconds a
    request may take, the API key every request must carry (None: none needed), and the batching window."""

    max_body_bytes: int = 10 * 2**20
    max_admitted: int = 16
    timeout_seconds: float = 30.0
    api_key: str | None = None
    # requests arriving within this many ms of the first are translated as one batch of at most max_batch (0: one by one)
    batch_window_ms: float = 0.0
    max_batch: int = 8
