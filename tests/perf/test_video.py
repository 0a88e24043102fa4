"""The benchmark's video measurements: frames a second with each stage's share in both modes, the table they make,
and the one line when the CUHK photos the clips are made from are missing."""

from __future__ import annotations

from pathlib import Path

import pytest

import face2sketch
from face2sketch.core.errors import ConfigError
from face2sketch.perf.tables import video_lines
from face2sketch.perf.video import cuhk_test_pairs, video_speed
from tests.inference.test_streams import photo


def test_each_mode_counts_its_frames_and_detections_and_its_stages_share_the_wall_time() -> None:
    follow, every = video_speed(face2sketch.load("f2sk", device="cpu"), photo(), (320, 240), seconds=0.8, kind="still")
    assert (follow["mode"], every["mode"]) == ("follow", "detect every frame") and follow["frames"] == every["frames"] == 20
    assert every["detections"] == 20 and follow["detections"] == 2, "the first frame, then the 16th"
    for row in (follow, every):
        assert set(row["shares"]) == {"decode", "find", "translate", "compose", "encode"} and row["fps"] > 0
        assert all(share > 0 for share in row["shares"].values()) and 0.5 < sum(row["shares"].values()) <= 1.0
    assert every["shares"]["find"] > follow["shares"]["find"]


def test_the_video_table_shows_a_row_per_size_and_mode_and_one_per_clip() -> None:
    shares = {"decode": 0.03, "find": 0.2, "translate": 0.5, "compose": 0.1, "encode": 0.07}
    quality = {"kind": "still", "pairs": 5, "frames_compared": 500, "fsim_ratio": 0.999, "scoot_ratio": 1.001}
    quality |= {"follow": {"jitter_px": 0.04, "flicker": 0.7}, "detect every frame": {"jitter_px": 0.3, "flicker": 1.9}}
    speed = {"size": [640, 480], "mode": "follow", "frames": 100, "fps": 33.44, "shares": shares, "detections": 7}
    lines = video_lines({"seconds": 4.0, "speed": [speed], "quality_size": [640, 480], "quality": [quality]})
    assert "| 640x480 | follow | 33.4 | 7 of 100 | 3% | 20% | 50% | 10% | 7% |" in lines
    assert "| still | 0.040 | 0.300 | 0.70 | 1.90 | 0.999 | 1.001 | 500 |" in lines


def test_without_the_cuhk_test_photos_the_video_benchmark_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=rf"^the video benchmark makes its clips from CUHK's test photos and sketches, not found under {tmp_path}: pass data_root="
    ):
        cuhk_test_pairs(tmp_path, 2)
