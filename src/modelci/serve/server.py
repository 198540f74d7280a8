"""Run the app on uvicorn: one process, graceful drain on SIGTERM."""

from __future__ import annotations

import logging
import sys

from ..errors import InfrastructureError, ModelciError, UsageError
from .app import ModelApp
from .loader import Located, load
from .settings import ServeSettings


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
        server.run()
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
