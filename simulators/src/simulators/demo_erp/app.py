"""The demo ERP's Flask application factory."""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..serving import register_access_log
from .api import EXTENSION_KEY, ErpContext, api, error_response, sim
from .faults import Faults
from .store import Sessions, Store
from .web import INTERNAL_ERROR, error_page, is_ui_path, web

access_log = logging.getLogger("demo_erp.access")
log = logging.getLogger("demo_erp")

_SHORT_MESSAGES = {404: "Page not found", 405: "Method not allowed"}


def create_app(state_file: str | os.PathLike[str] | None = None, session_ttl: float = 1800,
               users: dict[str, str] | None = None) -> Flask:
    """The ERP app: JSON API, web UI and `/_sim` endpoints on one in-memory (or file-backed) store.

    The API and the web UI have separate session registries with the same lifetime."""
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions[EXTENSION_KEY] = ErpContext(
        store=Store(state_file, users), sessions=Sessions(ttl=session_ttl), faults=Faults(),
        ui_sessions=Sessions(ttl=session_ttl),
    )
    app.register_blueprint(api)
    app.register_blueprint(sim)
    app.register_blueprint(web)
    _register_error_handlers(app)
    register_access_log(app, access_log)
    return app


def _register_error_handlers(app: Flask) -> None:
    """Routing failures (404, 405...) and unexpected exceptions: JSON errors under /api, /_sim and /health,
    HTML error pages everywhere else (the web UI)."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_")
        if is_ui_path(request.path):
            message = _SHORT_MESSAGES.get(exc.code or 500, exc.description)
            page, status = error_page(exc.code or 500, message, code)
            response = app.make_response(page)
        else:
            response, status = error_response(code, exc.description or "", exc.code or 500)
        response.headers.extend(h for h in exc.get_headers() if h[0] != "Content-Type")  # e.g. Allow
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response | str, int]:
        log.exception("unhandled error in %s %s", request.method, request.path)
        if is_ui_path(request.path):
            return error_page(500, INTERNAL_ERROR, "internal_error")
        return error_response("internal_error", "internal error", 500)
