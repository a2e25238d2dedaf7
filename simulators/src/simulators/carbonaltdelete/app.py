"""The CarbonAltDelete simulator's Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..serving import register_access_log
from .api import api
from .auth import Tokens
from .context import EXTENSION_KEY, CadContext
from .data import seed_demo_data
from .errors import ApiError, server_error
from .faults import Faults
from .reports import Reports
from .s3 import S3Endpoint
from .sim import sim

access_log = logging.getLogger("carbonaltdelete.access")
log = logging.getLogger("carbonaltdelete")


def create_app(speed: float = 1.0, seed: int = 0, users: dict[str, str] | None = None,
               api_keys: dict[str, str] | None = None, s3_host: str = "127.0.0.1", s3_port: int = 0,
               url_ttl: int = 300, job_duration_ms: int = 60_000) -> Flask:
    """The API under `/api` and the `/_sim` endpoints, with its own S3 endpoint (moto) started on
    `s3_host:s3_port` (0: any free port). `speed` divides the report job duration; `users` (email ->
    password) and `api_keys` (UUID key -> secret) come on top of the demo ones. Call `close_app(app)` to stop
    the S3 endpoint and the running jobs."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    app = Flask(__name__)
    data = seed_demo_data(seed, users, api_keys)
    s3 = S3Endpoint(s3_host, s3_port).start()
    log.info("S3 endpoint %s, bucket %s", s3.url, s3.bucket)
    app.extensions[EXTENSION_KEY] = CadContext(
        data=data, tokens=Tokens(), faults=Faults(url_ttl_s=url_ttl, job_duration_ms=job_duration_ms),
        reports=Reports(data, s3, speed), s3=s3, speed=speed, seed=seed,
    )
    app.register_blueprint(api)
    app.register_blueprint(sim)
    _register_error_handlers(app)
    register_access_log(app, access_log)
    return app


def close_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY].close()


def _register_error_handlers(app: Flask) -> None:
    """Routing failures in FastAPI's words (`{"detail": "Not Found"}`), unexpected errors as Starlette's
    plain-text 500."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = ApiError(exc.code or 500, exc.name).response()
        response.headers.extend(h for h in exc.get_headers() if h[0] != "Content-Type")  # e.g. Allow
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return server_error(500)
