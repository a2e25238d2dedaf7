"""An inventory report of one marketplace into the tables: GET_FBA_MYI_ALL_INVENTORY_DATA created, waited
for, downloaded (gzip TSV) and upserted by (marketplace, report date, SKU), so fetching the same day twice
changes nothing."""

from __future__ import annotations

from ..spapi.flat_files import inventory_rows
from .context import JobContext
from .orders import report_text

INVENTORY_REPORT = "GET_FBA_MYI_ALL_INVENTORY_DATA"


def inventory_report(ctx: JobContext, inventory) -> dict:
    p = ctx.params
    text = report_text(ctx, INVENTORY_REPORT, [p["marketplace_id"]])
    rows = inventory_rows(text, p["marketplace_id"], p["report_date"])
    ctx.counts["rows_fetched"] = len(rows)
    saved = inventory.save(rows)
    ctx.counts["rows_saved"] = saved.new + saved.updated
    ctx.counts["rows_new"] = saved.new
    ctx.counts["rows_updated"] = saved.updated
    ctx.progress(1.0, force=True)
    return ctx.snapshot()
