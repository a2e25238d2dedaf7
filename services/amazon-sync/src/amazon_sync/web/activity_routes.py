"""The activity log: list (filters, pagination), stats, one activity; and incremental syncs, now or on a
cron schedule."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import jsonify

from hub_runtime.cron import CronError, next_runs, parse_cron
from hub_runtime.tasks import iso
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..activities import ActivityFilter
from .order_routes import accepted
from .schemas import ActivityQuery, StatsQuery, SyncRequest, SyncScheduleRequest, parse_moment

MIN_SYNC_INTERVAL = timedelta(minutes=5)  # searchOrders refills one call per 3 minutes


def activities_blueprint(service, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("activities", __name__, url_prefix="/api")
    activities = service.activities

    @api.operation(bp, "/activities/", "GET", query=ActivityQuery, tag="activities",
                   responses={200: None, 400: ErrorBody}, summary="activities, newest first, filtered and paged")
    def list_activities(query: ActivityQuery):
        try:
            date_from = parse_moment(query.date_from, False) if query.date_from else None
            date_to = parse_moment(query.date_to, True) if query.date_to else None
        except ValueError as exc:
            raise ApiError(400, "invalid_request", f"invalid date: {exc}", {"date_from/date_to": str(exc)}) from None
        filters = ActivityFilter(query.marketplace_id, query.status, query.activity_type, query.search,
                                 _naive(date_from), _naive(date_to))
        page, total = activities.page(filters, query.page, query.page_size)
        pages = (total + query.page_size - 1) // query.page_size
        return jsonify(data={"activities": page, "pagination": {
            "page": query.page, "page_size": query.page_size, "total": total, "total_pages": pages,
            "has_next": query.page < pages, "has_previous": query.page > 1}})

    @api.operation(bp, "/activities/stats/", "GET", query=StatsQuery, tag="activities",
                   responses={200: None, 400: ErrorBody}, summary="totals, success rate and breakdowns over a period")
    def stats(query: StatsQuery):
        return jsonify(data=activities.stats(query.days, query.marketplace_id))

    @api.operation(bp, "/activities/<activity_id>/", "GET", tag="activities", responses={200: None, 404: ErrorBody},
                   summary="one activity: status, progress, counts, errors")
    def activity(activity_id: str):
        view = activities.view(activity_id)
        if view is None:
            raise ApiError(404, "activity_not_found", f"no activity {activity_id!r}")
        return jsonify(data=view)

    @api.operation(bp, "/sync/", "POST", body=SyncRequest, tag="sync", responses={202: None, 400: ErrorBody},
                   summary="an incremental sync now: the orders updated since each marketplace's checkpoint")
    def sync_now(body: SyncRequest):
        marketplace_ids = body.marketplace_ids or service.amazon.marketplace_ids
        activity_id = activities.queue("sync", {"marketplace_ids": marketplace_ids, "initial_days": body.initial_days},
                                       detail=f"sync of {', '.join(marketplace_ids)}",
                                       marketplace_id=marketplace_ids[0] if len(marketplace_ids) == 1 else None)
        return accepted(activity_id)

    @api.operation(bp, "/sync-schedules/", "POST", body=SyncScheduleRequest, tag="sync",
                   responses={201: None, 400: ErrorBody}, summary="a cron schedule of incremental syncs")
    def create_schedule(body: SyncScheduleRequest):
        try:
            expression = parse_cron(body.cron)
            upcoming = next_runs(expression, datetime(2030, 1, 1), 3)
            if min(b - a for a, b in zip(upcoming, upcoming[1:], strict=False)) < MIN_SYNC_INTERVAL:
                raise CronError(f"syncs run at most every {int(MIN_SYNC_INTERVAL.total_seconds() // 60)} minutes; "
                                f"{expression!r} runs more often")
        except CronError as exc:
            raise ApiError(400, "invalid_cron", str(exc), {"cron": str(exc)}) from None
        schedule = service.schedules.create(body.name, expression, body.marketplace_ids
                                            or service.amazon.marketplace_ids)
        return jsonify(schedule_view(schedule)), 201

    @api.operation(bp, "/sync-schedules/", "GET", tag="sync", responses={200: None},
                   summary="the sync schedules")
    def list_schedules():
        return jsonify(schedules=[schedule_view(s) for s in service.schedules.list()])

    @api.operation(bp, "/sync-schedules/<schedule_id>/", "DELETE", tag="sync", responses={200: None, 404: ErrorBody},
                   summary="delete a sync schedule (its activities stay)")
    def delete_schedule(schedule_id: str):
        if not service.schedules.delete(schedule_id):
            raise ApiError(404, "schedule_not_found", f"no sync schedule {schedule_id!r}")
        return jsonify(deleted=True, id=schedule_id)

    return bp


def schedule_view(schedule) -> dict:
    return {"id": schedule.id, "name": schedule.name, "cron": schedule.cron,
            "marketplace_ids": schedule.marketplace_ids, "paused": schedule.paused,
            "next_run_at": iso(schedule.next_run_at), "last_run_at": iso(schedule.last_run_at),
            "last_activity_id": schedule.last_activity_id, "runs": schedule.runs, "missed_ticks": schedule.missed_ticks,
            "created_at": iso(schedule.created_at)}


def _naive(moment):
    return moment.replace(tzinfo=None) if moment else None
