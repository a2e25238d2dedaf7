"""The demo ERP's Flask application factory."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from .api import EXTENSION_KEY, ErpContext, api, error_response, sim
from .faults import Faults
from .store import Sessions, Store

access_log = logging.getLogger("demo_erp.access")
log = logging.getLogger("demo_erp")


def create_app(state_file: str | os.PathLike[str] | None = None, session_ttl: float = 1800) -> Flask:
    """The ERP app: JSON API and `/_sim` endpoints on one in-memory (or file-backed) store."""
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions[EXTENSION_KEY] = ErpContext(
        store=Store(state_file), sessions=Sessions(ttl=session_ttl), faults=Faults()
    )
    app.register_blueprint(api)
    app.register_blueprint(sim)
    _register_error_handlers(app)
    _register_access_log(app)
    return app


def _register_error_handlers(app: Flask) -> None:
    """JSON errors for routing failures (404, 405...) and unexpected exceptions."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_")
        response, status = error_response(code, exc.description or "", exc.code or 500)
        response.headers.extend(h for h in exc.get_headers() if h[0] != "Content-Type")  # e.g. Allow
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response("internal_error", "internal error", 500)


def _register_access_log(app: Flask) -> None:
    """One line per request: method, path, status, milliseconds. Never bodies, headers or query strings,
    so passwords and tokens cannot end up in the log."""

    @app.before_request
    def _start_timer() -> None:
        g.erp_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        elapsed_ms = (time.perf_counter() - g.get("erp_started", time.perf_counter())) * 1000
        access_log.info("%s %s %d %.1fms", request.method, request.path, response.status_code, elapsed_ms)
        return response
