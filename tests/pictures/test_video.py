"""Video files as frames: read in order with their rate and size, written whole or not at all, and every file that
cannot be read or written refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from face2sketch.core.errors import DataError
from face2sketch.pictures.video import VideoReader, is_video, video_writer


def frames(count: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    """Frames whose brightness counts up, so that their order can be read back from a lossy video."""
    return [np.full((size[1], size[0], 3), 20 + 20 * index, np.uint8) for index in range(count)]


def write(path: Path, fps: float, pictures: list[np.ndarray]) -> Path:
    with video_writer(path, fps, (pictures[0].shape[1], pictures[0].shape[0])) as sink:
        for picture in pictures:
            sink.write(picture)
    return path


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm"])
def test_a_written_video_reads_back_with_its_frames_in_order_its_rate_and_its_size(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, 12.0, frames(7))
    reader = VideoReader(path)
    assert (reader.info.fps, reader.info.size, reader.info.frames) == (12.0, (64, 48), 7)
    read = list(reader)
    assert len(read) == 7 and all(frame.shape == (48, 64, 3) and frame.dtype == np.uint8 for frame in read)
    assert np.abs(np.array([float(frame.mean()) for frame in read]) - (20 + 20 * np.arange(7))).max() < 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "nothing staged is left beside it"


def test_an_animated_gif_is_a_video_and_a_still_one_a_picture(tmp_path: Path) -> None:
    pictures = [Image.fromarray(frame) for frame in frames(4)]
    pictures[0].save(tmp_path / "moving.gif", save_all=True, append_images=pictures[1:], duration=50, loop=0)
    pictures[0].save(tmp_path / "still.gif")
    assert is_video(tmp_path / "moving.gif") and not is_video(tmp_path / "still.gif")
    assert is_video(tmp_path / "a.MOV") and not is_video(tmp_path / "a.png")
    reader = VideoReader(tmp_path / "moving.gif")
    assert len(list(reader)) == 4 and reader.info.fps == 20.0


def test_a_writer_that_fails_leaves_nothing_and_one_it_refuses_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="the translation failed"), video_writer(tmp_path / "out.mp4", 25.0, (64, 48)) as sink:
        sink.write(frames(1)[0])
        raise RuntimeError("the translation failed")
    with pytest.raises(DataError, match=r"^frame 2 is 32x48, the video 64x48$"), video_writer(tmp_path / "out.mp4", 25.0, (64, 48)) as sink:
        sink.write(frames(1)[0])
        sink.write(frames(1, (32, 48))[0])
    with pytest.raises(DataError, match=r"^cannot write a video of 64x48 at 0 frames a second \(mp4v\)"), video_writer(tmp_path / "out.mp4", 0.0, (64, 48)):
        pass
    with pytest.raises(DataError, match="^no frame was written to 'out.mp4'$"), video_writer(tmp_path / "out.mp4", 25.0, (64, 48)):
        pass
    with (
        pytest.raises(DataError, match=r"^cannot write a video as 'out.gif': name it .mp4, .m4v, .mov, .avi, .mkv, .webm$"),
        video_writer(tmp_path / "out.gif", 25.0, (64, 48)),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["not a video", "truncated", "empty", "missing"])
def test_a_video_that_cannot_be_read_is_named_in_one_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "clip.mp4"
    if case == "not a video":
        path.write_text("notes, not frames")
    elif case == "truncated":
        whole = write(tmp_path / "whole.mp4", 25.0, frames(10)).read_bytes()
        path.write_bytes(whole[: len(whole) // 3])
    elif case == "empty":
        path.write_bytes(b"")
    message = "^video '.*clip.mp4' not found$" if case == "missing" else "^video 'clip.mp4' has no frame that can be read"
    with pytest.raises(DataError, match=message):
        VideoReader(path)


def test_following_settings_that_cannot_work_are_refused_in_one_line() -> None:
    from face2sketch.core.errors import ConfigError
    from face2sketch.pictures.following import FollowSettings

    with pytest.raises(ConfigError, match=r"^detect_every=0, hold_frames=12 are not allowed: use detect_every >= 1 and hold_frames >= 0$"):
        FollowSettings(detect_every=0)
    with pytest.raises(ConfigError, match=r"^min_cutoff=0.0, beta=0.3 are not allowed: use min_cutoff > 0 and beta >= 0$"):
        FollowSettings(min_cutoff=0.0)


def test_frames_of_an_odd_size_are_written_without_their_last_column_and_row(tmp_path: Path) -> None:
    """MPEG-4 writes even sides: the writer says so in its size, and the frame's other pixels are kept."""
    odd = [np.tile(np.linspace(0, 250, 33, dtype=np.uint8)[None, :, None], (25, 1, 3)) for _ in range(3)]
    with video_writer(tmp_path / "odd.mp4", 10.0, (33, 25)) as sink:
        for frame in odd:
            sink.write(frame)
    assert sink.size == (32, 24)
    read = list(VideoReader(tmp_path / "odd.mp4"))
    assert len(read) == 3 and read[0].shape == (24, 32, 3) and np.abs(read[0].astype(int) - odd[0][:24, :32]).mean() < 4
