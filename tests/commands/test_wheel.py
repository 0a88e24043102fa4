"""A normal install: the wheel built from the repository, installed (no editable install) into a fresh virtual
environment, runs predict, the Python API and the demo training from a working folder outside the repository.

Installing torch and the rest into a fresh environment would download gigabytes; the new environment reads them from
this one through a .pth file instead, while face2sketch itself comes only from the wheel (installed --no-deps),
which each command proves by printing where it imported face2sketch from.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import matplotlib.cbook
import pytest

from tests.conftest import PROJECT_ROOT

WHERE = "import face2sketch, face2sketch.core.config as c; print('face2sketch from', face2sketch.__file__, 'configs from', c.CONFIG_DIR)"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the repository's files (the build's own folders stay out of the checkout)."""
    folder = tmp_path_factory.mktemp("build")
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    for name in ("face2sketch", "conf"):
        shutil.copytree(PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder / "dist"), str(source)]
    subprocess.run(command, check=True, capture_output=True)
    (built,) = (folder / "dist").glob("face2sketch-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its other packages are this environment's."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True).stdout.strip()
    )
    # this environment's packages, as plain path entries: their .pth files (an editable face2sketch among them) do not run
    ours = dict.fromkeys([*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (purelib / "dependencies.pth").write_text("".join(f"{path}\n" for path in ours if Path(path).is_dir()))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True, capture_output=True
    )
    return python


def run_installed(python: Path, cwd: Path, *args: str, timeout: int = 600, returncode: int = 0) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "FACE2SKETCH_API_KEY")}
    env.update({"NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONWARNINGS": "ignore"})
    result = subprocess.run([str(python), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == returncode, result.stderr[-3000:]
    return result


def test_the_wheel_holds_every_module_every_config_and_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "face2sketch").rglob("*.py")}
    configs = {f"face2sketch/conf/{p.relative_to(PROJECT_ROOT / 'conf')}" for p in (PROJECT_ROOT / "conf").rglob("*.yaml")}
    data = {
        "face2sketch/pictures/cuhk_eyes.json",
        "face2sketch/pretrained/f2sk.pth",
        "face2sketch/pretrained/sk2f.pth",
        "face2sketch/pretrained/f2sk.onnx",
        "face2sketch/pretrained/sk2f.onnx",
        "face2sketch/pretrained/models.json",
    }
    assert not (modules | configs | data) - names, sorted((modules | configs | data) - names)


def test_from_the_wheel_predict_a_picture_and_a_video_serve_the_api_and_the_demo_training_run_in_any_folder(installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "somewhere"
    work.mkdir()
    venv = installed.parent.parent
    where = run_installed(installed, work, "-c", WHERE).stdout
    assert f"face2sketch from {venv}" in where and f"configs from {venv}" in where and str(PROJECT_ROOT) not in where, where

    portrait = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    shutil.copy(portrait, work / "photo.jpg")
    run_installed(installed, work, "-m", "face2sketch.predict", "input=photo.jpg", "output=sketches", "device=cpu")
    (item,) = json.loads((work / "sketches" / "predictions.json").read_text())["items"]
    assert item["status"] == "ok" and item["eyes"] is not None and (work / "sketches" / "photo.png").is_file()

    from tests.inference.test_streams import clip
    from tests.test_predict import write_clip

    write_clip(work / "clip.mp4", clip("still").frames[:5], 10.0)
    run_installed(installed, work, "-m", "face2sketch.predict", "input=clip.mp4", "output=videos", "device=cpu")
    (item,) = json.loads((work / "videos" / "predictions.json").read_text())["items"]
    assert item["status"] == "ok" and len(item["frames"]) == 5 and (work / "videos" / "clip.mp4").is_file()
    refused = run_installed(installed, work, "-m", "face2sketch.serve", "host=0.0.0.0", returncode=2)
    assert refused.stderr.strip().splitlines()[-1].startswith("face2sketch: error: host=0.0.0.0 serves other machines")

    api = "import face2sketch; s = face2sketch.load('f2sk', device='cpu')('photo.jpg'); print(type(s).__name__, s.mode, face2sketch.__file__)"
    printed = run_installed(installed, work, "-c", api).stdout
    assert printed.startswith("Image L ") and str(venv) in printed, printed

    run_installed(installed, work, "-m", "face2sketch.train", "experiment=demo", "trainer.max_epochs=2")
    (run,) = (work / "outputs" / "train" / "runs").iterdir()
    assert (run / "metrics.json").is_file() and (run / "checkpoints").is_dir()
    assert (work / "outputs" / "predict").is_dir()  # predict's log folder is under the working folder too
    assert not list(venv.rglob("outputs")), "nothing is written into the environment"
