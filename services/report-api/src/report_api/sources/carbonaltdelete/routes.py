"""The carbonaltdelete source's routes: the JSON routes every source gets (queue a download:
`POST /api/sources/carbonaltdelete/reports/`, schedule downloads by cron: `.../schedules/`), and the
downloads with their step and file metadata: the list, one download's status, its file (named after the
company and period). A user sees only their own downloads; every route needs a report user's token."""

from __future__ import annotations

from flask import jsonify, send_file
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub_runtime.models import Task, TaskStatus
from hub_runtime.tasks import TaskView
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody

from ...models import ReportJob
from ...web.report_routes import media_type
from ...web.schemas import ReportOut
from ...web.source_routes import SourceRoutes, json_routes
from .steps import latest_step

LIST_LIMIT = 200


class InventoryOut(ReportOut):
    step: str | None = Field(description="the step the download is at or ended in: authenticating, "
                                         "switching_company, creating_report, waiting, downloading, uploading, "
                                         "stored (with a detail)")
    inventory: dict | None = Field(description="once finished: company_id, company_name, period, period_id, "
                                               "report_id, report_name, report_type, file_type, size, sha256, "
                                               "and s3 {bucket, key} when copied to S3")
    file_url: str | None = Field(description="the file, once finished")


class InventoryList(BaseModel):
    downloads: list[InventoryOut]


def inventory_routes(ctx: SourceRoutes) -> APIBlueprint:
    bp = json_routes(ctx)  # POST .../reports/ (202 with the job id) and POST .../schedules/ (cron)
    api, reports, name = ctx.api, ctx.reports, ctx.source.name
    base = f"/api/sources/{name}/reports"
    tag = f"source: {name}"

    def view(job: ReportJob, task: TaskView | None) -> dict:
        out = reports.report_view(job, task)
        finished = task is not None and task.status == TaskStatus.CREATED
        out["step"] = latest_step(task.history) if task else None
        out["inventory"] = (task.result or None) if finished else None
        out["file_url"] = f"{base}/{job.task_id}/file" if out["download_url"] else None
        return out

    def own_job(task_id: str) -> ReportJob:
        job = reports.job(task_id, ctx.user())
        if job is None or job.source != name:
            raise ApiError(404, "report_not_found", f"you have no {name} download {task_id!r}")
        return job

    @api.operation(bp, f"{base}/", "GET", auth="user", tag=tag, responses={200: InventoryList},
                   summary="your inventory downloads, newest first, with their step and file metadata")
    def list_downloads():
        with reports.sessions() as session:
            rows = session.execute(
                select(ReportJob, Task).outerjoin(Task, (Task.instance == reports.tasks.instance)
                                                  & (Task.key == ReportJob.task_id))
                .where(ReportJob.user_id == ctx.user(), ReportJob.source == name)
                .order_by(ReportJob.created_at.desc()).limit(LIST_LIMIT)).all()
            found = [(job, TaskView.of(task, with_history=True) if task else None) for job, task in rows]
        return jsonify(downloads=[view(job, task) for job, task in found])

    @api.operation(bp, f"{base}/<task_id>/", "GET", auth="user", tag=tag,
                   responses={200: InventoryOut, 404: ErrorBody},
                   summary="one download: its state, the step it is at, and once finished the file's metadata")
    def download_status(task_id: str):
        job = own_job(task_id)
        return jsonify(view(job, reports.tasks.find(job.task_id, with_history=True)))

    @api.operation(bp, f"{base}/<task_id>/file", "GET", auth="user", tag=tag,
                   responses={200: None, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody},
                   summary="the downloaded file (XLSX for the inventory), named after the company and period")
    def download_file(task_id: str):
        job = own_job(task_id)
        task = reports.tasks.find(job.task_id, with_history=False)
        finished = task is not None and task.status == TaskStatus.CREATED
        if finished and job.output_path is None:
            raise ApiError(410, "report_expired", f"download {task_id} was deleted after the retention period")
        if not finished or job.output_path is None:
            state = reports.report_view(job, task)["state"]
            raise ApiError(409, "report_not_ready", f"download {task_id} is {state}; there is no file yet")
        meta = task.result or {}
        return send_file(ctx.storage.root / job.output_path, mimetype=media_type(job.fmt), as_attachment=True,
                         download_name=file_name(meta, job), max_age=0, conditional=True)

    return bp


def file_name(meta: dict, job: ReportJob) -> str:
    """`<company>-<period>-<report type>.<format>`, safe for a file system; the job id without metadata."""
    parts = [meta.get("company_name") or meta.get("company_id"), meta.get("period"), meta.get("report_type")]
    stem = "-".join(str(p) for p in parts if p) or f"inventory-{job.task_id}"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem).strip("_")
    return f"{safe or job.task_id}.{job.fmt}"
