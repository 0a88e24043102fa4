"""Serve trained models over HTTP for apps, in any language:

    python -m face2sketch.serve                                  # the shipped models on http://127.0.0.1:8000
    curl --data-binary @me.jpg -o sketch.png http://127.0.0.1:8000/v1/translate/f2sk

``POST /v1/translate/{f2sk|sk2f}`` takes the picture as the body (or a multipart ``file``), with ``align``
(auto/true/false), ``faces`` (largest/all) and ``format`` (png/jpeg/webp) in the query; ``Accept: application/json``
returns each face as base64 with its alignment record. ``GET /v1/models``, ``/health`` and ``/metrics`` (Prometheus
text). Errors are JSON, one line each. Another address than 127.0.0.1 needs ``api_key`` (or $FACE2SKETCH_API_KEY).
The faces of requests arriving within ``batch_window_ms`` are translated as one batch. SIGTERM stops taking requests
and lets those in progress finish.
"""

from __future__ import annotations

import ipaddress
import signal

import hydra
from omegaconf import DictConfig

from face2sketch.core.config import CONFIG_DIR
from face2sketch.core.errors import ConfigError, one_line_user_errors
from face2sketch.inference.api import Model, load
from face2sketch.service.limits import Limits


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def service_limits(cfg: DictConfig) -> Limits:
    """The limits the settings ask for, or a one-line ConfigError for the first that cannot work."""
    for key in ("port", "max_body_mb", "max_admitted", "max_batch"):
        if not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < 1 or (key == "port" and cfg[key] > 65535):
            raise ConfigError(f"{key}={cfg[key]} is not allowed: use a whole number >= 1" + (" and <= 65535" if key == "port" else ""))
    if not isinstance(cfg.timeout_s, (int, float)) or cfg.timeout_s <= 0:
        raise ConfigError(f"timeout_s={cfg.timeout_s} is not allowed: use a number of seconds above 0")
    if not isinstance(cfg.batch_window_ms, (int, float)) or cfg.batch_window_ms < 0:
        raise ConfigError(f"batch_window_ms={cfg.batch_window_ms} is not allowed: use a number of milliseconds >= 0 (0: one request at a time)")
    key = cfg.get("api_key")
    if key is None and not is_loopback(str(cfg.host)):
        raise ConfigError(f"host={cfg.host} serves other machines: pass api_key=<key> (or set FACE2SKETCH_API_KEY), or host=127.0.0.1")
    api_key = None if key is None else str(key)
    return Limits(int(cfg.max_body_mb) * 2**20, int(cfg.max_admitted), float(cfg.timeout_s), api_key, float(cfg.batch_window_ms), int(cfg.max_batch))


def load_models(cfg: DictConfig) -> dict[str, Model]:
    """The models by direction: both shipped ones, or the one ``ckpt`` names."""
    names = ["f2sk", "sk2f"] if cfg.get("ckpt") is None else [str(cfg.ckpt)]
    models = [load(name, device=str(cfg.device), batch_size=1) for name in names]
    return {model.spec.direction: model for model in models}


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="serve")
@one_line_user_errors()
def main(cfg: DictConfig) -> None:
    limits = service_limits(cfg)
    try:
        import uvicorn

        from face2sketch.service.app import build_app
    except ImportError as err:
        raise ConfigError("the server needs FastAPI and uvicorn: pip install -e '.[serve]'") from err
    app = build_app(load_models(cfg), limits)
    # uvicorn stops on SIGTERM once the requests in progress are answered, then raises the signal again under the
    # handler it found: this one, so that a finished shutdown ends the command with exit code 0
    signal.signal(signal.SIGTERM, lambda number, frame: None)
    uvicorn.run(app, host=str(cfg.host), port=int(cfg.port), log_level="info", timeout_graceful_shutdown=int(limits.timeout_seconds) + 5)


if __name__ == "__main__":
    main()
