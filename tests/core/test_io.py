"""io.py: a write that fails leaves the previous output whole, with no temporary file behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from face2sketch.core.io import atomic_path, write_json_atomic


def test_a_failed_write_leaves_the_previous_output_whole(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json_atomic(target, {"ssim": 0.5})
    with pytest.raises(RuntimeError), atomic_path(target) as partial:
        partial.write_text('{"ssim": 0.')
        raise RuntimeError("disk full")
    assert json.loads(target.read_text()) == {"ssim": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"], "no temporary file is left behind"
