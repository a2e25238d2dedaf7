"""Uploads, report generation, status and downloads. Every route needs a user's access token, and a user
only ever sees their own uploads and reports (another user's id answers 404)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, g, jsonify, request, send_file

from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import ErrorBody, OpenAPI, parse_model

from ..reports import Inputs, ReportRequestError, Reports, check_fit, upload_view
from ..settings import ReportSettings
from ..storage import Staged, Storage
from .files import multipart, problem_fields, receive
from .schemas import GenerateJson, GenerateOut, ReportList, ReportOut, UploadedOut, UploadList, UploadQuery

INPUT_FIELDS = {"input": ("input", "input_file"), "reference": ("reference", "reference_file"),
                "rules": ("rules", "rules_file")}
JSON_VIEW_MAX_BYTES = 10 * 2**20


def resolve(storage: Storage, user_id: str, staged: list[Staged], ids: dict[str, str | None],
            no_reference: bool = False) -> dict[str, Staged | object | None]:
    """For each kind: the file sent with this request, else the upload named by id, else the latest one."""
    sources: dict[str, object | None] = {item.kind: item for item in staged}
    for kind in ("input", "reference", "rules"):
        if kind in sources:
            continue
        if ids.get(kind):
            upload = storage.get(user_id, ids[kind])
            if upload is None or upload.kind != kind:
                raise ApiError(404, "upload_not_found", f"you have no {kind} upload {ids[kind]!r}")
            sources[kind] = upload
        elif kind == "reference" and no_reference:
            sources[kind] = None
        else:
            sources[kind] = storage.latest(user_id, kind)
    for kind in ("input", "rules"):
        if sources[kind] is None:
            raise ApiError(400, f"no_{kind}_file", f"no {kind} file: send one with the request or upload one first",
                           {kind: "is required"})
    return sources


def check_sources(storage: Storage, sources: dict) -> None:
    def path(item) -> Path:
        return item.path if isinstance(item, Staged) else storage.path_of(item)

    rules, reference = sources["rules"], sources["reference"]
    try:
        check_fit(path(rules), rules.fmt, sources["input"].columns or [], reference.columns if reference else None)
    except ReportRequestError as exc:
        raise ApiError(400, "rules_do_not_fit", exc.message, problem_fields(exc.problems)) from None


def record(storage: Storage, user_id: str, staged: list[Staged], sources: dict) -> Inputs:
    recorded = {upload.kind: upload for upload in storage.commit(user_id, staged)}
    return Inputs(*(recorded.get(kind, sources[kind]) for kind in ("input", "reference", "rules")))


def received_inputs(storage: Storage, settings: ReportSettings, user_id: str, model, check_options=None):
    """(options, Inputs) of a generate or schedule request: its files staged and checked, its options
    validated (then `check_options`), the missing kinds resolved, the whole checked to fit, and only then
    the new files recorded."""
    staged = receive(storage, INPUT_FIELDS, settings.max_rules_bytes) if multipart() else []
    options = request_options(model)
    if check_options is not None:
        check_options(options)
    sources = resolve(storage, user_id, staged,
                      {"input": options.input_id, "reference": options.reference_id, "rules": options.rules_id},
                      options.no_reference)
    check_sources(storage, sources)
    return options, record(storage, user_id, staged, sources)


def request_options(model):
    """A JSON body, or the form fields of a multipart request, validated by `model`."""
    if multipart():
        return parse_model(model, request.form.to_dict(), "form")
    if not request.get_data(cache=True):
        return parse_model(model, {}, "body")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "send a JSON object, or multipart/form-data with files")
    return parse_model(model, data, "body")


def reports_blueprint(settings: ReportSettings, storage: Storage, reports: Reports, api: OpenAPI) -> Blueprint:
    bp = Blueprint("reports", __name__)

    def user() -> str:
        return g.principal.user_id

    # --- uploads ------------------------------------------------------------------------------------------
    @api.operation(bp, "/api/upload-rules/", "POST", auth="user", tag="uploads", files=("file",),
                   responses={201: UploadedOut, 400: ErrorBody, 413: ErrorBody},
                   summary="upload a rules file (multipart field `file`, JSON or YAML); checked before it is kept")
    def upload_rules():
        staged = receive(storage, {"rules": ("file", "rules", "rules_file")}, settings.max_rules_bytes)
        if not staged:
            raise ApiError(400, "no_file", "send the rules file as multipart field `file`", {"file": "is required"})
        uploads = storage.commit(user(), staged)
        return jsonify(message=f"Rules file uploaded and saved as {uploads[0].name} (version {uploads[0].version})",
                       uploads=[upload_view(u) for u in uploads]), 201

    @api.operation(bp, "/api/upload-files/", "POST", auth="user", tag="uploads", files=("input", "reference"),
                   responses={201: UploadedOut, 400: ErrorBody, 413: ErrorBody},
                   summary="upload the input and/or reference CSV (multipart fields `input`, `reference`)")
    def upload_files():
        staged = receive(storage, {k: INPUT_FIELDS[k] for k in ("input", "reference")}, settings.max_rules_bytes)
        if not staged:
            raise ApiError(400, "no_file", "send multipart field `input` and/or `reference` (CSV files)",
                           {"input": "is required"})
        uploads = storage.commit(user(), staged)
        kinds = " and ".join(u.kind for u in uploads)
        return jsonify(message=f"{kinds.capitalize()} file{'s' if len(uploads) > 1 else ''} uploaded successfully.",
                       uploads=[upload_view(u) for u in uploads]), 201

    @api.operation(bp, "/api/uploads/", "GET", auth="user", tag="uploads", query=UploadQuery,
                   responses={200: UploadList}, summary="your uploads, newest first (every version)")
    def list_uploads(query: UploadQuery):
        return jsonify(uploads=[upload_view(u) for u in storage.list(user(), query.kind)])

    # --- reports ------------------------------------------------------------------------------------------
    @api.operation(bp, "/api/generate-report/", "POST", auth="user", tag="reports",
                   form=GenerateJson, files=tuple(names[0] for names in INPUT_FIELDS.values()),
                   responses={202: GenerateOut, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody},
                   summary="queue a report: files in the request (multipart `input`, `reference`, `rules`) or, "
                           "for any left out, your upload by id (JSON) or your latest upload")
    def generate_report():
        options, inputs = received_inputs(storage, settings, user(), GenerateJson)
        try:
            task_id = reports.request(user(), inputs, options.format)
        except ReportRequestError as exc:
            raise ApiError(400, "rules_do_not_fit", exc.message, problem_fields(exc.problems)) from None
        return jsonify(task_id=task_id, state="placed", status_url=f"/api/report-status/{task_id}/"), 202

    @api.operation(bp, "/api/report-status/<task_id>/", "GET", auth="user", tag="reports",
                   responses={200: ReportOut, 404: ErrorBody},
                   summary="a report's state, progress, row and error counts, and its download link when ready")
    def report_status(task_id: str):
        return jsonify(reports.view(_job(task_id)))

    @api.operation(bp, "/api/reports/", "GET", auth="user", tag="reports", responses={200: ReportList},
                   summary="your reports, newest first")
    def list_reports():
        return jsonify(reports=reports.views(reports.list(user())))

    @api.operation(bp, "/api/reports/<task_id>/download", "GET", auth="user", tag="reports",
                   responses={200: None, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody},
                   summary="the report file (CSV, or XLSX if it was asked for), streamed")
    def download(task_id: str):
        return _send(_job(task_id))

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

    def _send(job) -> Response:
        view = reports.views([job])[0]
        if view["state"] == "created" and job.output_path is None:
            raise ApiError(410, "report_expired", f"report {job.task_id} was deleted after the retention period")
        if view["download_url"] is None:
            raise ApiError(409, "report_not_ready", f"report {job.task_id} is {view['state']}; nothing to download")
        path = storage.root / job.output_path
        mimetype = "text/csv" if job.fmt == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return send_file(path, mimetype=mimetype, as_attachment=True, download_name=f"report-{job.task_id}.{job.fmt}",
                         max_age=0, conditional=True)

    return bp
