"""Gcore billing (`/billing/...`): report features and report tasks, as billing_api.yaml describes them.

Lists are DRF limit/offset pages `{count, next, previous, results}` (default limit 20, at most 100);
errors are DRF's: `{"detail": ...}` or `{field: [messages]}`; filters with a fixed set of values refuse
others with 400 as django-filter does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request
from werkzeug.wsgi import wrap_file

from . import exports
from .context import detail, gateway_page, json_body, sim
from .data import Feature, features, products_of
from .iam import authenticate, current_user
from .reports import ReportValidationError, Task, validate_report_request

billing = Blueprint("gcore_billing", __name__, url_prefix="/billing")
billing.before_request(authenticate)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
NOT_FOUND = "Not found."
# billing_api.yaml's product table: (name, internal name)
PRODUCT_TABLE = (
    ("CDN", "CDN"), ("Object Storage", "STORAGE"), ("Web Security", "DDOS"), ("Streaming", "STREAMING"),
    ("Cloud", "CLOUD"), ("Colocation Services", "CONNECT"), ("DDoS Protection", "INFRASTRUCTURE_PROTECTION"),
    ("Managed DNS", "DNS"), ("Other Services", "OTHER_SERVICES"), ("Premium Support", "PREMIUM_SUPPORT"),
    ("Connectivity", "CONNECTIVITY"), ("Hosting (G-Hosting)", "GHOST"), ("Managed Services", "MANAGED_SERVICES"),
    ("Rent", "RENT"), ("Software development", "SOFTWARE_DEVELOPMENT"), ("VM Ware", "VMWARE"), ("LaaS", "LAAS"),
    ("AWS Cloud", "AWS_CLOUD"), ("Fast Edge", "FAST_EDGE"), ("Technical Support", "TECHNICAL_SUPPORT"),
)
_ORDERINGS = {"id": lambda f: f.id, "name_en": lambda f: f.name, "product_name": lambda f: f.product.name,
              "product_internal_name": lambda f: f.product.internal_name}


# --- pagination ----------------------------------------------------------------------------------------------


def _positive(text: str | None, default: int, cutoff: int | None = None, strict: bool = False) -> int:
    """DRF's `_positive_int`: anything invalid (or 0 when strict) gives the default."""
    try:
        value = int(text) if text is not None else default
    except ValueError:
        return default
    if value < 0 or (strict and value == 0):
        return default
    return min(value, cutoff) if cutoff else value


def _page_url(**changes: int | None) -> str:
    query = {key: request.args.getlist(key) for key in request.args}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = [str(value)]
    return f"{request.base_url}?{urlencode(sorted(query.items()), doseq=True)}"


def paginate(items: Sequence[Any]) -> dict[str, Any]:
    """DRF's LimitOffsetPagination over `items` (already dicts)."""
    limit = _positive(request.args.get("limit"), DEFAULT_LIMIT, MAX_LIMIT, strict=True)
    offset = _positive(request.args.get("offset"), 0)
    count = len(items)
    following = _page_url(limit=limit, offset=offset + limit) if offset + limit < count else None
    if offset <= 0:
        previous = None
    elif offset - limit <= 0:
        previous = _page_url(limit=limit, offset=None)
    else:
        previous = _page_url(limit=limit, offset=offset - limit)
    return {"count": count, "next": following, "previous": previous, "results": list(items[offset:offset + limit])}


# --- report features -----------------------------------------------------------------------------------------


def _choice_error(name: str, value: str) -> tuple[Response, int]:
    return jsonify({name: [f"Select a valid choice. {value} is not one of the available choices."]}), 400


def _filtered_features() -> list[Feature] | tuple[Response, int]:
    args = request.args
    names, internal_names = [n for n, _ in PRODUCT_TABLE], [i for _, i in PRODUCT_TABLE]
    for param, allowed in (("product_name", names), ("product_internal_name", internal_names)):
        if args.get(param) and args[param] not in allowed:
            return _choice_error(param, args[param])
    found = features()
    if product := args.get("product_name"):
        found = [f for f in found if f.product.name == product]
    if internal := args.get("product_internal_name"):
        found = [f for f in found if f.product.internal_name == internal]
    if name := args.get("name_en"):
        found = [f for f in found if f.name == name]
    if args.get("metric_int_name"):
        found = []  # the simulated features have no metrics of their own
    for key in reversed([k for k in args.get("ordering", "").split(",") if k.lstrip("-") in _ORDERINGS]):
        found = sorted(found, key=_ORDERINGS[key.lstrip("-")], reverse=key.startswith("-"))
    return found


