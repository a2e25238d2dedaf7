"""The CarbonAltDelete API under `/api`, as the public client calls it.

Paths, bodies (form for the password login, JSON elsewhere), field names and casing are the client's;
answers are 200 even for creation, errors are FastAPI's `{"detail": ...}` (see `errors.py`). Every data
answer is about the company in the access token's `com` claim.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, request

from .auth import bearer
from .context import cad
from .data import User
from .errors import ApiError, Validator, json_body, server_error, unauthorized
from .files import FILE_TYPES, REPORT_TYPES
from .reports import Report, object_key

api = Blueprint("carbonaltdelete_api", __name__, url_prefix="/api")


def _json(payload: object) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), 200, mimetype="application/json")


# --- request pipeline ---------------------------------------------------------------------------------


@api.before_request
def _inject_faults() -> Response | None:
    ctx = cad()
    ctx.count("requests")
    if latency := ctx.faults.latency_seconds:
        time.sleep(latency)
    status = ctx.faults.take_failure()
    return None if status is None else server_error(status)


@api.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return exc.response()


def _caller() -> tuple[User, str]:
    """The user and company of the request's access token."""
    claims = cad().tokens.verify(bearer(request.headers.get("Authorization")))
    user = cad().data.users.get(claims["userId"])
    if user is None or not user.may_use(claims["com"]):
        raise unauthorized()
    return user, claims["com"]


def _token_answer(access: str, refresh: str, camel: bool = False) -> Response:
    if camel:
        return _json({"accessToken": access, "tokenType": "bearer", "refreshToken": refresh})
    return _json({"access_token": access, "token_type": "bearer", "refresh_token": refresh})


# --- auth ---------------------------------------------------------------------------------------------


@api.post("/auth/token")
def login() -> Response:
    """OAuth2 password form: `username` (the email) and `password`, form-encoded, never JSON."""
    ctx = cad()
    form = request.form if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") else {}
    check = Validator()
    email = check.string(form, "body", "username", None)
    password = check.string(form, "body", "password", None)
    check.check()
    user = ctx.data.user_by_email(email)
    if user is None or user.password != password:
        ctx.count("failed_logins")
        raise ApiError(401, "Incorrect username or password", {"WWW-Authenticate": "Bearer"})
    ctx.count("logins")
    return _token_answer(*ctx.tokens.pair(user.id, user.last_company_id, ctx.faults.token_ttl))


@api.post("/keys/v1/api/auth")
def api_key_login() -> Response:
    """JSON `{apiKey, secret}`; the answer is camelCase, unlike the password login's."""
    ctx = cad()
    body = json_body(request.get_data(), request.content_type or "")
    check = Validator()
    key = check.uuid_field(body, "body", "apiKey", body)
    secret = check.string(body, "body", "secret", body)
    check.check()
    known = ctx.data.api_keys.get(key)
    if known is None or known[0] != secret:
        ctx.count("failed_logins")
        raise ApiError(401, "Invalid API key or secret")
    user = ctx.data.users[known[1]]
    ctx.count("logins")
    return _token_answer(*ctx.tokens.pair(user.id, user.last_company_id, ctx.faults.token_ttl), camel=True)


@api.get("/auth/token/refresh")
def refresh() -> Response:
    """`Authorization: bearer <refresh token>`: a new access token for the refresh token's company."""
    ctx = cad()
    claims = ctx.tokens.verify(bearer(request.headers.get("Authorization")), kind="refresh")
    user = ctx.data.users.get(claims["userId"])
    if user is None or not user.may_use(claims["com"]):
        raise unauthorized()
    ctx.count("refreshes")
    access = ctx.tokens.issue(user.id, claims["com"], ttl=ctx.faults.token_ttl)
    return _token_answer(access, bearer(request.headers.get("Authorization")))


@api.post("/auth/token/switch")
def switch() -> Response:
    """`{companyId}` with the current access token: new tokens for that company. The old ones stay valid
    for the old company; the user's next login lands on the new one."""
    ctx = cad()
    user, _ = _caller()
    body = json_body(request.get_data(), request.content_type or "")
    check = Validator()
    company_id = check.uuid_field(body, "body", "companyId", body)
    check.check()
    if company_id not in ctx.data.companies or not user.may_use(company_id):
        raise ApiError(403, "Not enough permissions")
    user.last_company_id = company_id
    ctx.count("switches")
    return _token_answer(*ctx.tokens.pair(user.id, company_id, ctx.faults.token_ttl))


# --- accounts -----------------------------------------------------------------------------------------


