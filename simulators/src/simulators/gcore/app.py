"""The Gcore simulator's Flask application factory and its request pipeline: counters, login concurrency,
and the fault switches that act before any Gcore endpoint (latency, 429, 5xx)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..serving import register_access_log
from .accounts import Accounts
from .billing import billing
from .context import EXTENSION_KEY, GcoreContext, detail, gateway_page, sim
from .faults import Faults
from .iam import iam
from .reports import Tasks
from .sim import sim_api

access_log = logging.getLogger("gcore_sim.access")
log = logging.getLogger("gcore_sim")

LOGIN_PATH = "/iam/auth/jwt/login"
_API_PREFIXES = ("/iam/", "/billing/")


def create_app(users: dict[str, str] | None = None, api_keys: Iterable[tuple[str, str]] = (), seed: int = 1,
               speed: float = 1.0, job_seconds: float = 20.0, rows_per_report: int = 0,
               clock: Callable[[], float] = time.time) -> Flask:
    """The simulator: IAM, billing and `/_sim` on one in-memory state.

    `users` (name -> password) and `api_keys` ((name, key) pairs) come on top of the demo user;
    `seed` decides the metric values; a report job takes `job_seconds / speed` seconds by `clock`;
    every report has at least `rows_per_report` rows."""
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions[EXTENSION_KEY] = GcoreContext(
        accounts=Accounts.create(users, api_keys, clock), tasks=Tasks(clock), faults=Faults(job_seconds, speed),
        clock=clock, seed=seed, rows_per_report=rows_per_report,
    )
    app.before_request(_before_api_request)
    app.teardown_request(_after_api_request)
    app.register_blueprint(iam)
    app.register_blueprint(billing)
    app.register_blueprint(sim_api)
    _register_error_handlers(app)
    register_access_log(app, access_log)
    return app


def _is_api(path: str) -> bool:
    return path.startswith(_API_PREFIXES)


def _before_api_request() -> Response | tuple[Response, int] | None:
    if not _is_api(request.path):
        return None
    ctx = sim()
    ctx.counters.count("requests")
    if request.path == LOGIN_PATH:
        request.environ["gcore_sim.login"] = True
        ctx.counters.login_started()
    faults = ctx.faults
    settings = faults.settings
    if settings.latency_ms and request.path.startswith(settings.latency_path):
        time.sleep(settings.latency_ms / 1000)
    if faults.take("rate_limit_next", request.path, "rate_limit_path"):
        ctx.counters.count("rate_limited")
        wait = faults.settings.retry_after
        response, status = detail(f"Request was throttled. Expected available in {wait} second"
                                  f"{'' if wait == 1 else 's'}.", 429)
        response.headers["Retry-After"] = str(wait)
        return response, status
    if faults.take("fail_next", request.path, "fail_path"):
        ctx.counters.count("injected_failures")
        status = faults.settings.fail_status
        return Response(gateway_page(status), status, mimetype="text/html")
    return None


def _after_api_request(exc: BaseException | None) -> None:
    if request.environ.pop("gcore_sim.login", False):
        sim().counters.login_ended()


def _register_error_handlers(app: Flask) -> None:
    """Routing failures as DRF answers them (`{"detail": ...}`), unexpected errors as the gateway's 500 page."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        if status == 405:
            response, status = detail(f'Method "{request.method}" not allowed.', 405)
        elif status == 404:
            response, status = detail("Not found.", 404)
        else:
            response, status = detail(exc.description or "", status)
        response.headers.extend(h for h in exc.get_headers() if h[0] != "Content-Type")  # e.g. Allow
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return Response(gateway_page(500), 500, mimetype="text/html"), 500
