"""The rules source's routes: uploads, and reports and schedules from files in the request or stored
uploads. Every route needs a user's access token; a user only ever sees their own uploads."""

from __future__ import annotations

from flask import jsonify

from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody

from ...web.files import multipart, request_options
from ...web.schemas import GenerateOut, ScheduleCreated
from ...web.source_routes import SourceRoutes, check_cron
from ..base import ReportRequestError
from .fit import FIT_ERROR, Inputs, check_fit
from .params import RulesParams
from .received import problem_fields, receive
from .schemas import GenerateJson, ScheduleJson, UploadedOut, UploadList, UploadQuery
from .uploads import Staged, Uploads, upload_view

INPUT_FIELDS = {"input": ("input", "input_file"), "reference": ("reference", "reference_file"),
                "rules": ("rules", "rules_file")}


def resolve(uploads: Uploads, user_id: str, staged: list[Staged], options: GenerateJson) -> dict:
    """For each kind: the file sent with this request, else the upload named by id, else the latest one."""
    ids = {"input": options.input_id, "reference": options.reference_id, "rules": options.rules_id}
    found: dict[str, object | None] = {item.kind: item for item in staged}
    for kind in ("input", "reference", "rules"):
        if kind in found:
            continue
        if ids.get(kind):
            upload = uploads.get(user_id, ids[kind])
            if upload is None or upload.kind != kind:
                raise ApiError(404, "upload_not_found", f"you have no {kind} upload {ids[kind]!r}")
            found[kind] = upload
        elif kind == "reference" and options.no_reference:
            found[kind] = None
        else:
            found[kind] = uploads.latest(user_id, kind)
    for kind in ("input", "rules"):
        if found[kind] is None:
            raise ApiError(400, f"no_{kind}_file", f"no {kind} file: send one with the request or upload one first",
                           {kind: "is required"})
    return found


def check_found(uploads: Uploads, found: dict) -> None:
    """The rules fit the files' headers, before any file sent with the request is kept."""
    rules, reference = found["rules"], found["reference"]
    try:
        check_fit(rules.path if isinstance(rules, Staged) else uploads.path_of(rules), rules.fmt,
                  found["input"].columns or [], reference.columns if reference else None)
    except ReportRequestError as exc:
        raise ApiError(400, FIT_ERROR, exc.message, problem_fields(exc.problems)) from None


def rules_blueprint(ctx: SourceRoutes) -> APIBlueprint:
    api, uploads = ctx.api, Uploads(ctx.storage, ctx.reports.sessions)
    max_rules_bytes = ctx.settings.max_rules_bytes
    bp = ctx.blueprint()

    def received_params(model):
        """(options, params) of a generate or schedule request: its files staged and checked, its options
        validated, the missing kinds resolved, the whole checked to fit, and only then the new files kept."""
        staged = receive(uploads, INPUT_FIELDS, max_rules_bytes) if multipart() else []
        options = request_options(model)
        if isinstance(options, ScheduleJson):
            check_cron(options.cron)
        found = resolve(uploads, ctx.user(), staged, options)
        check_found(uploads, found)
        kept = {upload.kind: upload for upload in uploads.commit(ctx.user(), staged)}
        inputs = Inputs(*(kept.get(kind, found[kind]) for kind in ("input", "reference", "rules")))
        return options, RulesParams(input_id=inputs.input.id, rules_id=inputs.rules.id, format=options.format,
                                    reference_id=inputs.reference.id if inputs.reference else None)

    # --- uploads ------------------------------------------------------------------------------------------
    @api.operation(bp, "/api/upload-rules/", "POST", auth="user", tag="uploads", files=("file",),
                   responses={201: UploadedOut, 400: ErrorBody, 413: ErrorBody},
                   summary="upload a rules file (multipart field `file`, JSON or YAML); checked before it is kept")
    def upload_rules():
        staged = receive(uploads, {"rules": ("file", "rules", "rules_file")}, max_rules_bytes)
        if not staged:
            raise ApiError(400, "no_file", "send the rules file as multipart field `file`", {"file": "is required"})
        kept = uploads.commit(ctx.user(), staged)
        return jsonify(message=f"Rules file uploaded and saved as {kept[0].name} (version {kept[0].version})",
                       uploads=[upload_view(u) for u in kept]), 201

    @api.operation(bp, "/api/upload-files/", "POST", auth="user", tag="uploads", files=("input", "reference"),
                   responses={201: UploadedOut, 400: ErrorBody, 413: ErrorBody},
                   summary="upload the input and/or reference CSV (multipart fields `input`, `reference`)")
    def upload_files():
        staged = receive(uploads, {k: INPUT_FIELDS[k] for k in ("input", "reference")}, max_rules_bytes)
        if not staged:
            raise ApiError(400, "no_file", "send multipart field `input` and/or `reference` (CSV files)",
                           {"input": "is required"})
        kept = uploads.commit(ctx.user(), staged)
        kinds = " and ".join(u.kind for u in kept)
        return jsonify(message=f"{kinds.capitalize()} file{'s' if len(kept) > 1 else ''} uploaded successfully.",
                       uploads=[upload_view(u) for u in kept]), 201

    @api.operation(bp, "/api/uploads/", "GET", auth="user", tag="uploads", query=UploadQuery,
                   responses={200: UploadList}, summary="your uploads, newest first (every version)")
    def list_uploads(query: UploadQuery):
        return jsonify(uploads=[upload_view(u) for u in uploads.list(ctx.user(), query.kind)])

    # --- reports and schedules ------------------------------------------------------------------------------
    @api.operation(bp, "/api/generate-report/", "POST", auth="user", tag="reports",
                   form=GenerateJson, files=tuple(names[0] for names in INPUT_FIELDS.values()),
                   responses={202: GenerateOut, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody},
                   summary="queue a rules report: files in the request (multipart `input`, `reference`, `rules`) "
                           "or, for any left out, your upload by id (JSON) or your latest upload")
    def generate_report():
        _, params = received_params(GenerateJson)
        return ctx.queue(params, problem_fields)

    @api.operation(bp, "/api/trigger-scheduled-report/", "POST", auth="user", tag="schedules",
                   form=ScheduleJson, files=tuple(names[1] for names in INPUT_FIELDS.values()),
                   responses={201: ScheduleCreated, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody},
                   summary="schedule rules reports by cron (UTC): files in the request (`input_file`, "
                           "`reference_file`, `rules_file`) or stored uploads; answers with the next run times")
    def create_schedule():
        options, params = received_params(ScheduleJson)
        return ctx.schedule(options, params, problem_fields)

    return bp
