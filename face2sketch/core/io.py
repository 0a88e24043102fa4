"""Small file helpers: outputs appear whole or not at all."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write to; it replaces ``path`` only if the block ends without an error.

    For writers that want a file name (``fig.savefig``, ``Image.save``); the suffix is kept so they pick the format.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; the result gets the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def torch_hub_file(name: str) -> Path:
    """Where torch.hub keeps a downloaded weights file (``$TORCH_HOME/hub/checkpoints/<name>``), present or not."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / name


def publish_folder(staging: Path, output_dir: Path) -> None:
    """Put the finished folder in place of any earlier one without a moment when neither is there whole.

    The earlier folder is renamed aside (``.<name>.old``), the new one renamed into place, and only then is the earlier
    one deleted. A failure in between puts the earlier one back; after a hard kill in between, the next publish
    finds ``.<name>.old`` alone and restores it first.
    """
    set_aside = output_dir.with_name(f".{output_dir.name}.old")
    if set_aside.exists() and not output_dir.exists():
        set_aside.rename(output_dir)
    shutil.rmtree(set_aside, ignore_errors=True)
    if output_dir.exists():
        output_dir.rename(set_aside)
    try:
        staging.rename(output_dir)
    except BaseException:
        if set_aside.exists() and not output_dir.exists():
            set_aside.rename(output_dir)
        raise
    shutil.rmtree(set_aside, ignore_errors=True)


def publish_files(staging: Path, output: Path) -> None:
    """Move every staged file into ``output`` (each move is atomic), then drop the staging folder."""
    for file in sorted(p for p in staging.rglob("*") if p.is_file()):
        target = output / file.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)
    shutil.rmtree(staging)
