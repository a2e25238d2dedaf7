"""Test and ops endpoints, no auth: `/health` and `/_sim/*` (state, reset, faults, clock, orders)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .clock import iso_z
from .context import sim
from .faults import FaultConfigError, parse_fault_body
from .marketplaces import BY_ID
from .orders import STATUSES
from .orders_v0 import v0_order
from .store import SellerStore

sim_api = Blueprint("spapi_sim", __name__)


def _error(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(error={"code": "invalid_request", "message": message}), status


@sim_api.get("/health")
def health() -> Response:
    return jsonify(ok=True)


@sim_api.get("/_sim/state")
def state() -> Response:
    ctx = sim()
    now = ctx.clock.now()
    ctx.reports.run_schedules(now)
    names = {s.seller_id: s.name for s in ctx.accounts.sellers.values()}
    reports = [{"seller": names[r.seller_id]} | r.to_dict(now) for r in ctx.reports.all(now)]
    schedules = [{"seller": names[s.seller_id]} | s.to_dict()
                 for seller_id in names for s in ctx.reports.schedules_of(seller_id)]
    return jsonify(now=iso_z(now), speed=ctx.clock.speed, seed=ctx.seed,
                   sellers=[{"name": store.seller.name, "sellerId": store.seller.seller_id,
                             "orders": len(store.orders())} for store in ctx.stores.values()],
                   operations=ctx.operations.snapshot(), counters=ctx.events(), rate_limits=ctx.limiter.snapshot(),
                   reports=reports, schedules=schedules, faults=ctx.faults.snapshot())


@sim_api.post("/_sim/reset")
def reset() -> Response:
    """The generated data again, no reports, schedules or documents, counters zero, full rate-limit buckets,
    faults cleared. Access tokens stay valid; the clock does not go back."""
    ctx = sim()
    for store in ctx.stores.values():
        store.reset()
    ctx.reports.clear()
    ctx.limiter.reset()
    ctx.operations.reset()
    ctx.reset_events()
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
        return _error(str(exc))
    if actions.get("expire_tokens"):
        ctx.accounts.expire_all()
    if actions.get("expire_document_urls"):
        ctx.documents.expire_all()
    return jsonify(ctx.faults.update(**settings))


@sim_api.delete("/_sim/faults")
def clear_faults() -> Response:
    sim().faults.clear()
    return jsonify(sim().faults.snapshot())


@sim_api.get("/_sim/clock")
def get_clock() -> Response:
    clock = sim().clock
    return jsonify(now=iso_z(clock.now()), epoch=clock.now(), speed=clock.speed)


@sim_api.post("/_sim/clock")
def set_clock() -> Response | tuple[Response, int]:
    """`{"advance_seconds": N}` moves simulated time forward, `{"speed": F}` changes its pace."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - {"advance_seconds", "speed"}:
        return _error("body must be an object with advance_seconds and/or speed")
    advance, speed = body.get("advance_seconds", 0), body.get("speed")
    if isinstance(advance, bool) or not isinstance(advance, int | float) or not 0 <= advance <= 366 * 86400:
        return _error("advance_seconds must be a number between 0 and 31622400")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int | float) or not 0 < speed <= 86400):
        return _error("speed must be a number above 0 (at most 86400)")
    clock = sim().clock
    if speed is not None:
        clock.set_speed(float(speed))
    clock.advance(float(advance))
    return get_clock()


def _store(body: dict) -> SellerStore | None:
    name = body.get("seller", "demo")
    seller = sim().accounts.sellers.get(name) if isinstance(name, str) else None
    return None if seller is None else sim().stores[seller.seller_id]


@sim_api.post("/_sim/orders")
def change_orders() -> Response | tuple[Response, int]:
    """`{"amazon_order_id", "status"}`: the order gets that status and a LastUpdateDate of now.
    `{"add": N, "status"?, "items"?, "marketplace_id"?}`: N new orders placed in the last minute.
    Both take `"seller"` (default the demo seller)."""
    ctx = sim()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error("body must be a JSON object")
    store = _store(body)
    if store is None:
        return _error("no such seller")
    status = body.get("status")
    if status is not None and status not in STATUSES:
        return _error(f"status must be one of {', '.join(STATUSES)}")
    now = ctx.clock.now()
    if "add" in body:
        count, items, marketplace_id = body["add"], body.get("items"), body.get("marketplace_id")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            return _error("add must be an integer between 1 and 1000")
        if items is not None and (isinstance(items, bool) or not isinstance(items, int) or not 1 <= items <= 200):
            return _error("items must be an integer between 1 and 200")
        if marketplace_id is not None and marketplace_id not in BY_ID:
            return _error("unknown marketplace_id")
        made = store.add(count, now, status, items, BY_ID.get(marketplace_id))
        return jsonify(orders=[v0_order(order) for order in made])
    order_id = body.get("amazon_order_id")
    if not isinstance(order_id, str) or status is None:
        return _error('give "amazon_order_id" and "status", or "add"')
    order = store.set_status(order_id, status, now)
    if order is None:
        return _error(f"no order {order_id}", 404)
    return jsonify(order=v0_order(order))
