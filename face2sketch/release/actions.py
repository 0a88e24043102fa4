"""The release actions: each writes package data that users' commands only read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from face2sketch.core.config import compose_config
from face2sketch.core.errors import ConfigError
from face2sketch.core.run_folder import locate_run
from face2sketch.evaluate import evaluate
from face2sketch.export import write_checked
from face2sketch.inference import shipped
from face2sketch.inference.checkpoints import inference_network, load_trained_model, spec_of_run
from face2sketch.inference.files import file_sha256
from face2sketch.inference.torch_files import WeightsTranslator
from face2sketch.release.models_index import card_robustness, card_scores, entry_of_run, record


def ship(cfg: DictConfig) -> None:
    """A pix2pix run's generator, in half precision, becomes the shipped model of its direction, recorded in
    models.json (checksum, training command, data settings, identities) with its ONNX twin. Nothing changes unless both
    files pass their export checks and the run's records are in hand; its test scores follow with ``action=scores``."""
    if cfg.get("ckpt") is None:
        raise ConfigError("action=ship needs the run to ship: pass ckpt=<pix2pix run folder | checkpoint.ckpt inside one>")
    located = locate_run(str(cfg.ckpt))
    if located is None:
        raise ConfigError(f"ckpt '{cfg.ckpt}' is not a run folder or a .ckpt inside one")
    run, checkpoint = located
    cfg_run, model = load_trained_model(run, checkpoint)
    network, spec = inference_network(model).cpu(), spec_of_run(cfg_run, model)
    output = shipped.PRETRAINED_DIR / f"{spec.direction}.pth"
    entries: list[dict[str, Any]] = []

    def with_onnx_twin(staged: Path) -> None:  # the weights file is checked and staged, not yet in place
        entry = entry_of_run(run, checkpoint, staged, output.name)  # first: it refuses a run without its records
        entries.append({**entry, "onnx": write_onnx_twin(WeightsTranslator(staged, torch.device("cpu")), output.with_suffix(".onnx"))})

    difference = write_checked(network, spec, "weights", output, before_publish=with_onnx_twin)
    (entry,) = entries
    record(spec.direction, entry)
    size, checksum = entry["bytes"] / 1e6, entry["sha256"][:12]
    print(f"ship: {output} ({size:.1f} MB, sha256 {checksum}..., export check {difference:.2e}) and its ONNX twin recorded in {shipped.PRETRAINED_INDEX}")


def write_onnx_twin(weights: WeightsTranslator, output: Path) -> dict[str, Any]:
    """The weights file's network as ONNX with the same float16 weights, which the shipped model runs as on the CPU
    (by ONNX Runtime, without torch), checked against the weights file; what models.json records of it."""
    difference = write_checked(weights.network, weights.spec, "onnx", output, half=True)
    print(f"onnx: {output} ({output.stat().st_size / 1e6:.1f} MB, max |onnx - weights file| = {difference:.2e})")
    return {"file": output.name, "sha256": file_sha256(output), "bytes": output.stat().st_size}


def onnx(cfg: DictConfig) -> None:
    """The ONNX files of the shipped models written again from their weights files (after a change to the export)."""
    for direction in cfg.directions:
        twin = write_onnx_twin(shipped.load_pretrained_weights(direction, "cpu"), shipped.PRETRAINED_DIR / f"{direction}.onnx")
        record(direction, onnx=twin)
        print(f"onnx: {direction} recorded in {shipped.PRETRAINED_INDEX}")


def scores(cfg: DictConfig) -> None:
    """Score each shipped model on the CUHK test split (clean, and under ``conditions``) and record what the model
    card quotes in models.json; the evaluation folders go under this command's run folder."""
    if cfg.get("data_root") is None:
        raise ConfigError("action=scores scores the shipped models on the CUHK test split: pass data_root=/path/to/cuhk")
    for direction in cfg.directions:
        cfg_eval = compose_config("evaluate", [f"runs=[pretrained/{direction}]"])
        cfg_eval.data_root, cfg_eval.output, cfg_eval.split = str(cfg.data_root), str(Path(cfg.paths.output_dir) / "scores"), "test"
        cfg_eval.conditions, cfg_eval.device = cfg.get("conditions"), cfg.device
        (summary,) = evaluate(cfg_eval)
        record(direction, test_scores=card_scores(summary), robustness=card_robustness(summary))
        print(f"scores: {direction} recorded in {shipped.PRETRAINED_INDEX}")


def eyes(cfg: DictConfig) -> None:
    """Where alignment's eyes sit in CUHK's training photos (never the testing ones): face2sketch/pictures/cuhk_eyes.json."""
    from face2sketch.core.io import write_json_atomic
    from face2sketch.data.pairing import image_files
    from face2sketch.pictures.alignment import EYES_FILE, measure_eyes

    if cfg.get("data_root") is None:
        raise ConfigError("action=eyes measures the CUHK training photos: pass data_root=/path/to/cuhk (holding 'Training photo')")
    folder = Path(str(cfg.data_root)).expanduser() / "Training photo"
    photos = image_files(folder)
    if not photos:
        raise ConfigError(f"no photos in '{folder}': pass data_root=<the CUHK release folder>")
    stats = measure_eyes(photos)
    write_json_atomic(EYES_FILE, stats)
    print(f"eyes: {stats['faces_found']}/{stats['photos']} faces; median eyes {stats['median']} -> {EYES_FILE}")


ACTIONS: dict[str, Callable[[DictConfig], None]] = {"ship": ship, "onnx": onnx, "scores": scores, "eyes": eyes}
