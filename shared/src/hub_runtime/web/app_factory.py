"""The runtime's Flask application factories. `create_service_app` gives any HTTP service JSON errors,
request ids, bearer-token auth, its OpenAPI document and Swagger UI (flask-openapi3); `create_app` adds the
process contract of an integration instance (docs/architecture.md). A service adds its own blueprints."""

from __future__ import annotations

import hmac
import logging
import time

from flask import Flask, request
from flask_openapi3 import OpenAPI as DocumentedApp

from ..ids import random_hex
from ..jsonlog import new_context
from ..runtime import Runtime
from .control_routes import control_blueprint
from .docs import docs_blueprint
from .errors import ApiError, register_error_handlers
from .json import FastJSONProvider
from .openapi import APIBlueprint, ErrorBody, OpenAPI

log = logging.getLogger("hub.http")
MAX_BODY_BYTES = 2**20  # a request body above this is answered 413 before it is read (a service may raise it)


def create_app(runtime: Runtime, api: OpenAPI, blueprints: list[APIBlueprint] = (), *,
               cancel_running: bool = False) -> Flask:
    """An integration instance's API: the process contract (`cancel_running`: see `control_blueprint`)
    plus the service's blueprints."""
    app = create_service_app(runtime.instance.id, runtime.settings.api_token.get_secret_value(), api,
                             [control_blueprint(runtime, api, cancel_running), *blueprints])
    app.config["RUNTIME"] = runtime
    return app


def create_service_app(name: str, token: str, api: OpenAPI, blueprints: list[APIBlueprint] = ()) -> Flask:
    # every operation documents its error answers as `default: ErrorBody` (see OpenAPI.operation), which is
    # where flask-openapi3 would otherwise add its own validation error answer; it validates no request itself
    app = DocumentedApp(name, info=api.info(), security_schemes=api.security_schemes(), doc_ui=False,
                        validation_error_status="default", validation_error_model=ErrorBody)
    app.json = FastJSONProvider(app)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    register_error_handlers(app)
    token_bytes = token.encode()
    api.token_auth = lambda: _check_bearer(request.environ, token_bytes)  # operations with auth="token"
    for bp in [*blueprints, docs_blueprint(api)]:
        app.register_api(bp)
    app.wsgi_app = RequestLog(app.wsgi_app)
    return app


class RequestLog:
    """WSGI middleware around a Flask app: gives each request an id (the caller's `X-Request-ID`, else a new
    one; sent back in the answer), starts the request's log context, and writes the request's one access
    line (`POST /create 200: order accepted`, see `note_request`) when the app has answered.

    It runs on the WSGI environ, outside Flask's request hooks, because it runs on every request and costs
    as much as the work of a small endpoint: no context-local lookups, no header object, no caller lookup."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response):
        started = time.perf_counter()
        request_id = environ.get("HTTP_X_REQUEST_ID", "")[:64] or random_hex(16)
        new_context(request_id=request_id)
        status_line = ""

        def start(status: str, headers: list, exc_info=None):
            nonlocal status_line
            status_line = status
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, start)
        path = environ.get("PATH_INFO", "")
        if path not in _QUIET and log.isEnabledFor(logging.INFO):
            status = int(status_line[:3] or 0)
            line = f"{environ.get('REQUEST_METHOD', '')} {path} {status}"
            fields = {"status": status, "ms": round((time.perf_counter() - started) * 1000, 2)}
            note = environ.get(_NOTE)
            if note is not None:
                line = f"{line}: {note[0]}"
                fields.update(note[1])
            log.handle(log.makeRecord(log.name, logging.INFO, "", 0, line, (), None, extra=fields))
        return body


_QUIET = frozenset(("/alive", "/ready", "/metrics"))  # probes and scrapes: no access line
_NOTE = "hub.log_note"


def note_request(message: str, **fields) -> None:
    """Say what a request did on its access line instead of logging a line of its own: the line then
    reads `POST /create 200: order accepted`, with `fields` (one log line per request, not two)."""
    request.environ[_NOTE] = (message, fields)


def _check_bearer(environ: dict, token: bytes) -> None:
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    if not hmac.compare_digest(given.strip().encode(), token):
        raise ApiError(401, "unauthorized", "the bearer token is not valid")
