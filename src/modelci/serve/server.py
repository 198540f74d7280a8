"""Run the app on uvicorn: graceful drain on SIGTERM; one process, or ``workers`` of them."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import InfrastructureError, IntegrityError, ModelciError, UsageError
from ..registry import ModelVersion, sha256_file
from .app import ModelApp
from .loader import Located, load
from .settings import ServeSettings

_HANDOFF = "MODELCI_SERVE_WORKER_HANDOFF"


def build_app(located: Located, settings: ServeSettings) -> ModelApp:
    return ModelApp(located.version, lambda: load(located), settings)


def serve(located: Located, settings: ServeSettings) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests finish first (up to the drain timeout).

    Raises the load error if the model could not be loaded, so the process exits non-zero.
    """
    try:
        import uvicorn
    except ImportError:
        raise UsageError("modelci serve needs uvicorn: pip install 'modelci[serve]'") from None
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.workers > 1:
        _serve_workers(located, settings)
        return
    sockets = None
    if settings.reuse_port:
        sockets, app = _reuse_port_start(located, settings)
    else:
        app = build_app(located, settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False,
        lifespan="on", timeout_graceful_shutdown=int(settings.drain_timeout_s) or None,
        server_header=False, date_header=False,
    )
    server = uvicorn.Server(config)

    def stop(_: BaseException) -> None:
        server.should_exit = True

    app.on_fatal = stop
    try:
        server.run(sockets=sockets)
    except SystemExit:  # uvicorn exits when it cannot bind
        raise InfrastructureError(f"the server could not start on {settings.host}:{settings.port} "
                                  "(is the port in use?).") from None
    if app.failure is not None:
        failure = app.failure
        if isinstance(failure, ModelciError):
            raise failure
        raise InfrastructureError(f"could not load {located.version.ref} from {located.source}: "
                                  f"{type(failure).__name__}: {failure}")
    if not server.started:
        raise InfrastructureError(f"the server could not start on {settings.host}:{settings.port} "
                                  "(is the port in use?).")


# -- reuse-port mode (MODELCI_REUSE_PORT=1), used by the local deploy target ---------------------
def _reuse_port_start(located: Located, settings: ServeSettings) -> tuple[list[Any], ModelApp]:
    """Bind with SO_REUSEPORT (next to a running server) and load the model before listening.

    The kernel spreads new connections over every listener of the port, so this process must
    not listen until it can answer: the model is loaded first, and the socket is only bound
    here (uvicorn calls listen() when it starts serving).
    """
    import socket

    model = load(located)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise InfrastructureError(f"the server could not bind {settings.host}:{settings.port} with "
                                  f"SO_REUSEPORT: {exc.strerror} (a server that is not modelci's holds it?).") from None
    return [sock], ModelApp(located.version, lambda: model, settings, loaded=model)


# -- several worker processes (--workers N) -------------------------------------------------------
def _serve_workers(located: Located, settings: ServeSettings) -> None:
    """uvicorn's process supervisor runs ``worker_app`` in each worker; the model travels as its record."""
    import uvicorn

    os.environ[_HANDOFF] = json.dumps({
        "record": located.version.to_dict(), "artifact": str(located.artifact), "source": located.source,
        "settings": dataclasses.asdict(settings),
    }, default=str)
    uvicorn.run(
        "modelci.serve.server:worker_app", factory=True, workers=settings.workers, host=settings.host,
        port=settings.port, log_level=settings.log_level, access_log=False, lifespan="on",
        timeout_graceful_shutdown=int(settings.drain_timeout_s) or None, server_header=False, date_header=False,
    )


def worker_app() -> ModelApp:
    """The app of one worker process; the artifact is verified again before it is unpickled here.

    The workers share one listening socket, so a worker loads its model before it starts
    accepting: a connection is never taken by a worker that would answer 503.
    """
    raw = json.loads(os.environ[_HANDOFF])
    version = ModelVersion.from_dict(raw["record"])
    artifact = Path(raw["artifact"])
    digest, size = sha256_file(artifact)
    if digest != version.artifact_digest or size != version.artifact_size:
        raise IntegrityError(f"{artifact} changed after the server verified it (expected {version.artifact_digest}, "
                             f"found {digest}); refusing to load it.")
    settings = ServeSettings(**raw["settings"])
    try:
        model = load(Located(version, artifact, raw["source"]))
    except Exception:
        os.kill(os.getppid(), signal.SIGTERM)  # a worker that cannot load stops the whole server
        raise
    return ModelApp(version, lambda: model, settings, loaded=model)
