"""The CarbonAltDelete API, as the inventory download needs it (the flow of the public client's
`examples/download_inventory_excel.py`): log in by API key or by email and password, switch to a company,
find its reporting period and root organizational unit, create a report, wait for its files, and download
one through its presigned S3 URL.

Its habits are the real API's: answers are 200 even for creation, errors are FastAPI's `{"detail": ...}`,
the password login is a form answering snake_case and the API-key login JSON answering camelCase, and after a
switch only the new tokens see the new company. Failures become the hub's errors: 5xx, 429 and timeouts are
retried with backoff and then `TransientError`; wrong credentials, a company or period that is not there, a
failed report, `PermanentError` with a reason code and a text naming what is missing. Credentials and tokens
are never logged nor put in an error's text."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
import requests

from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.retry import backoff_delay

from .kind import CarbonAltDeleteCredentials, CarbonAltDeleteSettings

log = logging.getLogger("report_api.carbonaltdelete")

REPORT_TYPES = ("DATA_DUMP", "GHG_PROTOCOL", "ISO14064", "CARBON_ALT_DELETE", "REPORT_DATA")
FILE_TYPES = ("XLSX", "PDF", "DOCX", "JSON")
RETRIED_STATUSES = {429, 500, 502, 503, 504}
URL_TRIES = 3  # presigned URLs fetched for one download before giving up on expiries
CHUNK = 1 << 16

# reason codes
LOGIN_FAILED = "login_failed"
COMPANY_NOT_FOUND = "company_not_found"
COMPANY_FORBIDDEN = "company_forbidden"
PERIOD_NOT_FOUND = "period_not_found"
UNIT_NOT_FOUND = "unit_not_found"
REPORT_FAILED = "report_failed"
REPORT_TIMEOUT = "report_timeout"
FILE_NOT_FOUND = "file_not_found"
UPSTREAM_REFUSED = "upstream_refused"
UPSTREAM_UNAVAILABLE = "upstream_unavailable"
URL_EXPIRED = "url_expired"


@dataclass(frozen=True)
class Company:
    id: str
    name: str


@dataclass(frozen=True)
class Period:
    id: str
    name: str
    start_date: str


@dataclass(frozen=True)
class Unit:
    id: str
    name: str


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    sha256: str
    url_fetches: int  # presigned URLs fetched (more than 1: an expired one was replaced)


class CarbonAltDeleteClient:
    """One session of the API. `wait(seconds)` sleeps between tries and polls (a handler passes its cancel
    event's wait, so a cancel ends the sleep)."""

    def __init__(self, settings: CarbonAltDeleteSettings, credentials: CarbonAltDeleteCredentials, *,
                 wait: Callable[[float], object] = time.sleep, http: requests.Session | None = None):
        self.settings = settings
        self.base_url = settings.api_url.rstrip("/")
        self._credentials = credentials
        self._wait = wait
        self.http = http or requests.Session()
        self._access: str | None = None
        self._refresh: str | None = None
        self._company_id: str | None = None  # switched to; a fresh login lands there again by switching

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CarbonAltDeleteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- authentication --------------------------------------------------------------------------------
    def login(self) -> None:
        """Log in with the credentials (API key and secret, or email and password)."""
        creds = self._credentials
        if creds.uses_api_key:
            what = "the API-key login"
            response = self._request("POST", "/api/keys/v1/api/auth", auth=False, what=what, json={
                "apiKey": creds.api_key, "secret": creds.api_secret.get_secret_value()})
        else:
            what = "the password login"
            response = self._request("POST", "/api/auth/token", auth=False, what=what, data={
                "username": creds.email, "password": creds.password.get_secret_value()})
        if response.status_code in (401, 403, 422):
            raise PermanentError(LOGIN_FAILED, f"CarbonAltDelete refused {what}: {_detail(response)} (check the "
                                 f"integration's {self._credential_names()})")
        answer = self._answer(response, what)
        if creds.uses_api_key:  # the API-key login answers camelCase, the password login snake_case
            self._access, self._refresh = answer["accessToken"], answer.get("refreshToken")
        else:
            self._access, self._refresh = answer["access_token"], answer.get("refresh_token")
        log.info("logged in to CarbonAltDelete", extra={"by": "api key" if creds.uses_api_key else "password"})

    def _reauthenticate(self) -> None:
        """After a 401: refresh with the refresh token (the switch's, so the same company); failing that, log
        in again and switch back to the company we were in."""
        if self._refresh:
            response = self._send("GET", "/api/auth/token/refresh", token=self._refresh)
            if response.status_code == 200:
                self._access = response.json()["access_token"]
                log.info("CarbonAltDelete access token refreshed")
                return
        self.login()
        if self._company_id is not None:
            self._switch(self._company_id)

    def current_company_id(self) -> str | None:
        """The company the access token is about (its `com` claim); the token is not verified here."""
        if self._access is None:
            return None
        try:
            return jwt.decode(self._access, options={"verify_signature": False}).get("com")
        except jwt.PyJWTError:
            return None

    # --- companies ---------------------------------------------------------------------------------------
    def companies(self) -> list[Company]:
        return [Company(c["id"], c["name"]) for c in self._call("GET", "/api/accounts/v1/companies",
                                                                what="the companies")]

    def switch_company(self, *, company_id: str | None = None, company_name: str | None = None) -> Company:
        """Switch to the company with this id or name (the user's companies with expert access); the new
        tokens are used from then on. PermanentError `company_not_found` naming the known ones."""
        companies = self.companies()
        if company_id is not None:
            found = [c for c in companies if c.id.lower() == company_id.strip().lower()]
            wanted = f"with id {company_id!r}"
        else:
            name = (company_name or "").strip()
            found = [c for c in companies if c.name == name] or [c for c in companies
                                                                 if c.name.casefold() == name.casefold()]
            wanted = f"named {company_name!r}"
        if not found:
            known = ", ".join(f"{c.name!r} ({c.id})" for c in companies) or "none"
            raise PermanentError(COMPANY_NOT_FOUND, f"no company {wanted} (known: {known})")
        if len(found) > 1:
            raise PermanentError(COMPANY_NOT_FOUND, f"several companies {wanted}: "
                                 f"{', '.join(c.id for c in found)}; give the company's id")
        self._switch(found[0].id, found[0].name)
        return found[0]

    def current_company(self) -> Company:
        """The company the login landed on (the user's last one), without switching."""
        company_id = self.current_company_id()
        for company in self.companies():
            if company.id == company_id:
                return company
        return Company(company_id or "", "")

    def _switch(self, company_id: str, name: str = "") -> None:
        response = self._request("POST", "/api/auth/token/switch", json={"companyId": company_id},
                                 what="the company switch")
        if response.status_code == 403:
            raise PermanentError(COMPANY_FORBIDDEN, f"CarbonAltDelete refused the switch to company "
                                 f"{name or company_id!r}: {_detail(response)} (the user needs expert access)")
        answer = self._answer(response, "the company switch")
        self._access, self._refresh = answer["access_token"], answer.get("refresh_token")
        self._company_id = company_id
        log.info("switched CarbonAltDelete company", extra={"company_id": company_id})

    # --- what a report is made of ----------------------------------------------------------------------------
    def period(self, name: str | None, company: str = "") -> Period:
        """The reporting period with this name (`shortName`), or the latest one (the last to start)."""
        periods = [Period(p["id"], p.get("shortName") or "", p.get("startDate") or "")
                   for p in self._call("GET", "/api/reporting-periods/v1/reporting-periods",
                                       what="the reporting periods")]
        where = f" in {company!r}" if company else ""
        if not periods:
            raise PermanentError(PERIOD_NOT_FOUND, f"the company{where} has no reporting period")
        if name is None:
            return max(periods, key=lambda p: p.start_date)
        found = [p for p in periods if p.name == name.strip()] or [
            p for p in periods if p.name.casefold() == name.strip().casefold()]
        if not found:
            known = ", ".join(repr(p.name) for p in sorted(periods, key=lambda p: p.start_date))
            raise PermanentError(PERIOD_NOT_FOUND, f"no reporting period named {name!r}{where} (known: {known})")
        return found[0]

    def root_unit(self, company: str = "") -> Unit:
        units = self._call("GET", "/api/organizational-units/v1/organizational-units",
                           what="the organizational units")
        roots = [Unit(u["id"], u.get("name") or "") for u in units if u.get("parentId") is None]
        if not roots:
            where = f" of {company!r}" if company else ""
            raise PermanentError(UNIT_NOT_FOUND, f"no root organizational unit{where} (one without a parent)")
        return roots[0]

    # --- the report ----------------------------------------------------------------------------------------
    def create_report(self, name: str, period: Period, unit: Unit, report_type: str) -> str:
        """Start the report job (CarbonAltDelete makes every report type at once); returns its id."""
        response = self._request("POST", "/api/reports/v1/reports", what="the report creation", json={
            "name": name, "reportingPeriodId": period.id, "baseReportingPeriodId": period.id,
            "organizationUnitId": unit.id, "reportType": report_type})
        if response.status_code == 404:
            detail = _detail(response)
            code = UNIT_NOT_FOUND if "unit" in detail.lower() else PERIOD_NOT_FOUND
            raise PermanentError(code, f"CarbonAltDelete refused the report: {detail}")
        return self._answer(response, "the report creation")["id"]

    def wait_for_files(self, report_id: str, on_poll: Callable[[float], None] | None = None) -> dict:
        """Poll the report until its files are made (`reportFileStatus` DONE), with a growing delay and an
        overall timeout. `on_poll(elapsed_fraction)` is called before each wait (it may raise to stop)."""
        settings = self.settings
        started = time.monotonic()
        delay = settings.poll_seconds
        while True:
            report = self._call("GET", f"/api/reports/v1/reports/{report_id}", what="the report's status")
            status = report.get("reportFileStatus")
            if status == "DONE":
                return report
            if status == "FAILED":
                raise PermanentError(REPORT_FAILED, f"CarbonAltDelete could not make the files of report "
                                     f"{report_id} ({report.get('name')!r}): reportFileStatus FAILED")
            elapsed = time.monotonic() - started
            if elapsed >= settings.report_timeout_seconds:
                raise PermanentError(REPORT_TIMEOUT, f"report {report_id} was not ready after "
                                     f"{settings.report_timeout_seconds:g} s (reportFileStatus {status}, "
                                     f"HUB_CAD_REPORT_TIMEOUT_SECONDS)")
            if on_poll is not None:
                on_poll(elapsed / settings.report_timeout_seconds)
            self._wait(min(delay, settings.report_timeout_seconds - elapsed))
            delay = min(delay * 1.5, settings.poll_max_seconds)

    def presigned_url(self, report_id: str, report_type: str, file_type: str) -> str:
        return self._call("GET", f"/api/reports/v1/reports/{report_id}/presigned-url", what="the download URL",
                          params={"fileType": file_type, "reportType": report_type})["url"]

    def download(self, report_id: str, report_type: str, file_type: str, dest: Path) -> Downloaded:
        """The report's file, streamed to `dest` through a presigned S3 URL; a URL that expired before it was
        used (S3's 403 "Request has expired") is replaced by a new one."""
        fetches = 0
        for attempt in range(1, self.settings.retry_attempts + URL_TRIES):
            fetches += 1
            url = self.presigned_url(report_id, report_type, file_type)
            try:
                with self.http.get(url, stream=True, timeout=self.settings.timeout_seconds) as response:
                    if response.status_code == 200:
                        size, digest = _stream(response, dest)
                        return Downloaded(dest, size, digest, fetches)
                    body = response.text[:2000]
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem = f"the file download failed: {type(exc).__name__}"
            else:
                code, message = _s3_error(body)
                if response.status_code == 403 and "expired" in message.lower():
                    log.info("the presigned URL expired before its use; fetching a new one")
                    if fetches >= URL_TRIES:
                        raise TransientError(URL_EXPIRED, f"{fetches} presigned URLs of report {report_id} "
                                             "expired before they could be used")
                    continue
                if response.status_code == 404:
                    raise PermanentError(FILE_NOT_FOUND, f"report {report_id} has no {report_type} file as "
                                         f"{file_type} (S3: {code or 404}; CarbonAltDelete makes the inventory, "
                                         "DATA_DUMP, as XLSX)")
                if response.status_code not in RETRIED_STATUSES:
                    raise PermanentError(UPSTREAM_REFUSED, f"S3 refused the download of report {report_id}: "
                                         f"{response.status_code} {code} {message}".strip())
                problem = f"S3 answered {response.status_code} {code}".strip()
            if attempt >= self.settings.retry_attempts:
                raise TransientError(UPSTREAM_UNAVAILABLE, f"{problem} ({attempt} tries)")
            self._wait(backoff_delay(attempt, self.settings.retry_base_seconds, 60.0))
        raise TransientError(UPSTREAM_UNAVAILABLE, f"the file of report {report_id} could not be downloaded")

    # --- HTTP ------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, what: str, auth: bool = True, **kwargs) -> dict | list:
        return self._answer(self._request(method, path, what=what, auth=auth, **kwargs), what)

    def _answer(self, response: requests.Response, what: str) -> dict | list:
        """A 200 answer's JSON, or the PermanentError its status means (the retried ones never get here)."""
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                raise TransientError(UPSTREAM_UNAVAILABLE, f"{what}: the answer is not JSON") from None
        detail = _detail(response)
        if response.status_code == 401:
            raise PermanentError(LOGIN_FAILED, f"CarbonAltDelete refused {what}: {detail} (check the "
                                 f"integration's {self._credential_names()})")
        raise PermanentError(UPSTREAM_REFUSED, f"CarbonAltDelete refused {what}: {response.status_code} {detail}")

    def _request(self, method: str, path: str, *, what: str, auth: bool = True, **kwargs) -> requests.Response:
        """One API call, retried on 5xx, 429 and timeouts (TransientError after the budget); a 401 on an
        authenticated call re-authenticates once and tries again."""
        attempts = self.settings.retry_attempts
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(method, path, token=self._access if auth else None, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem, retry_after = f"{type(exc).__name__}", None
            else:
                if response.status_code == 401 and auth and not reauthenticated:
                    reauthenticated = True
                    log.info("CarbonAltDelete answered 401 to %s; authenticating again", what)
                    self._reauthenticate()
                    attempt -= 1
                    continue
                if response.status_code not in RETRIED_STATUSES:
                    return response
                problem, retry_after = f"HTTP {response.status_code}", _retry_after(response)
            if attempt >= attempts:
                raise TransientError(UPSTREAM_UNAVAILABLE, f"CarbonAltDelete did not answer {what} "
                                     f"({method} {path}): {problem} after {attempt} tries")
            delay = retry_after if retry_after is not None else backoff_delay(
                attempt, self.settings.retry_base_seconds, 60.0)
            log.warning("CarbonAltDelete %s: %s; retry %d in %.1fs", what, problem, attempt, delay)
            self._wait(delay)

    def _send(self, method: str, path: str, *, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"bearer {token}"} if token else {}
        return self.http.request(method, self.base_url + path, headers=headers,
                                 timeout=self.settings.timeout_seconds, **kwargs)

    def _credential_names(self) -> str:
        return "api_key and api_secret" if self._credentials.uses_api_key else "email and password"


def _stream(response: requests.Response, dest: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with dest.open("wb") as out:
        for chunk in response.iter_content(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _detail(response: requests.Response) -> str:
    """FastAPI's `detail` (a text, or the validation errors' messages), else the start of the body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:200].strip() or f"HTTP {response.status_code}"
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in detail
                         if isinstance(e, dict))[:500]
    return str(detail)[:500]


def _s3_error(body: str) -> tuple[str, str]:
    """S3's XML error as (Code, Message)."""
    def tag(name: str) -> str:
        start, end = body.find(f"<{name}>"), body.find(f"</{name}>")
        return body[start + len(name) + 2:end] if 0 <= start < end else ""

    return tag("Code"), tag("Message")


def _retry_after(response: requests.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), 60.0)
    except (KeyError, ValueError):
        return None