@billing.get("/v1/report_features")
def report_features() -> Response | tuple[Response, int]:
    sim().counters.count("feature_requests")
    found = _filtered_features()
    if isinstance(found, tuple):
        return found
    return jsonify(paginate([f.to_dict() for f in found]))


@billing.get("/v3/report_features")
def report_features_v3() -> Response | tuple[Response, int]:
    """The older path some callers use: the same features as a bare list, not paginated."""
    sim().counters.count("feature_requests")
    found = _filtered_features()
    if isinstance(found, tuple):
        return found
    return jsonify([f.to_dict() for f in found])


# --- report tasks --------------------------------------------------------------------------------------------


@billing.post("/v1/org/files/report")
def create_report() -> tuple[Response, int]:
    ctx = sim()
    mimetype = request.mimetype or "application/json"
    if mimetype != "application/json":
        return detail(f'Unsupported media type "{request.content_type}" in request.', 415)
    body, parse_error = json_body()
    if parse_error:
        return detail(parse_error, 400)
    try:
        report = validate_report_request(body)
    except ReportValidationError as exc:
        return jsonify(exc.errors), 400
    user = current_user()
    products = products_of(report.feature_ids)
    outcome = ctx.faults.take_report_outcome(products)
    failure = f"Failed to render report: simulated failure ({', '.join(sorted(products))})" \
        if outcome == "Failed" else None
    task = ctx.tasks.create(user.user_id, user.client_id, report, ctx.faults.job_duration(), outcome, failure)
    ctx.counters.count("reports_created")
    return jsonify(task.to_dict(ctx.clock())), 201


@billing.get("/v1/org/files")
def list_reports() -> Response:
    ctx = sim()
    tasks = ctx.tasks.of_client(current_user().client_id)
    if wanted := request.args.get("uuid"):
        tasks = [t for t in tasks if t.uuid == wanted.lower()]
    now = ctx.clock()
    return jsonify(paginate([t.to_dict(now) for t in tasks]))


def _own_task(task_uuid: str) -> Task | None:
    try:
        uuid.UUID(task_uuid)
    except ValueError:
        return None
    return sim().tasks.get(task_uuid, current_user().client_id)


@billing.get("/v1/org/files/<task_uuid>")
def report_status(task_uuid: str) -> Response | tuple[Response, int]:
    ctx = sim()
    ctx.counters.count("status_checks")
    task = _own_task(task_uuid)
    if task is None:
        return detail(NOT_FOUND, 404)
    return jsonify(task.to_dict(ctx.clock()))


@billing.delete("/v1/org/files/<task_uuid>")
def delete_report(task_uuid: str) -> tuple[str, int] | tuple[Response, int]:
    if _own_task(task_uuid) is None or not sim().tasks.delete(task_uuid, current_user().client_id):
        return detail(NOT_FOUND, 404)
    return "", 204


@billing.get("/v1/org/files/<task_uuid>/download")
def download_report(task_uuid: str) -> Response | tuple[Response, int]:
    ctx = sim()
    task = _own_task(task_uuid)
    if task is None:
        return detail(NOT_FOUND, 404)
    media_type = _negotiate()
    if media_type is None:
        return detail("Could not satisfy the request Accept header.", 406)
    status = task.status(ctx.clock())
    if status == "Failed":
        return jsonify(error=task.failure), 400
    if status != "Completed":
        return jsonify(error=f"Report is not ready: status {status}"), 400
    if ctx.faults.take("stall_next_download"):
        ctx.counters.count("stalled_downloads")
        ctx.faults.wait_stall()
        return Response(gateway_page(504), 504, mimetype="text/html")
    ctx.counters.count("downloads")
    extension = next(name for name, media in exports.FORMATS.items() if media == media_type)
    ctx.counters.count(f"downloads_{extension}")
    rows = task.usage(ctx.seed, ctx.rows_per_report).rows()
    headers = {"Content-Disposition": f'attachment; filename="{task.uuid}.{extension}"'}
    if media_type == exports.XLSX:
        file = exports.xlsx_file(rows)
        return Response(wrap_file(request.environ, file), mimetype=media_type, headers=headers, direct_passthrough=True)
    chunks: Iterator[bytes] = exports.json_chunks(rows) if media_type == exports.JSON else exports.csv_chunks(rows)
    mimetype = "text/csv; charset=utf-8" if media_type == exports.CSV else media_type
    return Response(chunks, content_type=mimetype, headers=headers)  # the rows need no request context


def _negotiate() -> str | None:
    """`?format=json|csv|xlsx` if given, else the best match of `Accept` (JSON for `*/*` or none)."""
    if fmt := request.args.get("format"):
        return exports.FORMATS.get(fmt)
    if not request.headers.get("Accept"):
        return exports.JSON
    return request.accept_mimetypes.best_match(exports.MEDIA_TYPES)

