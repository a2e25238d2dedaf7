"""Orders into the tables: by the Orders API (v2026-01-01 with items, or v0 with one getOrderItems call per
order), or for long ranges by the orders flat-file report (bulk backfill, the same rows in a few calls).

Every step is idempotent, so a job that was interrupted (a worker killed, a 429 storm outlasting its
retries) starts over and resumes: orders are upserted again, unchanged, and items are fetched only for the
orders that have none yet."""

from __future__ import annotations

from datetime import datetime, timedelta

from hub_runtime.errors import PermanentError

from ..spapi.flat_files import order_rows
from .context import JobContext

BATCH = 200  # orders saved per transaction
ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fetch_orders(ctx: JobContext) -> dict:
    """fetch-data: the orders created in [start, end] of one marketplace, with their items."""
    p = ctx.params
    start, end = parse_time(p["start"]), parse_time(p["end"])
    if p.get("max_orders") is None and end - start >= timedelta(days=ctx.settings.backfill_min_days):
        return backfill(ctx, p["marketplace_id"], start, end)
    orders = ctx.client.orders.search(p["marketplace_id"], created_after=start, created_before=end)
    return save_with_items(ctx, orders, p.get("max_orders"))


def sync_orders(ctx: JobContext, checkpoints, marketplace_id: str, now: datetime) -> None:
    """An incremental sync of one marketplace: the orders updated since its checkpoint (status changes
    included), then the checkpoint moved to where Amazon ended the window (its own now minus 2 minutes,
    by its clock, which may run ahead of ours)."""
    since = checkpoints.get(marketplace_id, "orders")
    if since is None:
        since = now - timedelta(days=ctx.params.get("initial_days", 1))
    orders = ctx.client.orders.search(marketplace_id, last_updated_after=since)
    save_with_items(ctx, orders, None)
    if orders.window_end is not None:
        checkpoints.advance(marketplace_id, "orders", orders.window_end)


def save_with_items(ctx: JobContext, found, max_orders: int | None) -> dict:
    """Save the orders as they come, a batch at a time; then fetch the items of those that came without
    (Orders v0) and have none stored yet."""
    records = {}  # order id -> OrderRecord, for the items pass
    without_items: list[str] = []
    batch = []
    for order, items in found:
        ctx.check()
        records[order.amazon_order_id] = order
        ctx.counts["orders_fetched"] += 1
        if items is None:
            without_items.append(order.amazon_order_id)
        else:
            ctx.counts["items_fetched"] += len(items)
        batch.append((order, items))
        if len(batch) >= BATCH:
            _save(ctx, batch, "orders_api")
            batch = []
        ctx.progress(0.5 if without_items else 0.9)
        if max_orders is not None and len(records) >= max_orders:
            break
    _save(ctx, batch, "orders_api")
    if without_items:
        fetch_items(ctx, [records[order_id] for order_id in _still_missing(ctx, without_items)])
    ctx.progress(1.0, force=True)
    return ctx.snapshot()


def fetch_items(ctx: JobContext, orders: list) -> None:
    """getOrderItems for each order, saved one order at a time (so a restart skips what is done). An order
    Amazon refuses (e.g. not found) is named in the activity's errors; the others go on."""
    for done, order in enumerate(orders, 1):
        ctx.check()
        try:
            items = ctx.client.orders.order_items(order.amazon_order_id)
        except PermanentError as exc:
            ctx.counts["orders_failed"] += 1
            ctx.error(exc.reason_code, str(exc), order_id=order.amazon_order_id)
            continue
        ctx.counts["items_fetched"] += len(items)
        _save(ctx, [(order, items)], "orders_api")
        ctx.progress(0.5 + 0.5 * done / len(orders))


def fetch_missing_items(ctx: JobContext) -> dict:
    """fetch-missing-items: the items of named orders (all stored orders without items when none are
    named), for orders a fetch could not complete."""
    p = ctx.params
    order_ids = p.get("order_ids") or ctx.orders.orders_missing_items(p.get("marketplace_id"), limit=10_000)
    known = ctx.orders.orders_by_id(order_ids)
    for order_id in order_ids:
        if order_id not in known:
            ctx.counts["orders_failed"] += 1
            ctx.error("order_not_stored", "fetch the order first (fetch-data); its items need its row",
                      order_id=order_id)
    fetch_items(ctx, [known[order_id] for order_id in order_ids if order_id in known])
    ctx.progress(1.0, force=True)
    return ctx.snapshot()


def backfill(ctx: JobContext, marketplace_id: str, start: datetime, end: datetime) -> dict:
    """The orders flat-file report for the range: one report, one document, every order with its items."""
    ctx.counts["backfill"] = 1
    text = report_text(ctx, ORDERS_REPORT, [marketplace_id], start, end)
    batch = []
    for order, items in order_rows(text):
        if order.marketplace_id != marketplace_id:
            continue
        ctx.counts["orders_fetched"] += 1
        ctx.counts["items_fetched"] += len(items)
        batch.append((order, items))
        if len(batch) >= BATCH:
            _save(ctx, batch, "flat_file")
            batch = []
    _save(ctx, batch, "flat_file")
    ctx.progress(1.0, force=True)
    return ctx.snapshot()


def report_text(ctx: JobContext, report_type: str, marketplace_ids: list[str], start=None, end=None) -> str:
    """Create a report (or take the one an earlier attempt of this activity created), wait for it, and
    return its document as text."""
    reports = ctx.client.reports
    report_id = ctx.counts.get("report_id")
    if report_id is None:
        report_id = reports.create(report_type, marketplace_ids, data_start=start, data_end=end)
        ctx.counts["report_id"] = report_id
        ctx.progress(0.1, force=True)  # recorded: a restarted attempt waits for this report, not a new one
    report = reports.wait(report_id, ctx.settings.report_poll_seconds, ctx.settings.report_timeout_seconds,
                          ctx.stop)
    ctx.check()
    ctx.progress(0.6, force=True)
    return reports.document(report["reportDocumentId"]).decode("utf-8-sig", errors="replace")


def _still_missing(ctx: JobContext, order_ids: list[str]) -> list[str]:
    missing = set(ctx.orders.orders_missing_items(None, limit=None, among=order_ids))
    return [order_id for order_id in order_ids if order_id in missing]


def _save(ctx: JobContext, batch: list, source: str) -> None:
    if not batch:
        return
    saved = ctx.orders.save_orders(batch, source)
    for name in ("orders_new", "orders_updated", "orders_unchanged", "items_new", "items_updated"):
        ctx.counts[name] += getattr(saved, name)
    ctx.counts["orders_saved"] = ctx.counts["orders_new"] + ctx.counts["orders_updated"]
    ctx.counts["items_saved"] = ctx.counts["items_new"] + ctx.counts["items_updated"]
