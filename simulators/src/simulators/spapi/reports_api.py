"""Reports API 2021-06-30 (reports, schedules, documents; bodies without a payload wrapper), and the
document downloads their URLs point at (`/_documents/<id>?...`, no access token: the URL is presigned)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify, request

from .context import operation, seller, sim, store
from .documents import UrlRefused
from .errors import ApiError, invalid_input, not_found
from .params import check_count, check_enum, int_param, iso_datetime, list_param, marketplace_ids, optional_datetime
from .reports import PERIODS, PROCESSING_STATUSES, REPORT_TYPES, CancelRefused, Report, Schedule

reports_api = Blueprint("spapi_reports", __name__, url_prefix="/reports/2021-06-30")
downloads = Blueprint("spapi_downloads", __name__)

RETENTION = 90 * 86400
_REPORT_TYPE = re.compile(r"[A-Z0-9_]+")
_ID = re.compile(r"\d{1,20}")
_GET_REPORTS_FILTERS = ("reportTypes", "processingStatuses", "marketplaceIds", "pageSize", "createdSince",
                        "createdUntil")


def _json_body() -> dict:
    if not request.is_json:
        raise ApiError(415, "UnsupportedMediaType", "The request's Content-Type header is invalid.",
                       "Send the body as application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise invalid_input("The request body is not a valid JSON object.")
    return body


def _report_type(body: dict) -> str:
    value = body.get("reportType")
    if value is None:
        raise invalid_input("Missing required field reportType.")
    if not isinstance(value, str) or value not in REPORT_TYPES:
        raise invalid_input(f"Invalid reportType: {value}.", f"Supported report types: {', '.join(REPORT_TYPES)}.")
    return value


def _marketplaces(body: dict) -> tuple[str, ...]:
    value = body.get("marketplaceIds")
    if value is None:
        raise invalid_input("Missing required field marketplaceIds.")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_input("marketplaceIds must be a list of marketplace identifiers.")
    return tuple(marketplace_ids(check_count(value, "marketplaceIds", 1, 25), store().listings, "marketplaceIds"))


def _options(body: dict) -> dict[str, str]:
    value = body.get("reportOptions", {})
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise invalid_input("reportOptions must be an object of string keys and values.")
    return value


def _report(report_id: str) -> Report:
    if not _ID.fullmatch(report_id):
        raise invalid_input(f"Invalid reportId: {report_id}.")
    report = sim().reports.get(seller().seller_id, report_id, sim().clock.now())
    if report is None:
        raise not_found(f"Report {report_id} not found.")
    return report


def _schedule(schedule_id: str) -> Schedule:
    if not _ID.fullmatch(schedule_id):
        raise invalid_input(f"Invalid reportScheduleId: {schedule_id}.")
    schedule = sim().reports.schedule(seller().seller_id, schedule_id)
    if schedule is None:
        raise not_found(f"Report schedule {schedule_id} not found.")
    return schedule


@reports_api.post("/reports")
@operation("createReport")
def create_report() -> tuple[Response, int]:
    ctx = sim()
    body = _json_body()
    report_type, marketplaces, options = _report_type(body), _marketplaces(body), _options(body)
    now = ctx.clock.now()
    start = iso_datetime(body["dataStartTime"], "dataStartTime") if body.get("dataStartTime") is not None else now
    end = iso_datetime(body["dataEndTime"], "dataEndTime") if body.get("dataEndTime") is not None else now
    for name, value in (("dataStartTime", start), ("dataEndTime", end)):
        if value > now:
            raise invalid_input(f"{name} must be prior to or equal to the current date and time.")
    if end < start:
        raise invalid_input("dataEndTime must be equal to or after dataStartTime.")
    report = ctx.reports.create(seller().seller_id, report_type, marketplaces, start, end, now, options)
    ctx.count("reports_created")
    return jsonify(reportId=report.report_id), 202


@reports_api.get("/reports")
@operation("getReports")
def get_reports() -> Response:
    ctx, args = sim(), request.args
    now = ctx.clock.now()
    token = args.get("nextToken")
    if token is not None:
        if any(name in args for name in _GET_REPORTS_FILTERS):
            raise invalid_input("nextToken must be the only parameter when it is given.")
        payload = ctx.pager.signer.loads(token)
        if not payload or payload.get("s") != seller().seller_id or payload.get("a") != "reports":
            raise invalid_input("Invalid nextToken.")
        query, offset = payload["q"], payload["o"]
    else:
        query, offset = _reports_query(args, now), 0
    chosen = [r for r in ctx.reports.of_seller(seller().seller_id, now)
              if r.report_type in query["types"] and query["since"] <= r.created <= query["until"]
              and (query["statuses"] is None or r.status(now) in query["statuses"])
              and (query["marketplaces"] is None or set(r.marketplace_ids) & set(query["marketplaces"]))]
    page = chosen[offset:offset + query["size"]]
    body: dict = {"reports": [report.to_dict(now) for report in page]}
    if offset + query["size"] < len(chosen):
        body["nextToken"] = ctx.pager.signer.dumps({"s": seller().seller_id, "a": "reports", "q": query,
                                                    "o": offset + query["size"]})
    return jsonify(body)


def _reports_query(args, now: float) -> dict:
    types = list_param(args, "reportTypes")
    if not types:
        raise invalid_input("Either reportTypes or nextToken is required.")
    check_count(types, "reportTypes", 1, 10)
    bad = [t for t in types if not _REPORT_TYPE.fullmatch(t)]
    if bad:
        raise invalid_input(f"Invalid reportTypes: {', '.join(bad)}.")
    statuses = list_param(args, "processingStatuses")
    if statuses is not None:
        check_enum(check_count(statuses, "processingStatuses", 1, len(PROCESSING_STATUSES)), PROCESSING_STATUSES,
                   "processingStatuses")
    marketplaces = list_param(args, "marketplaceIds")
    if marketplaces is not None:
        marketplaces = marketplace_ids(check_count(marketplaces, "marketplaceIds", 1, 10), store().listings,
                                       "marketplaceIds")
    since = optional_datetime(args, "createdSince")
    until = optional_datetime(args, "createdUntil")
    return {"types": types, "statuses": statuses, "marketplaces": marketplaces,
            "since": now - RETENTION if since is None else since, "until": now if until is None else until,
            "size": int_param(args, "pageSize", 1, 100, 10)}


@reports_api.get("/reports/<report_id>")
@operation("getReport")
def get_report(report_id: str) -> Response:
    return jsonify(_report(report_id).to_dict(sim().clock.now()))


@reports_api.delete("/reports/<report_id>")
@operation("cancelReport")
def cancel_report(report_id: str) -> Response:
    report = _report(report_id)
    try:
        sim().reports.cancel(report, sim().clock.now())
    except CancelRefused as exc:
        raise invalid_input(f"Report {report_id} cannot be cancelled: its processingStatus is {exc.status}.",
                            "Only reports with processingStatus IN_QUEUE can be cancelled.") from None
    return Response(status=200)


@reports_api.get("/documents/<document_id>")
@operation("getReportDocument")
def get_report_document(document_id: str) -> Response:
    ctx = sim()
    flag = request.args.get("enableContentEncodingUrlHeader", "false")
    if flag not in ("true", "false"):
        raise invalid_input("enableContentEncodingUrlHeader must be true or false.")
    document = ctx.documents.get(document_id)
    if document is None or document.seller_id != seller().seller_id:
        raise not_found(f"Report document {document_id} not found.")
    token = ctx.documents.url_token(document, ctx.clock.now(), ctx.faults.url_ttl,
                                    content_encoding=flag == "true" and document.compressed)
    ctx.count("document_urls_issued")
    url = (f"{_document_base()}_documents/{document.document_id}?X-Amz-Expires={ctx.faults.url_ttl}"
           f"&X-Amz-Signature={token}")
    body = {"reportDocumentId": document.document_id, "url": url}
    if document.compressed:
        body["compressionAlgorithm"] = "GZIP"
    return jsonify(body)


def _document_base() -> str:
    """Where document URLs point: the configured base URL, else the address this server listens on (not the
    Host header: some clients send the SP-API host there), else the Host header (when bound to all
    interfaces)."""
    configured = current_app.config.get("SPAPI_DOCUMENT_BASE_URL")
    if configured:
        return configured.rstrip("/") + "/"
    host, port = request.environ.get("SERVER_NAME", ""), request.environ.get("SERVER_PORT", "")
    if host and port and host not in ("0.0.0.0", "::"):
        return f"{request.scheme}://{f'[{host}]' if ':' in host else host}:{port}/"
    return request.host_url


@reports_api.post("/schedules")
@operation("createReportSchedule")
def create_report_schedule() -> tuple[Response, int]:
    ctx = sim()
    body = _json_body()
    report_type, marketplaces, options = _report_type(body), _marketplaces(body), _options(body)
    period = body.get("period")
    if period is None:
        raise invalid_input("Missing required field period.")
    if period not in PERIODS:
        raise invalid_input(f"Invalid period: {period}.", f"Valid periods are: {', '.join(PERIODS)}.")
    now = ctx.clock.now()
    next_time = body.get("nextReportCreationTime")
    next_time = now if next_time is None else iso_datetime(next_time, "nextReportCreationTime")
    schedule = ctx.reports.create_schedule(seller().seller_id, report_type, marketplaces, period, next_time, options)
    return jsonify(reportScheduleId=schedule.schedule_id), 201


@reports_api.get("/schedules")
@operation("getReportSchedules")
def get_report_schedules() -> Response:
    types = list_param(request.args, "reportTypes")
    if not types:
        raise invalid_input("Missing required parameter reportTypes.")
    check_count(types, "reportTypes", 1, 10)
    schedules = sim().reports.schedules_of(seller().seller_id, types)
    return jsonify(reportSchedules=[schedule.to_dict() for schedule in schedules])


@reports_api.get("/schedules/<schedule_id>")
@operation("getReportSchedule")
def get_report_schedule(schedule_id: str) -> Response:
    return jsonify(_schedule(schedule_id).to_dict())


@reports_api.delete("/schedules/<schedule_id>")
@operation("cancelReportSchedule")
def cancel_report_schedule(schedule_id: str) -> Response:
    sim().reports.cancel_schedule(_schedule(schedule_id))
    return Response(status=200)


@downloads.get("/_documents/<document_id>")
def download(document_id: str) -> Response:
    """A report document through its presigned URL, as S3 answers: the bytes, or 403/404 XML."""
    ctx = sim()
    try:
        document, content_encoding = ctx.documents.open(document_id, request.args.get("X-Amz-Signature"),
                                                        ctx.clock.now())
    except UrlRefused as exc:
        ctx.count("refused_downloads")
        return Response(exc.xml(), exc.status, mimetype="application/xml")
    ctx.count("downloads")
    response = Response(document.body, 200, content_type="text/plain; charset=UTF-8")
    if content_encoding:
        response.headers["Content-Encoding"] = "gzip"
    return response
