"""No user command writes inside the installed package, checked by every file's content hash (CI runs as root,
where permissions would not stop a write)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib.cbook

import face2sketch
from face2sketch.train import train
from tests.conftest import compose_train, run_cli
from tests.release.test_release import TINY_PIX2PIX

PACKAGE_DIR = Path(face2sketch.__file__).parent


def package_contents() -> dict[str, str]:
    """Every file of the package (Python's bytecode caches aside) by its SHA-256."""
    files = [p for p in sorted(PACKAGE_DIR.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    return {str(p.relative_to(PACKAGE_DIR)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_no_user_command_writes_inside_the_package(tmp_path: Path) -> None:
    """train, evaluate, report, export and predict (shipped model and a run) leave every package file as it was."""
    before = package_contents()
    run = tmp_path / "runs" / "run"
    train(compose_train(run, *TINY_PIX2PIX, "data.num_train=4", "data.num_test=2", "trainer=cpu", "debug=limit", "++for_model.vgg_ae.weights=none"))
    photo = str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    commands = [
        ("face2sketch.evaluate", f"runs=[{run}]", f"paths.output_root={tmp_path}"),
        ("face2sketch.report", f"folders=[{run.parent}]", f"out={tmp_path / 'report'}", f"paths.output_root={tmp_path}"),
        ("face2sketch.export", f"ckpt={run}", "format=weights", f"output={tmp_path / 'model.pth'}", f"paths.output_root={tmp_path}"),
        ("face2sketch.predict", f"input={photo}", f"output={tmp_path / 'shipped'}", f"paths.output_root={tmp_path}"),
        ("face2sketch.predict", f"input={photo}", f"ckpt={tmp_path / 'model.pth'}", f"output={tmp_path / 'exported'}", f"paths.output_root={tmp_path}"),
    ]
    for module, *args in commands:
        result = run_cli(module, *args)
        assert result.returncode == 0, (module, result.stderr[-2000:])
    assert package_contents() == before
