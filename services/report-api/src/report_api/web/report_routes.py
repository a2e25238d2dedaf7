"""Reports of every source: status, list, downloads; and the sources this instance serves. Every route
needs a user's access token, and a user only ever sees their own reports (another user's id answers 404).
Each source brings its own routes to queue and schedule reports (`report_api.sources`)."""

from __future__ import annotations

import mimetypes
import tempfile
from pathlib import Path

from flask import Response, g, jsonify, request, send_file
from pydantic import BaseModel, Field

from hub_runtime.models import TaskStatus
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from ..reports import Reports
from ..storage import Storage
from .schemas import ReportList, ReportOut, SourceList

JSON_VIEW_MAX_BYTES = 10 * 2**20
MEDIA_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "json": "application/json"}


def media_type(fmt: str) -> str:
    return MEDIA_TYPES.get(fmt) or mimetypes.guess_type(f"report.{fmt}")[0] or "application/octet-stream"


def reports_blueprint(storage: Storage, reports: Reports, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("reports", __name__)

    def user() -> str:
        return g.principal.user_id

    @api.operation(bp, "/api/sources/", "GET", auth="user", tag="reports", responses={200: SourceList},
                   summary="the report sources this instance serves, with the JSON schema of their parameters")
    def list_sources():
        return jsonify(sources=[{"name": s.name, "summary": s.summary, "uses_uploads": s.uses_uploads,
                                 "params": s.params.model_json_schema()} for s in reports.sources.values()])

    @api.operation(bp, "/api/report-status/<task_id>/", "GET", auth="user", tag="reports",
                   responses={200: ReportOut, 404: ErrorBody},
                   summary="a report's state (finished: ready to download), progress, row and error counts, and "
                           "its download link when ready")
    def report_status(task_id: str):
        return jsonify(reports.view(_job(task_id)))

    @api.operation(bp, "/api/reports/", "GET", auth="user", tag="reports", responses={200: ReportList},
                   summary="your reports of every source, newest first")
    def list_reports():
        return jsonify(reports=reports.views(reports.list(user())))

    @api.operation(bp, "/api/reports/<task_id>/download", "GET", auth="user", tag="reports", query=FormatQuery,
                   responses={200: None, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody},
                   summary="the report file (CSV, or the format that was asked for), streamed; `?format=` another "
                           "format its source offers (gcore: json, csv, xlsx)")
    def download(task_id: str, query: FormatQuery):
        return _send(_job(task_id), query.format)

    @api.operation(bp, "/api/download-report-view/", "GET", auth="user", tag="reports",
                   responses={200: None, 404: ErrorBody, 413: ErrorBody},
                   summary="your latest finished report, streamed; `?as=json` answers {\"body\": csv} as the old "
                           "service did (reports up to 10 MiB)")
    def download_latest():
        job = reports.latest_finished(user())
        if job is None:
            raise ApiError(404, "no_report", "you have no finished report yet")
        if request.args.get("as") == "json":
            path = storage.root / job.output_path
            if job.fmt != "csv" or path.stat().st_size > JSON_VIEW_MAX_BYTES:
                raise ApiError(413, "too_large_for_json", "this report is too large (or not CSV) for ?as=json; "
                               "download it without ?as=json")
            return jsonify(body=path.read_text(encoding="utf-8"))
        return _send(job)

    def _job(task_id: str):
        job = reports.job(task_id, user())
        if job is None:
            raise ApiError(404, "report_not_found", f"you have no report {task_id!r}")
        return job

    def _send(job, fmt: str | None = None) -> Response:
        task = reports.tasks.find(job.task_id, with_history=False)
        if task is not None and task.status == TaskStatus.CREATED and job.output_path is None:
            raise ApiError(410, "report_expired", f"report {job.task_id} was deleted after the retention period")
        view = reports.report_view(job, task)
        if view["download_url"] is None:
            raise ApiError(409, "report_not_ready", f"report {job.task_id} is {view['state']}; nothing to download")
        return send_report(storage, reports, job, (task.result or {}) if task else {}, fmt)

    return bp


class FormatQuery(BaseModel):
    format: str | None = Field(None, pattern="^[a-z]{2,8}$", description="a format the report's source offers "
                               "besides the report's own (e.g. json, xlsx); default: the report's own")


def send_report(storage: Storage, reports: Reports, job, result: dict, fmt: str | None = None,
                attachment: bool = True) -> Response:
    """A finished report's file, streamed: as made, or rendered by its source in another of its formats
    (into a staging file that is gone once sent). 400 `format_not_available` for a format it does not offer."""
    path = storage.root / job.output_path
    fmt = fmt or job.fmt
    headers = {"mimetype": media_type(fmt), "as_attachment": attachment,
               "download_name": f"report-{job.task_id}.{fmt}", "max_age": 0}
    if fmt == job.fmt:
        return send_file(path, conditional=True, **headers)
    source = reports.sources.get(job.source)
    if source is None or source.render is None or fmt not in source.formats:
        offered = (source.formats if source is not None else ()) or (job.fmt,)
        raise ApiError(400, "format_not_available", f"report {job.task_id} can be downloaded as "
                       f"{', '.join(offered)}, not {fmt}", {"format": f"one of {', '.join(offered)}"})
    handle = tempfile.NamedTemporaryFile(dir=storage.staging, prefix="render-", suffix=f".{fmt}", delete=False)  # noqa: SIM115
    handle.close()
    target = Path(handle.name)
    try:
        source.render(path, fmt, result, target, job.task_id)
        rendered = target.open("rb")
    finally:
        target.unlink(missing_ok=True)  # the open file stays readable until the response closes it
    return send_file(rendered, **headers)
