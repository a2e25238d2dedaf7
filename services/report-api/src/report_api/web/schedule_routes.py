"""Cron schedules: create (with files or stored uploads), list, show, pause, resume, delete."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from hub_runtime.tasks import iso
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import ErrorBody, OpenAPI

from ..models import Schedule
from ..reports import ReportRequestError, Reports
from ..schedules import CronError, Schedules, next_runs, parse_cron
from ..settings import ReportSettings
from ..storage import Storage
from .files import problem_fields
from .report_routes import INPUT_FIELDS, received_inputs
from .schemas import ReportList, ScheduleCreated, ScheduleJson, ScheduleList, ScheduleOut


def schedule_view(schedule: Schedule) -> dict:
    upcoming = [] if schedule.paused else [schedule.next_run_at, *next_runs(schedule.cron, schedule.next_run_at, 4)]
    return {"id": schedule.id, "name": schedule.name, "cron": schedule.cron, "paused": schedule.paused,
            "format": schedule.fmt,
            "inputs": {"input": schedule.input_id, "reference": schedule.reference_id, "rules": schedule.rules_id},
            "next_run_at": None if schedule.paused else iso(schedule.next_run_at),
            "next_runs": [iso(t) for t in upcoming],
            "last_run_at": iso(schedule.last_run_at), "last_task_id": schedule.last_task_id, "runs": schedule.runs,
            "missed_ticks": schedule.missed_ticks, "detail": schedule.detail, "created_at": iso(schedule.created_at)}


def check_cron(options: ScheduleJson) -> None:
    try:
        parse_cron(options.cron)
    except CronError as exc:
        raise ApiError(400, "invalid_cron", str(exc), {"cron": str(exc)}) from None


def schedules_blueprint(settings: ReportSettings, storage: Storage, reports: Reports, schedules: Schedules,
                        api: OpenAPI) -> Blueprint:
    bp = Blueprint("schedules", __name__)
    tag = "schedules"

    def user() -> str:
        return g.principal.user_id

    def owned(schedule_id: str) -> Schedule:
        schedule = schedules.get(user(), schedule_id)
        if schedule is None:
            raise ApiError(404, "schedule_not_found", f"you have no schedule {schedule_id!r}")
        return schedule

    @api.operation(bp, "/api/trigger-scheduled-report/", "POST", auth="user", tag=tag,
                   form=ScheduleJson, files=tuple(names[1] for names in INPUT_FIELDS.values()),
                   responses={201: ScheduleCreated, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody},
                   summary="schedule a report by cron (UTC): files in the request (`input_file`, `reference_file`, "
                           "`rules_file`) or stored uploads; answers with the next run times")
    def create_schedule():
        options, inputs = received_inputs(storage, settings, user(), ScheduleJson, check_cron)
        try:
            schedule = schedules.create(user(), options.name, options.cron, inputs, options.format)
        except ReportRequestError as exc:
            raise ApiError(400, "rules_do_not_fit", exc.message, problem_fields(exc.problems)) from None
        return jsonify(message="Scheduled report triggered.", **schedule_view(schedule)), 201

    @api.operation(bp, "/api/schedules/", "GET", auth="user", tag=tag, responses={200: ScheduleList},
                   summary="your schedules")
    def list_schedules():
        return jsonify(schedules=[schedule_view(s) for s in schedules.list(user())])

    @api.operation(bp, "/api/schedules/<schedule_id>/", "GET", auth="user", tag=tag,
                   responses={200: ScheduleOut, 404: ErrorBody}, summary="one schedule")
    def get_schedule(schedule_id: str):
        return jsonify(schedule_view(owned(schedule_id)))

    @api.operation(bp, "/api/schedules/<schedule_id>/runs/", "GET", auth="user", tag=tag,
                   responses={200: ReportList, 404: ErrorBody}, summary="the reports a schedule made, newest first")
    def schedule_runs(schedule_id: str):
        schedule = owned(schedule_id)
        return jsonify(reports=reports.views(reports.list(user(), schedule_id=schedule.id)))

    @api.operation(bp, "/api/schedules/<schedule_id>/pause/", "POST", auth="user", tag=tag,
                   responses={200: ScheduleOut, 404: ErrorBody}, summary="stop firing until resumed")
    def pause(schedule_id: str):
        return jsonify(schedule_view(schedules.set_paused(owned(schedule_id), True)))

    @api.operation(bp, "/api/schedules/<schedule_id>/resume/", "POST", auth="user", tag=tag,
                   responses={200: ScheduleOut, 404: ErrorBody},
                   summary="fire again from the next tick (ticks that passed while paused are skipped)")
    def resume(schedule_id: str):
        return jsonify(schedule_view(schedules.set_paused(owned(schedule_id), False)))

    @api.operation(bp, "/api/schedules/<schedule_id>/", "DELETE", auth="user", tag=tag,
                   responses={200: None, 404: ErrorBody}, summary="delete a schedule (its reports stay)")
    def delete(schedule_id: str):
        schedules.delete(owned(schedule_id))
        return jsonify(message="Schedule deleted.", id=schedule_id)

    return bp
