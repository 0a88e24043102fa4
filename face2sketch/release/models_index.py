"""models.json, the record of the shipped models: written here, read by ``face2sketch.inference.shipped``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from face2sketch.core.errors import ConfigError
from face2sketch.core.io import write_json_atomic
from face2sketch.core.run_folder import RunFolder
from face2sketch.inference import shipped
from face2sketch.inference.files import file_sha256

# an example's name is its identity key, plus "_r90f" and the like for the paper protocol's symmetric copies
VARIANT_SUFFIX = r"_r\d+f?$"
# overrides that say where the run happened to be, not how it was trained
LOCAL_OVERRIDES = ("data.root=", "hydra.", "ckpt_path=")


def entry_of_run(run: RunFolder, checkpoint: Path, weights: Path, file_name: str) -> dict[str, Any]:
    """What models.json records about a shipped model: its file and checksum, and how it was trained and chosen
    (from the run's config, metrics.json and examples.json) so that evaluate can rebuild its test split."""
    missing = run.missing(RunFolder.CONFIG, RunFolder.METRICS, RunFolder.EXAMPLES)
    if missing:
        raise ConfigError(f"run folder '{run.path}' has no {', '.join(missing)}: ship a run trained by this version of face2sketch")
    cfg, summary, examples = run.config(), run.metrics(), run.examples()
    kept = [o for o in run.overrides() if not o.startswith(LOCAL_OVERRIDES)]
    data = OmegaConf.to_container(cfg.data, resolve=True)
    assert isinstance(data, dict)
    data.pop("root", None)
    best = summary.get("best_checkpoint")
    selection = summary["tested_weights"] if best and Path(best).name == checkpoint.name else f"checkpoint {checkpoint.name}"
    return {
        "file": file_name,
        "sha256": file_sha256(weights),
        "bytes": weights.stat().st_size,
        "command": " ".join(["python -m face2sketch.train", *kept, "data.root=<cuhk>"]),
        "seed": int(cfg.seed),
        "selection": selection,
        "epochs": summary["epochs"],
        "train_seconds": summary["wall_seconds"],
        "data": data,
        "identities": {side: sorted({re.sub(VARIANT_SUFFIX, "", name) for name in names}) for side, names in examples.items() if side in ("train", "val")},
    }


def card_scores(summary: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The scores docs/models.md quotes for a shipped model: SSIM, SSIM as the study computed it, MSE, FSIM (FSIMc for
    photos), SCOOT for sketches."""
    names = ("ssim", "ssim_study", "mse", "fsim", "scoot") if summary["direction"] == "f2sk" else ("ssim", "ssim_study", "mse", "fsim")
    return {name: {"mean": summary["metrics"][name]["mean"], "std": summary["metrics"][name]["std"]} for name in names}


def card_robustness(summary: dict[str, Any]) -> dict[str, Any] | None:
    """What docs/models.md quotes of a shipped model's robustness: per condition, the card's metrics and their ratio to
    clean; None when the evaluation ran without conditions."""
    conditions = summary.get("robustness")
    if not conditions:
        return None
    names = card_scores(summary)
    return {c: {n: {"mean": e["means"][n], "ratio": e["ratios"][n]} for n in names if n in e["means"]} for c, e in conditions.items()}


def record(
    direction: str,
    entry: dict[str, Any] | None = None,
    test_scores: dict[str, Any] | None = None,
    robustness: dict[str, Any] | None = None,
    onnx: dict[str, Any] | None = None,
) -> None:
    """Update models.json: a new entry for ``direction`` (``action=ship`` gives it its ONNX file; it has no test scores
    until it is scored), its ONNX file written again, or the test scores its evaluation measured (what the model card
    quotes), with the scores under each real-world condition."""
    index_file = shipped.PRETRAINED_INDEX
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    if entry is not None:
        index[direction] = entry
    if test_scores is not None:
        index[direction]["test_scores"] = test_scores
    if robustness is not None:
        index[direction]["robustness"] = robustness
    if onnx is not None:
        index[direction]["onnx"] = onnx
    write_json_atomic(index_file, dict(sorted(index.items())))
    shipped.pretrained_index.cache_clear()
