"""The ASGI application, written against raw ASGI (no framework).

A framework's routing, request objects and middleware cost tens of microseconds
per request; with micro-batching the model call is shared, so that per-request
overhead is what bounds throughput. The app has a dozen fixed routes, so a dict
lookup plus one prefix split does all the routing.

The model is loaded in a background thread after startup: /healthz answers at
once, /readyz (and every prediction route) says 503 until load and warm-up are
done. A failed load stops the server (``on_fatal``) instead of serving nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .. import __version__
from ..registry import ModelVersion
from .batching import Batcher
from .errors import ApiError
from .jsonio import dumps
from .loader import ServedModel
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import Metrics
from .protocol_mlflow import parse_invocation
from .protocol_v2 import infer_response, model_metadata, not_found, parse_infer
from .settings import ServeSettings

log = logging.getLogger("modelci.serve")

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
Response = tuple[int, bytes, list[tuple[bytes, bytes]]]
JSON = [(b"content-type", b"application/json")]


class _Request:
    __slots__ = ("headers", "method", "path", "receive")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.receive = receive
        self.headers: dict[bytes, bytes] = dict(scope["headers"])

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None

    def content_type(self) -> str:
        raw = self.header(b"content-type") or ""
        return raw.split(";", 1)[0].strip().lower()


class ModelApp:
    """ASGI app serving one model version."""

    def __init__(self, version: ModelVersion, load: Callable[[], ServedModel], settings: ServeSettings,
                 on_fatal: Callable[[BaseException], None] | None = None, *,
                 loaded: ServedModel | None = None) -> None:
        """``loaded``: a model already loaded and warmed up, so the app is ready from its first request."""
        self.version = version
        self._load = load
        self.settings = settings
        self.on_fatal = on_fatal
        self.model: ServedModel | None = loaded
        self.failure: BaseException | None = None
        self._load_task: asyncio.Task[None] | None = None
        profile = (version.extra or {}).get("prediction_profile") or {}
        git_sha = str((version.git or {}).get("sha") or "")
        self.metrics = Metrics(
            {"name": version.name, "version": str(version.version), "digest": version.artifact_digest,
             "git_sha": git_sha},
            classification=version.task == "classification",
            edges=profile.get("edges") if profile.get("kind") == "numeric" else None,
        )
        self.metrics.ready = loaded is not None
        self.batcher = Batcher(
            self._predict, max_batch=settings.max_batch, max_wait=settings.max_wait_ms / 1000.0,
            adaptive_wait=settings.adaptive_wait_ms / 1000.0, inline_below=settings.inline_below_ms / 1000.0,
            on_batch=self.metrics.batches.observe,
        )
        self._routes: dict[str, tuple[str, Callable[[_Request], Awaitable[Response]]]] = {
            "/healthz": ("GET", self._live),
            "/v2/health/live": ("GET", self._live),
            "/readyz": ("GET", self._ready),
            "/v2/health/ready": ("GET", self._ready),
            "/ping": ("GET", self._ready),
            "/health": ("GET", self._ready),
            "/version": ("GET", self._version),
            "/metrics": ("GET", self._metrics),
            "/invocations": ("POST", self._invocations),
            "/v2": ("GET", self._server_metadata),
        }

    # -- ASGI -------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.batcher.start()
                if self.model is None:
                    self._load_task = asyncio.get_running_loop().create_task(self._load_model())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._load_task is not None and not self._load_task.done():
                    self._load_task.cancel()
                await self.batcher.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _load_model(self) -> None:
        try:
            self.model = await asyncio.get_running_loop().run_in_executor(None, self._load)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.failure = exc
            log.error("modelci serve: could not load %s: %s", self.version.ref, exc)
            if self.on_fatal is not None:
                self.on_fatal(exc)
            return
        self.metrics.ready = True
        log.info("modelci serve: %s is ready", self.version.ref)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        request = _Request(scope, receive)
        route = "other"
        error_code: str | None = None
        try:
            route, handler = self._route(request)
            status, body, headers = await handler(request)
        except ApiError as exc:
            status, error_code = exc.status, exc.error_code
            body, headers = dumps({"error_code": exc.error_code, "message": exc.message}), list(JSON)
            if exc.status == 405:
                headers.append((b"allow", b"GET" if request.method == "POST" else b"POST"))
        except Exception as exc:  # a bug or a model failure: answer, log, keep serving
            log.exception("modelci serve: %s %s failed", request.method, request.path)
            status, error_code = 500, "INTERNAL_ERROR"
            body = dumps({"error_code": error_code, "message": f"the server failed: {type(exc).__name__}: {exc}"})
            headers = list(JSON)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.metrics.observe_request(route, status, time.perf_counter() - start, error_code)

    def _route(self, request: _Request) -> tuple[str, Callable[[_Request], Awaitable[Response]]]:
        path = request.path.rstrip("/") or "/"
        found = self._routes.get(path)
        if found is not None:
            method, handler = found
            self._check_method(request, method)
            return path, handler
        if path.startswith("/v2/models/"):
            return self._route_v2_model(request, path[len("/v2/models/"):].split("/"))
        raise ApiError(404, "NOT_FOUND", f"no route {request.method} {request.path}. Routes: /invocations, "
                       "/v2/models/NAME/infer, /healthz, /readyz, /version, /metrics.")

    def _route_v2_model(self, request: _Request, parts: list[str]
                        ) -> tuple[str, Callable[[_Request], Awaitable[Response]]]:
        name, rest = parts[0], parts[1:]
        if len(rest) >= 2 and rest[0] == "versions":
            if rest[1] != str(self.version.version):
                raise ApiError(404, "MODEL_NOT_FOUND", f"model {name!r} has no version {rest[1]!r} here; this "
                               f"server serves version {self.version.version}.")
            rest = rest[2:]
        if name != self.version.name:
            raise not_found(name, self.version.name)
        if not rest:
            self._check_method(request, "GET")
            return "/v2/models/{name}", self._v2_metadata
        if rest == ["ready"]:
            self._check_method(request, "GET")
            return "/v2/models/{name}/ready", self._ready
        if rest == ["infer"]:
            self._check_method(request, "POST")
            return "/v2/models/{name}/infer", self._v2_infer
        raise ApiError(404, "NOT_FOUND", f"no route {request.method} {request.path}.")

    @staticmethod
    def _check_method(request: _Request, method: str) -> None:
        if request.method != method and not (method == "GET" and request.method == "HEAD"):
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{request.path} takes {method}, not {request.method}.")

    async def _body(self, request: _Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(int(declared), limit)
        encoding = (request.header(b"content-encoding") or "identity").strip().lower()
        if encoding != "identity":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"content encoding {encoding!r} is not supported; "
                           "send the body uncompressed.")
        chunks = []
        size = 0
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ApiError(400, "CLIENT_DISCONNECTED", "the client went away before sending the body.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _ready_model(self) -> ServedModel:
        if self.model is None:
            raise ApiError(503, "NOT_READY", f"{self.version.ref} is still loading; retry when /readyz says 200.")
        return self.model

    async def _predict_rows(self, model: ServedModel, frame: Any) -> list[Any]:
        if frame.rows == 0:
            return []
        try:
            predictions = await self.batcher.submit(frame)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ApiError(422, "PREDICTION_FAILED", f"the model could not predict these inputs: {exc}") from None
        self.metrics.observe_predictions(predictions)
        return predictions

    def _predict(self, frames: Any) -> list[Any]:
        model = self.model
        assert model is not None
        return model.predict(frames)

    # -- handlers ---------------------------------------------------------------
    async def _live(self, request: _Request) -> Response:
        return 200, b'{"status":"alive"}', list(JSON)

    async def _ready(self, request: _Request) -> Response:
        self._ready_model()
        return 200, b'{"status":"ready"}', list(JSON)

    async def _version(self, request: _Request) -> Response:
        v = self.version
        git = v.git or {}
        return 200, dumps({
            "name": v.name, "version": v.version, "digest": v.artifact_digest, "git_sha": git.get("sha"),
            "uri": v.uri, "flavor": v.flavor, "task": v.task, "created_at": v.created_at,
            "ready": self.model is not None, "modelci": __version__,
        }), list(JSON)

    async def _metrics(self, request: _Request) -> Response:
        return 200, self.metrics.render(), [(b"content-type", METRICS_CONTENT_TYPE)]

    async def _invocations(self, request: _Request) -> Response:
        model = self._ready_model()
        content_type = request.content_type()
        if content_type not in ("application/json", "", "text/csv", "application/csv") \
                and not content_type.endswith("+json"):
            parse_invocation(b"", content_type, model.schema)  # raises the 415 with its message
        body = await self._body(request)
        frame = parse_invocation(body, content_type, model.schema)
        predictions = await self._predict_rows(model, frame)
        return 200, dumps({"predictions": predictions}), list(JSON)

    async def _server_metadata(self, request: _Request) -> Response:
        return 200, dumps({"name": "modelci", "version": __version__, "extensions": ["binary_tensor_data"]}), \
            list(JSON)

    async def _v2_metadata(self, request: _Request) -> Response:
        model = self.model
        schema = model.schema if model is not None else None
        if schema is None:
            from .validate import Schema

            schema = Schema(self.version.signature)
        datatype = model.datatype if model is not None else None
        meta = model_metadata(self.version.name, self.version.version, schema, self.version.signature.get("output")
                              or {})
        if datatype is not None:
            meta["outputs"][0]["datatype"] = datatype
        return 200, dumps(meta), list(JSON)

    async def _v2_infer(self, request: _Request) -> Response:
        model = self._ready_model()
        content_type = request.content_type()
        if content_type not in ("", "application/json", "application/octet-stream"):
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"content type {content_type!r} is not supported on the "
                           "V2 infer route; send application/json (or binary tensors with "
                           "Inference-Header-Content-Length).")
        body = await self._body(request)
        infer = parse_infer(body, request.header(b"inference-header-content-length"), model.schema)
        predictions = await self._predict_rows(model, infer.frame)
        payload, headers = infer_response(self.version.name, self.version.version, infer, predictions,
                                          model.datatype)
        return 200, payload, headers


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(413, "PAYLOAD_TOO_LARGE", f"the body ({size} bytes or more) is over the limit of {limit} bytes; "
                    "send fewer rows per request or raise --max-body-mb.")
