"""The service's routes: ``POST /v1/translate/{direction}`` (a picture in, the translation out, or JSON with each face's
alignment record), ``GET /v1/models``, ``GET /health`` and ``GET /metrics``. Every rule about pictures is the front
door's (``face2sketch.load``); what this module adds is HTTP: a body-size limit, an API key, a bounded number of
requests in the building at once (503 with Retry-After beyond it), a per-request timeout, and one-line JSON errors."""

from __future__ import annotations

import asyncio
import base64
import hmac
import io
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from PIL import Image

from face2sketch.inference.api import Model, Translation
from face2sketch.service.batching import RequestError, Translator
from face2sketch.service.limits import Limits

FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
ALIGN_VALUES = {"auto": "auto", "true": True, "false": False}


@dataclass
class Metrics:
    """Request counts by status code and the latencies of the last answered requests (seconds)."""

    statuses: dict[int, int] = field(default_factory=dict)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def count(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(seconds)

    def prometheus(self) -> str:
        """The counts and latency quantiles in Prometheus' text format."""
        lines = ["# TYPE face2sketch_requests_total counter"]
        lines += [f'face2sketch_requests_total{{status="{status}"}} {count}' for status, count in sorted(self.statuses.items())]
        ordered = sorted(self.latencies)
        lines.append("# TYPE face2sketch_request_seconds summary")
        for quantile in (0.5, 0.95, 0.99):
            value = ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] if ordered else 0.0
            lines.append(f'face2sketch_request_seconds{{quantile="{quantile}"}} {value:.6f}')
        lines.append(f"face2sketch_request_seconds_count {len(ordered)}")
        return "\n".join(lines) + "\n"


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def encoded(image: Image.Image, format_name: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name.upper())
    return buffer.getvalue()


def translation_json(translations: list[Translation], format_name: str) -> dict[str, Any]:
    """Each face's image (base64) and alignment record, as ``Translation.record()`` gives it."""
    faces = [{"image": base64.b64encode(encoded(t.image, format_name)).decode("ascii"), "record": t.record()} for t in translations]
    return {"format": format_name, "faces": faces}


def options(request: Request, model: Model) -> tuple[Model, str, str]:
    """(the model with the request's align and faces, the faces option, the output format), or a RequestError."""
    query = request.query_params
    format_name = query.get("format", "png").lower()
    if format_name not in FORMATS:
        raise RequestError(400, f"format={format_name} is not allowed: use one of {', '.join(FORMATS)}")
    align = query.get("align", "auto").lower()
    if align not in ALIGN_VALUES:
        raise RequestError(400, f"align={align} is not allowed: use auto, true or false")
    faces = query.get("faces", "largest")
    if faces not in ("largest", "all"):
        raise RequestError(400, f"faces={faces} is not allowed: use largest or all")
    return model.with_options(align=ALIGN_VALUES[align], faces=faces, batch_size=1), faces, format_name


async def picture_bytes(request: Request, limit: int) -> bytes:
    """The picture a request carries: its body, or the ``file`` part of a multipart form, at most ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the request is {int(declared)} bytes, over the limit of {limit}: send a smaller picture")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=8, max_part_size=limit)
        except Exception as err:  # python-multipart's and Starlette's errors for a part over the limit or a bad form
            raise RequestError(400, f"the multipart form cannot be read ({type(err).__name__}): send the picture as the 'file' part") from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "a multipart request carries the picture as its 'file' part")
        return await upload.read()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"the request is over the limit of {limit} bytes: send a smaller picture")
    return bytes(body)


class Service:
    """The loaded models and what the server keeps between requests: how many are admitted now, and the metrics."""

    def __init__(self, models: dict[str, Model], limits: Limits) -> None:
        self.models, self.limits, self.metrics = models, limits, Metrics()
        self.admitted = 0
        # one translating thread (batching.py says why), ONNX Runtime spreading each translation over the cores
        self.translator = Translator(limits.batch_window_ms / 1000, limits.max_batch)

    def authorised(self, request: Request) -> bool:
        key = self.limits.api_key
        if key is None:
            return True
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), key.encode())

    async def translate(self, request: Request, direction: str) -> Response:
        model = self.models.get(direction)
        if model is None:
            raise RequestError(404, f"no model translates '{direction}' here: use one of {', '.join(self.models)}")
        chosen, faces, format_name = options(request, model)
        if self.admitted >= self.limits.max_admitted:
            raise RequestError(503, f"the server is busy ({self.admitted} requests in progress): retry in a second", {"Retry-After": "1"})
        self.admitted += 1  # from here until its translation is done or dropped: its body is held, its job queued
        loop = asyncio.get_running_loop()
        try:
            body = await picture_bytes(request, self.limits.max_body_bytes)
            job = self.translator.submit(chosen, body, faces)
        except BaseException:
            self.admitted -= 1
            raise
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(self.release))
        try:
            translations = await asyncio.wait_for(asyncio.wrap_future(job), self.limits.timeout_seconds)
        except TimeoutError:
            raise RequestError(504, f"the translation took longer than {self.limits.timeout_seconds:g} s: send a smaller picture") from None
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(translation_json(translations, format_name))
        return Response(encoded(translations[0].image, format_name), media_type=FORMATS[format_name])

    def release(self) -> None:
        """One admitted request's translation is done (or dropped before it began): room for another."""
        self.admitted -= 1

    def model_list(self) -> dict[str, Any]:
        return {"models": [{"direction": name, "origin": model.origin, "spec": asdict(model.spec)} for name, model in self.models.items()]}


def build_app(models: dict[str, Model], limits: Limits) -> FastAPI:
    """The FastAPI application over ``models`` (by direction)."""
    service = Service(models, limits)
    app = FastAPI(title="face2sketch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        if not service.authorised(request):
            response: Response = error(401, "this server needs its API key: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'")
        else:
            try:
                response = await call_next(request)
            except RequestError as err:
                response = error(err.status, err.message, err.headers)
        service.metrics.count(response.status_code, time.perf_counter() - started)
        return response

    @app.post("/v1/translate/{direction}")
    async def translate(direction: str, request: Request) -> Response:
        try:
            return await service.translate(request, direction)
        except RequestError as err:
            return error(err.status, err.message, err.headers)

    @app.get("/v1/models")
    async def models_route() -> dict[str, Any]:
        return service.model_list()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": list(service.models), "requests_in_progress": service.admitted}

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(service.metrics.prometheus())

    return app
