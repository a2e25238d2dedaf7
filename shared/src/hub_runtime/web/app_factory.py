"""The runtime's Flask application factories. `create_service_app` gives any HTTP service JSON errors,
request ids, bearer-token auth and its OpenAPI document; `create_app` adds the process contract of an
integration instance (DESIGN.md). A service adds its own blueprints."""

from __future__ import annotations

import hmac
import logging
import time
import uuid

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

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        new_context(request_id=g.request_id)
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is not None and getattr(view, "auth", "token") == "token":
            _check_bearer(token)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        if request.path not in ("/alive", "/ready", "/metrics"):
            log.info("%s %s %s", request.method, request.path, response.status_code,
                     extra={"status": response.status_code, "ms": round(elapsed_ms, 2)})
        return response

    return app


def docs_blueprint(api: OpenAPI) -> Blueprint:
    bp = Blueprint("docs", __name__)

    @api.operation(bp, "/openapi.json", "GET", summary="this OpenAPI document", tag="documentation")
    def openapi_json():
        return jsonify(api.document())

    @api.operation(bp, "/docs", "GET", summary="browsable API documentation", tag="documentation")
    def docs():
        return Response(api.docs_page(), mimetype="text/html")

    return bp


def _check_bearer(token: bytes) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    if not hmac.compare_digest(given.strip().encode(), token):
        raise ApiError(401, "unauthorized", "the bearer token is not valid")
