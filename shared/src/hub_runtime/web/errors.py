"""JSON errors: every 4xx/5xx answer is `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from ..db import UNAVAILABLE as DATABASE_UNAVAILABLE
from ..db import brief

log = logging.getLogger("hub.http")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}  # e.g. Retry-After on a 429


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def validation_error(exc: ValidationError, where: str = "body") -> ApiError:
    """One 400 naming each missing or invalid field (never echoing the submitted values)."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(p) for p in err["loc"]) or where
        fields[name] = "is required" if err["type"] == "missing" else err["msg"]
    listed = ", ".join(f"{k} ({v})" for k, v in fields.items())
    return ApiError(400, "invalid_request", f"invalid {where}: {listed}", fields)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error_body(exc.code, exc.message, exc.fields)), exc.status, exc.headers

    @app.errorhandler(413)
    def _too_large(_exc):
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return jsonify(error_body("body_too_large", f"the request body is larger than this API accepts "
                                                    f"({limit} bytes)")), 413

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify(error_body(code, exc.description or exc.name))
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, exc.code

    def _database_unavailable(exc: Exception):
        # a 503 the caller may retry (an order's uniqueid makes a retry safe, even if the commit whose
        # answer was lost did happen), not a 500 with a traceback per request during an outage
        log.warning("database unavailable: %s", brief(exc))
        body = error_body("database_unavailable", "the database cannot be reached now; retry later")
        return jsonify(body), 503, {"Retry-After": "5"}

    for error in set(DATABASE_UNAVAILABLE):
        app.register_error_handler(error, _database_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify(error_body("internal_error", "internal error; see the service log")), 500
