"""Test and ops endpoints, no auth: `/health` and `/_sim/*` (state, reset, faults)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .context import cad
from .faults import FaultConfigError, parse_fault_body

sim = Blueprint("carbonaltdelete_sim", __name__)


def _error(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(detail=message), status


@sim.get("/health")
def health() -> Response:
    return jsonify(ok=True)


@sim.get("/_sim/state")
def state() -> Response:
    ctx = cad()
    users = ctx.data.users.values()
    return jsonify(
        counters=ctx.counters(),
        faults=ctx.faults.snapshot(),
        speed=ctx.speed,
        seed=ctx.seed,
        s3={"endpoint": ctx.s3.url, "bucket": ctx.s3.bucket},
        companies=[company.to_dict() for company in ctx.data.companies.values()],
        users=[{"id": user.id, "email": user.email, "lastCompanyId": user.last_company_id} for user in users],
        reports=[{"id": report.id, "companyId": report.company_id, "name": report.name,
                  "reportStatus": report.report_status, "reportFileStatus": report.report_file_status}
                 for company_id in ctx.data.companies for report in ctx.reports.all(company_id)],
    )


@sim.post("/_sim/reset")
def reset() -> Response:
    """Demo data again (same seed, same ids), no reports or files, counters zero, faults cleared.
    Tokens stay valid."""
    ctx = cad()
    ctx.reports.cancel_all()
    ctx.s3.clear()
    for user in ctx.data.users.values():
        user.last_company_id = user.first_company_id
    ctx.reset_counters()
    ctx.faults.clear()
    return jsonify(ok=True)


@sim.get("/_sim/faults")
def get_faults() -> Response:
    return jsonify(cad().faults.snapshot())


@sim.post("/_sim/faults")
def set_faults() -> Response | tuple[Response, int]:
    ctx = cad()
    try:
        settings, actions = parse_fault_body(request.get_json(silent=True))
    except FaultConfigError as exc:
        return _error(str(exc))
    if actions.get("expire_tokens"):
        ctx.tokens.expire_all(("access",))
    if actions.get("expire_refresh_tokens"):
        ctx.tokens.expire_all(("refresh",))
    return jsonify(ctx.faults.update(**settings))


@sim.delete("/_sim/faults")
def clear_faults() -> Response:
    cad().faults.clear()
    return jsonify(cad().faults.snapshot())
