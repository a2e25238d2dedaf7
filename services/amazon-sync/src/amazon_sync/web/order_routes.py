"""Orders: fetch-data and fetch-missing-items queue activities (202, with the activity's id and URL);
download-processed streams CSV exports from the tables; processed-status counts what is stored."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Response, jsonify, stream_with_context

from hub_runtime.tasks import iso
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..marketplaces import MARKETPLACES
from .schemas import Download, FetchData, FetchMissingItems, WindowError, parse_moment

CACHE_KEY = re.compile(r"^processed_data_(?P<marketplace>[A-Z0-9]+)_(?P<activity>[0-9a-f-]{36})$")


def cache_key(marketplace_id: str, activity_id: str) -> str:
    """The seed's download handle, `processed_data_<marketplace>_<id>`: here it names the fetch's activity,
    whose range the export covers (exports always come from the tables, never from a cache that expires)."""
    return f"processed_data_{marketplace_id}_{activity_id}"


def accepted(activity_id: str, **extra) -> tuple[Response, int]:
    return jsonify(activity_id=activity_id, status="pending", activity_url=f"/api/activities/{activity_id}/",
                   **extra), 202


def orders_blueprint(service, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("orders", __name__, url_prefix="/api")
    activities = service.activities

    @api.operation(bp, "/fetch-data/", "POST", body=FetchData, tag="orders", responses={202: None, 400: ErrorBody},
                   summary="fetch a marketplace's orders and items for a date range (≤ 30 days), as an activity")
    def fetch_data(body: FetchData):
        try:
            start, end = body.window()
        except WindowError as exc:
            raise ApiError(400, "invalid_request", str(exc), {exc.field: str(exc)}) from None
        backfill = body.max_orders is None and (end - start).total_seconds() >= service.amazon.backfill_min_days * 86400
        params = {"marketplace_id": body.marketplace_id, "start": start.isoformat(), "end": end.isoformat(),
                  "max_orders": body.max_orders}
        market = MARKETPLACES[body.marketplace_id]
        activity_id = activities.queue("orders", params, marketplace_id=body.marketplace_id,
                                       detail=f"orders of {market.code} created {start:%Y-%m-%d %H:%M} to "
                                              f"{end:%Y-%m-%d %H:%M} UTC" + (" (flat-file report)" if backfill else ""))
        return accepted(activity_id, cache_key=cache_key(body.marketplace_id, activity_id),
                        mode="report" if backfill else "orders_api")

    @api.operation(bp, "/fetch-missing-items/", "POST", body=FetchMissingItems, tag="orders",
                   responses={202: None, 400: ErrorBody},
                   summary="fetch the items of orders stored without them, as an activity")
    def fetch_missing_items(body: FetchMissingItems):
        params = {"marketplace_id": body.marketplace_id, "order_ids": body.order_ids}
        detail = f"items of {len(body.order_ids)} orders" if body.order_ids else "items of every order stored without"
        activity_id = activities.queue("items", params, marketplace_id=body.marketplace_id, detail=detail)
        return accepted(activity_id)

    @api.operation(bp, "/download-processed/", "GET", tag="orders", responses={200: None},
                   summary="the exports available: one cache key per completed fetch, with its counts")
    def list_downloads():
        keys, info = [], {}
        for view in service.activities.completed("orders", limit=100):
            key = cache_key(view["marketplace_id"], view["id"])
            keys.append(key)
            info[key] = {"activity_id": view["id"], "marketplace_id": view["marketplace_id"],
                         "start": view["params"]["start"], "end": view["params"]["end"],
                         "orders": view["counts"].get("orders_fetched", 0),
                         "items": view["counts"].get("items_fetched", 0), "finished_at": view["finished_at"]}
        return jsonify(cache_keys=keys, cache_info=info)

    @api.operation(bp, "/download-processed/", "POST", body=Download, tag="orders",
                   responses={200: None, 400: ErrorBody, 404: ErrorBody},
                   summary="a CSV export of stored orders (data_type mssql: a row per item; azure: per order)")
    def download(body: Download):
        marketplace_id, start, end = body.marketplace_id, None, None
        if body.cache_key:
            match = CACHE_KEY.match(body.cache_key)
            activity = service.activities.get(match["activity"]) if match else None
            if activity is None or activity.activity_type != "orders":
                raise ApiError(404, "cache_key_not_found", f"no fetch with cache_key {body.cache_key!r}; "
                               "GET /api/download-processed/ lists them")
            marketplace_id = activity.marketplace_id
            start, end = (datetime.fromisoformat(activity.params[k]) for k in ("start", "end"))
        try:
            start = parse_moment(body.start_date, False) if body.start_date else start
            end = parse_moment(body.end_date, True) if body.end_date else end
        except ValueError as exc:
            raise ApiError(400, "invalid_request", f"invalid date: {exc}") from None
        chunks = service.exports.orders_csv(body.data_type, marketplace_id=marketplace_id, purchased_from=start,
                                            purchased_to=end, raw=body.raw)
        code = MARKETPLACES[marketplace_id].code if marketplace_id else "ALL"
        name = f"{body.data_type.upper()}_data_{code}_{datetime.now():%Y%m%d_%H%M%S}.csv"
        return Response(stream_with_context(chunks), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "X-Content-Type-Options": "nosniff"})

    @api.operation(bp, "/processed-status/", "GET", tag="orders", responses={200: None},
                   summary="what is stored: orders, items and inventory rows per marketplace, sync checkpoints")
    def processed_status():
        stored = service.orders.summary()
        checkpoints = service.checkpoints.all()
        return jsonify(marketplaces=stored, checkpoints={k: iso(v) for k, v in checkpoints.items()},
                       latest_activities={t: service.activities.latest(t) for t in ("orders", "items", "inventory",
                                                                                     "sync")})

    return bp
