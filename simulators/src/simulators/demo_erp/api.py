"""The demo ERP's JSON API (`/api/*`, bearer sessions) and its test/ops endpoints (`/_sim/*`, `/health`).

Errors are always `{"error": {"code": ..., "message": ...}}`. Both blueprints (and the web UI in
`web.py`) find the store, the sessions and the fault switches in `current_app.extensions["demo_erp"]`
(an `ErpContext`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, g, jsonify, request

from .faults import FaultConfigError, Faults, parse_fault_body
from .store import ErpError, Sessions, Store

EXTENSION_KEY = "demo_erp"

STATUS_BY_CODE = {
    "invalid_request": 400,
    "invalid_credentials": 401,
    "unauthorized": 401,
    "session_expired": 401,
    "user_inactive": 403,
    "worksheet_not_found": 404,
    "worksheet_closed": 409,
    "product_not_found": 422,
    "invalid_quantity": 422,
    "invalid_reference": 422,
}

_INJECTED_CODES = {429: "rate_limited", 500: "internal_error", 502: "bad_gateway", 503: "service_unavailable",
                   504: "gateway_timeout"}

api = Blueprint("demo_erp_api", __name__, url_prefix="/api")
sim = Blueprint("demo_erp_sim", __name__)


@dataclass
class ErpContext:
    store: Store
    sessions: Sessions  # the API's bearer sessions
    faults: Faults
    ui_sessions: Sessions = field(default_factory=Sessions)  # the web UI's cookie sessions, kept apart


class InvalidRequest(ErpError):
    code = "invalid_request"


def erp() -> ErpContext:
    return current_app.extensions[EXTENSION_KEY]


def error_response(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def json_object() -> dict:
    """The request body, which must be a JSON object."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("body must be a JSON object (Content-Type: application/json)")
    return body


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def injected_failure(status: int) -> tuple[Response, int]:
    """The answer to a request hit by `fail_next` or `fail_after_write`."""
    code = _INJECTED_CODES.get(status, "simulated_failure")
    response, status = error_response(code, f"simulated failure ({status})", status)
    if status in (429, 503):
        response.headers["Retry-After"] = "1"
    return response, status


# --- /api: request pipeline ---------------------------------------------------------------------------


@api.before_request
def _count_request() -> None:
    erp().store.count("requests")


@api.before_request
def _inject_faults() -> tuple[Response, int] | None:
    faults = erp().faults
    if latency := faults.latency_seconds:
        time.sleep(latency)
    status = faults.take_failure()
    return None if status is None else injected_failure(status)


@api.before_request
def _authenticate() -> None:
    if request.endpoint != "demo_erp_api.login":
        g.erp_session = erp().sessions.resolve(bearer_token())


@api.errorhandler(ErpError)
def _erp_error(exc: ErpError) -> tuple[Response, int]:
    return error_response(exc.code, exc.message, STATUS_BY_CODE.get(exc.code, 400))


# --- /api: endpoints ----------------------------------------------------------------------------------


@api.post("/login")
def login() -> tuple[Response, int]:
    body = json_object()
    ctx = erp()
    user = ctx.store.authenticate(body.get("username"), body.get("password"))
    session = ctx.sessions.open(user.username)
    return jsonify(token=session.token, expires_in=ctx.sessions.expires_in), 200


@api.get("/products")
def products() -> Response:
    return jsonify(products=[product.to_dict() for product in erp().store.products()])


@api.get("/worksheets/<number>")
def worksheet(number: str) -> Response:
    return jsonify(erp().store.worksheet(number).to_dict())


@api.get("/worksheets/<number>/lines")
def lines(number: str) -> Response:
    found = erp().store.lines(number, reference=request.args.get("reference"))
    return jsonify(lines=[line.to_dict() for line in found])


@api.post("/worksheets/<number>/lines")
def add_line(number: str) -> tuple[Response, int]:
    body = json_object()
    ctx = erp()
    line = ctx.store.add_line(number, body.get("product_nr"), body.get("quantity"), body.get("reference"))
    status = ctx.faults.take_write_failure()
    if status is not None:
        return injected_failure(status)
    return jsonify(line.to_dict()), 201


# --- /_sim and /health --------------------------------------------------------------------------------


@sim.get("/health")
def health() -> Response:
    return jsonify(ok=True)


@sim.get("/_sim/state")
def state() -> Response:
    ctx = erp()
    return jsonify(
        worksheets=[sheet.to_dict() for sheet in ctx.store.worksheets()],
        counters=ctx.store.counters(),
        active_sessions=ctx.sessions.active_count(),
        ui_active_sessions=ctx.ui_sessions.active_count(),
        faults=ctx.faults.snapshot(),
    )


@sim.post("/_sim/reset")
def reset() -> Response:
    """Demo data again, counters zero, faults cleared. Sessions stay valid."""
    ctx = erp()
    ctx.store.reset()
    ctx.faults.clear()
    return jsonify(ok=True)


@sim.get("/_sim/faults")
def get_faults() -> Response:
    return jsonify(erp().faults.snapshot())


@sim.post("/_sim/faults")
def set_faults() -> Response | tuple[Response, int]:
    ctx = erp()
    try:
        settings, actions = parse_fault_body(request.get_json(silent=True))
    except FaultConfigError as exc:
        return error_response("invalid_faults", str(exc), 400)
    if actions.get("expire_sessions"):
        ctx.sessions.expire_all()
    if actions.get("ui_expire_sessions"):
        ctx.ui_sessions.expire_all()
    return jsonify(ctx.faults.update(**settings))


@sim.delete("/_sim/faults")
def clear_faults() -> Response:
    erp().faults.clear()
    return jsonify(erp().faults.snapshot())
