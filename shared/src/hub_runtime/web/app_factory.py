"""The runtime's Flask application factories. `create_service_app` gives any HTTP service JSON errors,
request ids, bearer-token auth and its OpenAPI document; `create_app` adds the process contract of an
integration instance (DESIGN.md). A service adds its own blueprints."""

from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Blueprint, Flask, Response, g, jsonify, request

from ..jsonlog import new_context
from ..runtime import Runtime
from .control_routes import control_blueprint
from .errors import ApiError, register_error_handlers
from .openapi import OpenAPI

log = logging.getLogger("hub.http")


def create_app(runtime: Runtime, api: OpenAPI, blueprints: list[Blueprint] = ()) -> Flask:
    """An integration instance's API: the process contract plus the service's blueprints."""
    app = create_service_app(runtime.instance.id, runtime.settings.api_token.get_secret_value(), api,
                             [control_blueprint(runtime, api), *blueprints])
    app.config["RUNTIME"] = runtime
    return app


def create_service_app(name: str, token: str, api: OpenAPI, blueprints: list[Blueprint] = ()) -> Flask:
    app = Flask(name)
    app.json.sort_keys = False
    register_error_handlers(app)
    for bp in [*blueprints, docs_blueprint(api)]:
        app.register_blueprint(bp)
    token = token.encode()
    needs_token: dict[str, bool] = {}  # endpoint -> whether it takes the instance token, looked up once

    # Every request runs these two hooks: they read the WSGI environ directly and log through
    # Logger.handle (no caller lookup), since they cost as much per request as the work of a small endpoint.
    @app.before_request
    def _start():
        g.started = time.perf_counter()
        environ = request.environ
        g.request_id = environ.get("HTTP_X_REQUEST_ID", "")[:64] or os.urandom(16).hex()
        new_context(request_id=g.request_id)
        endpoint = request.endpoint
        if endpoint is None:
            return
        check = needs_token.get(endpoint)
        if check is None:
            view = app.view_functions.get(endpoint)
            check = needs_token[endpoint] = view is not None and getattr(view, "auth", "token") == "token"
        if check:
            _check_bearer(environ, token)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        path = request.path
        if path not in _QUIET and log.isEnabledFor(logging.INFO):
            elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            status = response.status_code
            line = f"{request.method} {path} {status}"
            fields = {"status": status, "ms": round(elapsed_ms, 2)}
            note = g.get("log_note")
            if note is not None:
                line = f"{line}: {note[0]}"
                fields.update(note[1])
            log.handle(log.makeRecord(log.name, logging.INFO, "", 0, line, (), None, extra=fields))
        return response

    return app


_QUIET = frozenset(("/alive", "/ready", "/metrics"))  # probes and scrapes: no access line


def note_request(message: str, **fields) -> None:
    """Say what a request did on its access line instead of logging a line of its own: the line then
    reads `POST /create 200: order accepted`, with `fields` (one log line per request, not two)."""
    g.log_note = (message, fields)


def docs_blueprint(api: OpenAPI) -> Blueprint:
    bp = Blueprint("docs", __name__)

    @api.operation(bp, "/openapi.json", "GET", summary="this OpenAPI document", tag="documentation")
    def openapi_json():
        return jsonify(api.document())

    @api.operation(bp, "/docs", "GET", summary="browsable API documentation", tag="documentation")
    def docs():
        return Response(api.docs_page(), mimetype="text/html")

    return bp


def _check_bearer(environ: dict, token: bytes) -> None:
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    if not hmac.compare_digest(given.strip().encode(), token):
        raise ApiError(401, "unauthorized", "the bearer token is not valid")
