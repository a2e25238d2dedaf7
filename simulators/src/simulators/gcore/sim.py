"""The simulator's test and ops endpoints (no auth): `/health` and `/_sim/*` (state, reset, faults)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .context import sim
from .data import products_of
from .faults import FaultConfigError, parse_fault_body

sim_api = Blueprint("gcore_sim", __name__)


@sim_api.get("/health")
def health() -> Response:
    return jsonify(ok=True)


@sim_api.get("/_sim/state")
def state() -> Response:
    ctx = sim()
    now = ctx.clock()
    users = {user.user_id: user.username for user in ctx.accounts.users.values()}
    reports = [{"uuid": t.uuid, "username": users.get(t.user_id), "status": t.status(now), "outcome": t.outcome,
                "products": sorted(products_of(t.request.feature_ids)), "parameters": t.request.parameters}
               for t in sorted(ctx.tasks.all(), key=lambda t: t.created)]
    return jsonify(counters=ctx.counters.snapshot(), logins_in_flight=ctx.counters.logins_in_flight,
                   reports=reports, faults=ctx.faults.snapshot())


@sim_api.post("/_sim/reset")
def reset() -> Response:
    """No reports, counters zero, faults and time settings back to the defaults. Tokens stay valid."""
    ctx = sim()
    ctx.tasks.clear()
    ctx.counters.reset()
    ctx.faults.clear()
    return jsonify(ok=True)


@sim_api.get("/_sim/faults")
def get_faults() -> Response:
    return jsonify(sim().faults.snapshot())


@sim_api.post("/_sim/faults")
def set_faults() -> Response | tuple[Response, int]:
    ctx = sim()
    try:
        settings, actions = parse_fault_body(request.get_json(silent=True))
    except FaultConfigError as exc:
        return jsonify(error={"code": "invalid_faults", "message": str(exc)}), 400
    if "expire_tokens" in actions:
        ctx.accounts.expire_tokens("access")
    if "expire_refresh_tokens" in actions:
        ctx.accounts.expire_tokens("refresh")
    return jsonify(ctx.faults.update(**settings))


@sim_api.delete("/_sim/faults")
def clear_faults() -> Response:
    ctx = sim()
    ctx.faults.clear()
    return jsonify(ctx.faults.snapshot())
