"""Cron schedules of every source: list, show, runs, pause, resume, delete. Each source brings its own
route to create one (`SourceRoutes.schedule`)."""

from __future__ import annotations

from flask import g, jsonify

from hub_runtime.cron import next_runs
from hub_runtime.tasks import iso
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..models import Schedule
from ..reports import Reports
from ..schedules import Schedules
from .schemas import ReportList, ScheduleList, ScheduleOut


def schedule_view(schedule: Schedule, reports: Reports) -> dict:
    upcoming = [] if schedule.paused else [schedule.next_run_at, *next_runs(schedule.cron, schedule.next_run_at, 4)]
    params = reports.stored_params(schedule.source, schedule.params)
    return {"id": schedule.id, "name": schedule.name, "cron": schedule.cron, "source": schedule.source,
            "params": schedule.params, "paused": schedule.paused,
            "format": params.output_format() if params else "", "inputs": params.uploads() if params else {},
            "next_run_at": None if schedule.paused else iso(schedule.next_run_at),
            "next_runs": [iso(t) for t in upcoming],
            "last_run_at": iso(schedule.last_run_at), "last_task_id": schedule.last_task_id, "runs": schedule.runs,
            "missed_ticks": schedule.missed_ticks, "detail": schedule.detail, "created_at": iso(schedule.created_at)}


def schedules_blueprint(reports: Reports, schedules: Schedules, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("schedules", __name__)
    tag = "schedules"

    def user() -> str:
        return g.principal.user_id

    def owned(schedule_id: str) -> Schedule:
        schedule = schedules.get(user(), schedule_id)
        if schedule is None:
            raise ApiError(404, "schedule_not_found", f"you have no schedule {schedule_id!r}")
        return schedule

    @api.operation(bp, "/api/schedules/", "GET", auth="user", tag=tag, responses={200: ScheduleList},
                   summary="your schedules of every source")
    def list_schedules():
        return jsonify(schedules=[schedule_view(s, reports) for s in schedules.list(user())])

    @api.operation(bp, "/api/schedules/<schedule_id>/", "GET", auth="user", tag=tag,
                   responses={200: ScheduleOut, 404: ErrorBody}, summary="one schedule")
    def get_schedule(schedule_id: str):
        return jsonify(schedule_view(owned(schedule_id), reports))

    @api.operation(bp, "/api/schedules/<schedule_id>/runs/", "GET", auth="user", tag=tag,
                   responses={200: ReportList, 404: ErrorBody}, summary="the reports a schedule made, newest first")
    def schedule_runs(schedule_id: str):
        schedule = owned(schedule_id)
        return jsonify(reports=reports.views(reports.list(user(), schedule_id=schedule.id)))

    @api.operation(bp, "/api/schedules/<schedule_id>/pause/", "POST", auth="user", tag=tag,
                   responses={200: ScheduleOut, 404: ErrorBody}, summary="stop firing until resumed")
    def pause(schedule_id: str):
        return jsonify(schedule_view(schedules.set_paused(owned(schedule_id), True), reports))

    @api.operation(bp, "/api/schedules/<schedule_id>/resume/", "POST", auth="user", tag=tag,
                   responses={200: ScheduleOut, 404: ErrorBody},
                   summary="fire again from the next tick (ticks that passed while paused are skipped)")
    def resume(schedule_id: str):
        return jsonify(schedule_view(schedules.set_paused(owned(schedule_id), False), reports))

    @api.operation(bp, "/api/schedules/<schedule_id>/", "DELETE", auth="user", tag=tag,
                   responses={200: None, 404: ErrorBody}, summary="delete a schedule (its reports stay)")
    def delete(schedule_id: str):
        schedules.delete(owned(schedule_id))
        return jsonify(message="Schedule deleted.", id=schedule_id)

    return bp
