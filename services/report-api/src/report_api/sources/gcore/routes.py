"""The gcore source's routes, as the old Gcore usage service answered them: `POST /reports/<product>` queues
a report (on the broker, like every report) and waits for it up to `sync_wait_seconds`, then answers the
file in the format the `Accept` header or `format` asks for (JSON, CSV, XLSX), or 202 with its status URL;
`POST /reports/gcore/<uuid>?mode=status|download` shows Gcore's own report; `GET /health`, `GET /`."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime

from flask import jsonify, request, send_file
from pydantic import BaseModel, Field

from hub_runtime.errors import PermanentError, TaskFailure
from hub_runtime.models import TaskStatus
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody

from ...web.report_routes import media_type, send_report
from ...web.schemas import GenerateOut
from ...web.source_routes import SourceRoutes, refused
from ..base import ReportRequestError
from .formats import FORMATS, MEDIA
from .handler import Gcore
from .params import GcoreParams, GcoreQuery

SERVICE = "gcore-usage-api"
WAIT_STEP_MAX = 0.25


class GcoreRequest(GcoreQuery):
    format: str | None = Field(None, pattern="^(json|csv|xlsx)$", description="json, csv or xlsx; wins over the "
                               "Accept header (default: Accept, else json)")


class GcoreAnswer(BaseModel):
    """The JSON answer (the report's rows as JSON); CSV and XLSX answer the file."""

    uuid: str = Field(description="Gcore's report uuid (all: the hub's task id; each product's in `uuids`)")
    task_id: str
    uuids: dict[str, str]
    status: str = Field(description="completed, or partial when a product of `all` failed (see errors)")
    count: int
    data: list[dict]
    errors: list[dict]


class RawFormat(BaseModel):
    format: str | None = Field(None, pattern="^(json|csv|xlsx)$")


class ModeQuery(BaseModel):
    mode: str = Field("status", pattern="^(status|download)$", description="status: Gcore's task; download: "
                      "its file ({uuid, data} as JSON, or CSV/XLSX)")


class Health(BaseModel):
    status: str
    service: str
    timestamp: float


def answer_format(asked: str | None) -> str:
    """The body's `format`, else the best of the Accept header's JSON, CSV and XLSX, else JSON."""
    if asked:
        return asked
    best = request.accept_mimetypes.best_match(list(MEDIA), default="application/json")
    return MEDIA.get(best, "json")


def gcore_blueprint(ctx: SourceRoutes, gcore: Gcore) -> APIBlueprint:
    api = ctx.api
    bp = ctx.blueprint()
    tag = "source: gcore"

    def queue_and_wait(params: GcoreParams, fmt: str):
        try:
            task_id = ctx.reports.request(ctx.user(), "gcore", params)
        except ReportRequestError as exc:
            raise refused(exc) from None
        task = wait_final(task_id, gcore.settings.sync_wait_seconds)
        if task is None or task.status not in TaskStatus.FINAL:
            return jsonify(task_id=task_id, state=task.status if task else "placed",
                           status_url=f"/api/report-status/{task_id}/",
                           download_url=f"/api/reports/{task_id}/download?format={fmt}"), 202
        if task.status != TaskStatus.CREATED:
            raise ApiError(502 if task.status == TaskStatus.ERROR else 409, task.reason_code or task.status,
                           f"report {task_id}: {task.reason_text or task.status}")
        job = ctx.reports.job(task_id)
        return send_report(ctx.storage, ctx.reports, job, task.result or {}, fmt, attachment=fmt == "xlsx")

    def wait_final(task_id: str, seconds: float):
        deadline = time.monotonic() + seconds
        step = 0.02
        while True:
            task = ctx.reports.tasks.find(task_id, with_history=False)
            left = deadline - time.monotonic()
            if (task is not None and task.status in TaskStatus.FINAL) or left <= 0:
                return task
            time.sleep(min(step, left))
            step = min(step * 2, WAIT_STEP_MAX)

    for product in ("cdn", "waap", "cloud", "all"):
        def report(body: GcoreRequest, product=product):
            params = GcoreParams(product=product, **body.model_dump(exclude={"format"}))
            return queue_and_wait(params, answer_format(body.format))

        report.__name__ = f"report_{product}"
        api.operation(bp, f"/reports/{product}", "POST", body=GcoreRequest, auth="user", tag=tag,
                      responses={200: GcoreAnswer, 202: GenerateOut, 400: ErrorBody, 502: ErrorBody},
                      summary=f"a Gcore usage report of {'every product' if product == 'all' else product} for "
                              "one client: waits for it, then answers JSON, CSV or XLSX (Accept or `format`); "
                              "202 with its status URL if it takes longer")(report)

    @api.operation(bp, "/reports/gcore/<uuid>", "POST", body=RawFormat, query=ModeQuery, auth="user", tag=tag,
                   responses={200: None, 404: ErrorBody, 502: ErrorBody},
                   summary="a Gcore report as Gcore tells it: its status, or its file (?mode=download)")
    def gcore_report(uuid: str, body: RawFormat, query: ModeQuery):
        client = gcore.client(ctx.settings.credentials)
        try:
            if query.mode == "status":
                return jsonify(client.status(uuid))
            fmt = answer_format(body.format)
            staged = ctx.storage.new_staging_file()
            staged.close()
            path = type(ctx.storage.root)(staged.name)
            try:
                client.download(uuid, path, accept=next(m for m, f in MEDIA.items() if f == fmt))
                if fmt == "json":
                    with path.open("rb") as raw, path.with_suffix(".json").open("wb") as out:
                        out.write(b'{"uuid": "' + uuid.encode() + b'", "data": ')
                        shutil.copyfileobj(raw, out)
                        out.write(b"}")
                    path.unlink()
                    path = path.with_suffix(".json")
                handle = path.open("rb")
            finally:
                path.unlink(missing_ok=True)
            return send_file(handle, mimetype=media_type(fmt), as_attachment=fmt == "xlsx",
                             download_name=f"gcore-{uuid}.{fmt}", max_age=0)
        except TaskFailure as exc:
            status = 404 if exc.reason_code == "gcore_not_found" else 502
            if not isinstance(exc, PermanentError):
                status = 503
            raise ApiError(status, exc.reason_code, exc.reason_text) from None

    def health():
        return jsonify(status="healthy", service=SERVICE, timestamp=datetime.now(UTC).timestamp())

    api.operation(bp, "/health", "GET", auth="none", tag=tag, responses={200: Health},
                  summary="the gcore service answers (no Gcore call)")(health)

    @api.operation(bp, "/", "GET", auth="none", tag=tag, responses={200: Health}, summary="the same as /health")
    def root():
        return health()

    assert set(FORMATS) == set(MEDIA.values())
    return bp