@api.get("/accounts/v1/companies")
def companies() -> Response:
    user, _ = _caller()
    data = cad().data
    return _json([company.to_dict() for company in data.companies.values() if user.may_use(company.id)])


@api.get("/accounts/v1/companies/<company_id>")
def company(company_id: str) -> Response:
    user, _ = _caller()
    company_id = _path_uuid(company_id, "company_id")
    found = cad().data.companies.get(company_id)
    if found is None or not user.may_use(company_id):
        raise ApiError(404, "Company not found")
    return _json(found.to_dict())


@api.get("/accounts/v1/users/<user_id>")
def user(user_id: str) -> Response:
    caller, company_id = _caller()
    user_id = _path_uuid(user_id, "user_id")
    found = cad().data.users.get(user_id)
    if found is None or not (found.id == caller.id or found.may_use(company_id)):
        raise ApiError(404, "User not found")
    return _json(found.to_dict())


def _path_uuid(value: str, name: str) -> str:
    check = Validator()
    parsed = check.uuid(value, ("path", name))
    check.check()
    return parsed


# --- company data -------------------------------------------------------------------------------------


@api.get("/reporting-periods/v1/reporting-periods")
def reporting_periods() -> Response:
    _, company_id = _caller()
    return _json([period.to_dict() for period in cad().data.periods_of(company_id)])


@api.get("/organizational-units/v1/organizational-units")
def organizational_units() -> Response:
    _, company_id = _caller()
    return _json([unit.to_dict() for unit in cad().data.units_of(company_id)])


# --- reports ------------------------------------------------------------------------------------------


@api.post("/reports/v1/reports")
def create_report() -> Response:
    """`{name, reportingPeriodId, baseReportingPeriodId, organizationUnitId, reportType}`: 200, not 201."""
    ctx = cad()
    _, company_id = _caller()
    body = json_body(request.get_data(), request.content_type or "")
    check = Validator()
    name = check.string(body, "body", "name", body)
    period_id = check.uuid_field(body, "body", "reportingPeriodId", body)
    base_id = check.uuid_field(body, "body", "baseReportingPeriodId", body)
    unit_id = check.uuid_field(body, "body", "organizationUnitId", body)
    report_type = check.enum(body, "body", "reportType", body, REPORT_TYPES)
    check.check()
    periods = {period.id for period in ctx.data.periods_of(company_id)}
    if period_id not in periods or base_id not in periods:
        raise ApiError(404, "Reporting period not found")
    if unit_id not in {unit.id for unit in ctx.data.units_of(company_id)}:
        raise ApiError(404, "Organizational unit not found")
    report = ctx.reports.create(company_id, name, period_id, base_id, unit_id, report_type,
                                ctx.faults.job_seconds, ctx.faults.take_report_failure())
    ctx.count("reports_created")
    return _json(report.to_dict(just_created=True))


@api.get("/reports/v1/reports")
def list_reports() -> Response:
    _, company_id = _caller()
    return _json([report.to_dict() for report in cad().reports.all(company_id)])


@api.get("/reports/v1/reports/<report_id>")
def get_report(report_id: str) -> Response:
    _, company_id = _caller()
    return _json(_report(company_id, report_id).to_dict())


@api.delete("/reports/v1/reports/<report_id>")
def delete_report(report_id: str) -> Response:
    _, company_id = _caller()
    report = _report(company_id, report_id)
    cad().reports.delete(company_id, report.id)
    return _json({"id": report.id, "msg": "Report deleted"})


@api.get("/reports/v1/reports/<report_id>/presigned-url")
def presigned_url(report_id: str) -> Response:
    """`?fileType=XLSX&reportType=DATA_DUMP`: `{url}`, a presigned S3 GET. Like a real backend it signs
    without looking: a file that is not there (yet) is S3's 404 `NoSuchKey`."""
    ctx = cad()
    _, company_id = _caller()
    check = Validator()
    report_uuid = check.uuid(report_id, ("path", "report_id"))
    file_type = check.enum(request.args, "query", "fileType", None, FILE_TYPES)
    report_type = check.enum(request.args, "query", "reportType", None, REPORT_TYPES)
    check.check()
    report = _report(company_id, report_uuid)
    url = ctx.s3.presign(object_key(report, report_type, file_type), ctx.faults.url_ttl)
    ctx.count("urls_issued")
    return _json({"url": url})


def _report(company_id: str, report_id: str) -> Report:
    found = cad().reports.get(company_id, _path_uuid(report_id, "report_id"))
    if found is None:
        raise ApiError(404, "Report not found")
    return found

