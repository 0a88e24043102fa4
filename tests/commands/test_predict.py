"""The predict command: the shipped models by default in both directions, the imports a cold start pays for (never
torch on the CPU), refused checkpoints and inputs in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib.cbook
import numpy as np
from PIL import Image

from face2sketch.inference.shipped import PRETRAINED_DIR
from tests.conftest import PROJECT_ROOT, run_cli
from tests.inference.test_shipped import portrait


def test_predict_imports_neither_lightning_nor_albumentations_nor_torchvision() -> None:
    """A cold predict with a shipped or exported model pays for none of the training stack's imports."""
    heavy = "{'lightning', 'albumentations', 'torchvision', 'torchmetrics'}"
    probe = f"import sys, face2sketch.predict; print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_predict_with_the_shipped_model_on_the_cpu_never_imports_torch(tmp_path: Path) -> None:
    """The whole command, Hydra's callbacks and the settings check included: ONNX Runtime runs the model."""
    photo = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    argv = ["predict", f"input={photo}", f"output={tmp_path / 'out'}", "device=cpu", f"paths.output_root={tmp_path / 'logs'}"]
    probe = (
        f"import runpy, sys; sys.argv = {argv!r}; runpy.run_module('face2sketch.predict', run_name='__main__'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'lightning'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]" and (tmp_path / "out" / "grace_hopper.png").is_file()


def test_nothing_readable_exits_2_in_one_line_and_writes_nothing(conv_run: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.jpg").write_text("text")
    result = run_cli(
        "face2sketch.predict", f"ckpt={conv_run}", f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}", f"paths.output_root={tmp_path / 'logs'}"
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("face2sketch: error")]
    assert result.returncode == 2 and len(errors) == 1 and "nothing written" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_predict_without_ckpt_sketches_a_face_photo_with_the_shipped_model(tmp_path: Path) -> None:
    result = run_cli("face2sketch.predict", f"input={portrait()}", f"output={tmp_path / 'out'}", "device=cpu", f"paths.output_root={tmp_path / 'logs'}")
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert Path(record["model"]) == PRETRAINED_DIR / "f2sk.onnx"  # on the CPU the shipped model runs by ONNX Runtime
    assert record["spec"]["direction"] == "f2sk" and record["align"] is True
    (item,) = record["items"]
    assert item["status"] == "ok" and item["face_found"], item
    sketch = np.asarray(Image.open(tmp_path / "out" / "grace_hopper.png"))
    width, height = item["size"]
    assert sketch.shape == (height, width) and abs(height / width - 1.25) < 0.01  # one-channel sketch of the face, framed as CUHK's
    assert 20 < sketch.mean() < 250 and sketch.std() > 10  # drawn lines on paper, not a blank or uniform page


def test_predict_direction_sk2f_turns_a_sketch_into_a_colour_photo(tmp_path: Path) -> None:
    sketch_path = tmp_path / "sketch.png"
    Image.open(portrait()).convert("L").save(sketch_path)
    result = run_cli(
        "face2sketch.predict", f"input={sketch_path}", "direction=sk2f", f"output={tmp_path / 'out'}", "device=cpu", f"paths.output_root={tmp_path / 'logs'}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert record["spec"]["direction"] == "sk2f" and record["align"] is False
    photo = np.asarray(Image.open(tmp_path / "out" / "sketch.png"))
    assert photo.shape == (600, 512, 3)
    assert np.abs(photo[..., 0].astype(int) - photo[..., 2].astype(int)).mean() > 2  # colour, not grey


def test_a_ckpt_that_translates_the_other_way_than_direction_is_refused(tmp_path: Path) -> None:
    result = run_cli(
        "face2sketch.predict",
        f"input={portrait()}",
        f"ckpt={PRETRAINED_DIR / 'f2sk.pth'}",
        "direction=sk2f",
        f"output={tmp_path / 'out'}",
        f"paths.output_root={tmp_path / 'logs'}",
    )
    assert result.returncode != 0
    assert "translates f2sk, not direction=sk2f" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_a_damaged_weights_file_given_as_ckpt_ends_predict_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.pth").write_bytes((PRETRAINED_DIR / "f2sk.pth").read_bytes()[:100_000])
    result = run_cli(
        "face2sketch.predict", f"input={portrait()}", f"ckpt={tmp_path / 'broken.pth'}", f"output={tmp_path / 'out'}", f"paths.output_root={tmp_path / 'logs'}"
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "cannot load weights file" in last and "broken.pth" in last
    assert not (tmp_path / "out").exists()


def test_predict_translates_a_video_frame_by_frame_and_a_truncated_one_exits_2_in_one_line(tmp_path: Path) -> None:
    """``predict input=clip.mp4`` as the README shows it: the video comes back as a video of as many frames at its
    rate, with a record per frame; a truncated video alone is one line and exit 2, and nothing is written."""
    from face2sketch.pictures.video import VideoReader, video_writer
    from tests.inference.test_streams import clip

    frames = clip("moving").frames[:10]
    with video_writer(tmp_path / "clip.mp4", 15.0, (frames[0].shape[1], frames[0].shape[0])) as sink:
        for frame in frames:
            sink.write(frame)
    result = run_cli(
        "face2sketch.predict", f"input={tmp_path / 'clip.mp4'}", f"output={tmp_path / 'out'}", "device=cpu", f"paths.output_root={tmp_path / 'logs'}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == f"predict: 1 of 1 inputs (1 videos) translated into {tmp_path / 'out'}"
    written = VideoReader(tmp_path / "out" / "clip.mp4")
    assert (written.info.fps, len(list(written))) == (15.0, 10)
    (item,) = json.loads((tmp_path / "out" / "predictions.json").read_text())["items"]
    assert [frame["status"] for frame in item["frames"]][:2] == ["detected", "followed"] and len(item["frames"]) == 10
    (tmp_path / "cut.mp4").write_bytes((tmp_path / "clip.mp4").read_bytes()[:2000])
    result = run_cli(
        "face2sketch.predict", f"input={tmp_path / 'cut.mp4'}", f"output={tmp_path / 'cut_out'}", "device=cpu", f"paths.output_root={tmp_path / 'logs'}"
    )
    assert result.returncode == 2 and not (tmp_path / "cut_out").exists()
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("face2sketch: error: nothing written: none of the 1 inputs could be used (cut.mp4: video 'cut.mp4' has no frame")
    )
