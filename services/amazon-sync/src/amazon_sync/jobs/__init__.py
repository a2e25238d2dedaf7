"""The worker's use case: run one queued activity (fetch-data, fetch-missing-items, an inventory report, a
scheduled sync) and record its counts and errors on the activity."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from hub_runtime.errors import PermanentError, TaskCancelled, TaskInterrupted, TransientError
from hub_runtime.worker import Job

from ..spapi import Stopped
from .context import JobContext
from .inventory import inventory_report
from .orders import fetch_missing_items, fetch_orders, sync_orders

log = logging.getLogger("amazon_sync.jobs")


def make_handler(service):
    """The worker's handler for `service` (an `AmazonService`)."""

    def handle(job: Job) -> dict:
        return run_activity(service, job)

    return handle


def run_activity(service, job: Job) -> dict:
    activities = service.activities
    activity = activities.get(job.task.key)
    if activity is None:
        raise PermanentError("activity_unknown", f"no activity {job.task.key!r}")
    counts = Counter({"report_id": activity.counts["report_id"]} if "report_id" in (activity.counts or {}) else {})
    ctx = JobContext(activity.id, activity.params, job, activities, service.amazon, None, service.orders, counts)
    try:
        ctx.client = service.client(stop=ctx.stop)
    except PermanentError as exc:  # no usable credentials: nothing to try again
        activities.failed(activity.id, str(exc))
        raise
    activities.started(activity.id)
    before = _client_stats(ctx.client)
    try:
        with ctx.watching():
            try:
                _run(service, activity.activity_type, ctx)
            except Stopped:
                ctx.check()  # stopped by the worker or a cancel: say which
                raise
    except (TaskInterrupted, TransientError):  # tried again: on the next worker, or after the retry delay
        _add_client_counts(ctx, before)
        activities.progressed(activity.id, activity.progress, ctx.snapshot())
        raise
    except (PermanentError, TaskCancelled) as exc:
        _add_client_counts(ctx, before)
        activities.failed(activity.id, "cancelled" if isinstance(exc, TaskCancelled) else str(exc),
                          ctx.snapshot(), ctx.errors)
        raise
    _add_client_counts(ctx, before)
    activities.finished(activity.id, ctx.snapshot(), ctx.errors)
    log.info("activity done", extra={"activity": activity.id, "type": activity.activity_type, **ctx.snapshot()})
    return {**ctx.snapshot(), "errors": len(ctx.errors)}


def _run(service, activity_type: str, ctx: JobContext) -> dict:
    if activity_type == "orders":
        return fetch_orders(ctx)
    if activity_type == "items":
        return fetch_missing_items(ctx)
    if activity_type == "inventory":
        return inventory_report(ctx, service.inventory)
    if activity_type == "sync":
        now = datetime.now(UTC)
        for marketplace_id in ctx.params["marketplace_ids"]:
            sync_orders(ctx, service.checkpoints, marketplace_id, now)
        ctx.progress(1.0, force=True)
        return ctx.snapshot()
    raise PermanentError("activity_type_unknown", f"this worker does not run {activity_type!r} activities")


def _client_stats(client) -> tuple[int, int]:
    """(calls, 429s) so far of the seller's operations in this process."""
    stats = client.limiter.stats().values()
    return sum(s.calls for s in stats), sum(s.throttled for s in stats)


def _add_client_counts(ctx: JobContext, before: tuple[int, int]) -> None:
    """The SP-API calls made while this job ran and the 429s met, beside the job's own counts (other jobs
    of the seller running in this process at the same time are counted too)."""
    calls, throttled = _client_stats(ctx.client)
    ctx.counts["api_calls"] = calls - before[0]
    ctx.counts["throttled"] = throttled - before[1]
