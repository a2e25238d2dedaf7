"""What a source's routes are built from (`SourceRoutes`), and the routes a source gets when it brings
none of its own: `POST /api/sources/<name>/reports/` (its parameters as JSON) and
`POST /api/sources/<name>/schedules/` (`{"cron", "name", "params"}`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, g, jsonify
from pydantic import BaseModel, ConfigDict, Field, create_model

from hub_runtime.cron import CronError, parse_cron
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..reports import Reports
from ..schedules import Schedules
from ..settings import ReportSettings
from ..sources import ReportParams, ReportRequestError, ReportSource
from ..storage import Storage
from .schedule_routes import schedule_view
from .schemas import GenerateOut, ScheduleCreated


class ScheduleFields(BaseModel):
    """What every schedule has besides its source's parameters."""

    model_config = ConfigDict(extra="forbid")

    cron: str = Field(max_length=120, description="5 fields (minute hour day month weekday), or 6 with seconds last")
    name: str = Field("scheduled report", min_length=1, max_length=200)


@dataclass(frozen=True)
class SourceRoutes:
    """Given to a source's `routes` factory: its instance's parts, and the answers every source gives."""

    source: ReportSource
    api: OpenAPI
    settings: ReportSettings
    storage: Storage
    reports: Reports
    schedules: Schedules

    def blueprint(self) -> APIBlueprint:
        return APIBlueprint(f"source_{self.source.name}", __name__)

    @staticmethod
    def user() -> str:
        """The user of this request (routes with `auth="user"`)."""
        return g.principal.user_id

    def queue(self, params: ReportParams, problem_fields=None) -> tuple[Response, int]:
        """Queue a report of this source for the request's user: 202 with its status URL, or 400
        `report_refused` (the source's check) with `problem_fields(problems)` as the error's fields."""
        try:
            task_id = self.reports.request(self.user(), self.source.name, params)
        except ReportRequestError as exc:
            raise refused(exc, problem_fields) from None
        return jsonify(task_id=task_id, state="placed", status_url=f"/api/report-status/{task_id}/"), 202

    def schedule(self, fields: ScheduleFields, params: ReportParams, problem_fields=None) -> tuple[Response, int]:
        """Schedule reports of this source with these parameters: 201 with the next run times."""
        check_cron(fields.cron)
        try:
            schedule = self.schedules.create(self.user(), fields.name, fields.cron, self.source.name, params)
        except ReportRequestError as exc:
            raise refused(exc, problem_fields) from None
        return jsonify(message="Scheduled report triggered.", **schedule_view(schedule, self.reports)), 201


def check_cron(cron: str) -> None:
    try:
        parse_cron(cron)
    except CronError as exc:
        raise ApiError(400, "invalid_cron", str(exc), {"cron": str(exc)}) from None


def refused(exc: ReportRequestError, problem_fields=None) -> ApiError:
    return ApiError(400, exc.code, exc.message, problem_fields(exc.problems) if problem_fields else None)


def json_routes(ctx: SourceRoutes) -> APIBlueprint:
    """The routes of a source without routes of its own: its parameters as a JSON body."""
    source, api = ctx.source, ctx.api
    bp = ctx.blueprint()
    tag = f"source: {source.name}"
    schedule_body = create_model(f"{source.params.__name__}Schedule", __base__=ScheduleFields,
                                 params=(source.params, Field(description=f"the {source.name} report's parameters")))

    @api.operation(bp, f"/api/sources/{source.name}/reports/", "POST", body=source.params, auth="user", tag=tag,
                   responses={202: GenerateOut, 400: ErrorBody}, summary=f"queue a {source.name} report")
    def generate(body: ReportParams):
        return ctx.queue(body)

    @api.operation(bp, f"/api/sources/{source.name}/schedules/", "POST", body=schedule_body, auth="user", tag=tag,
                   responses={201: ScheduleCreated, 400: ErrorBody},
                   summary=f"schedule {source.name} reports by cron (UTC); answers with the next run times")
    def schedule(body):
        return ctx.schedule(body, body.params)

    return bp
