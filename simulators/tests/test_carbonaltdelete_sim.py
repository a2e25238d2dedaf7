"""The CarbonAltDelete simulator over real HTTP: logins, tokens, company switch, company data, the report
lifecycle down to the file from the presigned S3 URL, the fault switches and the CLI."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable

import jwt
import pytest
import requests

from hub_runtime.testing.services import serving
from simulators.carbonaltdelete.app import close_app, create_app
from simulators.carbonaltdelete.data import DEMO_API_KEY, DEMO_API_SECRET, DEMO_EMAIL, DEMO_PASSWORD

USER = ("tester@example.test", "only-in-this-test-9f3")
KEY = ("0b7e9c2a-4f1d-4e8a-b6c5-7d2f0e1a9b34", "key-secret-only-here")
SPEED = 1000  # the default 60 s job takes 60 ms
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Sim:
    def __init__(self, base: str) -> None:
        self.base = base

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def get(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        return requests.get(self.url(path), headers=_auth(token), timeout=10, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        return requests.post(self.url(path), headers=_auth(token), timeout=10, **kwargs)

    def login(self, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> dict:
        response = self.post("/api/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    def faults(self, **settings) -> dict:
        response = self.post("/_sim/faults", json=settings)
        assert response.status_code == 200, response.text
        return response.json()

    def state(self) -> dict:
        return self.get("/_sim/state").json()


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"bearer {token}"} if token else {}


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def xlsx_rows(content: bytes) -> list[list]:
    """The first sheet's cell values (strings and numbers), without a spreadsheet library."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        names = book.namelist()
        strings = []
        if "xl/sharedStrings.xml" in names:
            strings = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                       for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        sheet = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{ns['m']}}}row"):
        values = []
        for cell in row.findall("m:c", ns):
            value = cell.findtext("m:v", namespaces=ns)
            values.append(strings[int(value)] if cell.get("t") == "s" else float(value))
        rows.append(values)
    return rows


@pytest.fixture(scope="module")
def server():
    app = create_app(speed=SPEED, users=dict([USER]), api_keys=dict([KEY]))
    with serving(app) as url:
        yield Sim(url)
    close_app(app)


@pytest.fixture
def sim(server) -> Sim:
    assert server.post("/_sim/reset").json() == {"ok": True}
    return server


@pytest.fixture
def token(sim) -> str:
    return sim.login()["access_token"]


def ids(sim: Sim, token: str) -> dict[str, str]:
    """Company name -> id, as the token's user sees them."""
    return {c["name"]: c["id"] for c in sim.get("/api/accounts/v1/companies", token).json()}


def switch(sim: Sim, token: str, company_id: str) -> dict:
    response = sim.post("/api/auth/token/switch", token, json={"companyId": company_id})
    assert response.status_code == 200, response.text
    return response.json()


def new_report(sim: Sim, token: str, **overrides) -> dict:
    periods = sim.get("/api/reporting-periods/v1/reporting-periods", token).json()
    latest = max(periods, key=lambda p: p["startDate"])
    root = next(u for u in sim.get("/api/organizational-units/v1/organizational-units", token).json()
                if u["parentId"] is None)
    body = {"name": f"Inventory [{latest['shortName']}] ({root['name']})", "reportingPeriodId": latest["id"],
            "baseReportingPeriodId": latest["id"], "organizationUnitId": root["id"], "reportType": "DATA_DUMP"}
    response = sim.post("/api/reports/v1/reports", token, json=body | overrides)
    assert response.status_code == 200, response.text
    return response.json()


def finished(sim: Sim, token: str, report_id: str) -> dict:
    def done():
        report = sim.get(f"/api/reports/v1/reports/{report_id}", token).json()
        return report if report["reportFileStatus"] != "PROCESSING" else None

    return wait_for(done, "the report job")


def presigned(sim: Sim, token: str, report_id: str, file_type: str = "XLSX", report_type: str = "DATA_DUMP") -> str:
    response = sim.get(f"/api/reports/v1/reports/{report_id}/presigned-url", token,
                       params={"fileType": file_type, "reportType": report_type})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"url"}
    return response.json()["url"]


# --- auth ---------------------------------------------------------------------------------------------


def test_password_login_is_a_form_and_answers_snake_case_jwts(sim):
    answer = sim.login()
    assert set(answer) == {"access_token", "token_type", "refresh_token"}
    assert answer["token_type"] == "bearer"
    access = claims(answer["access_token"])
    assert access["exp"] - access["iat"] == 90 * 60
    assert jwt.get_unverified_header(answer["access_token"])["alg"] == "HS256"
    user = sim.get(f"/api/accounts/v1/users/{access['userId']}", answer["access_token"]).json()
    assert user["email"] == DEMO_EMAIL and user["status"] == "ACTIVE"
    assert set(user) == {"id", "companyId", "firstName", "lastName", "email", "isAdmin", "isReadonly",
                         "isReadonlyLimited", "isConsultant", "status"}
    # what the public client reads after a login: the user's own company and the token's company
    own = sim.get(f"/api/accounts/v1/companies/{user['companyId']}", answer["access_token"]).json()
    current = sim.get(f"/api/accounts/v1/companies/{access['com']}", answer["access_token"]).json()
    assert own["isConsultingCompany"] is True
    assert current["name"] == "Demo Company"
    assert set(current) == {"id", "name", "createdAt", "isConsultingCompany", "isDemoCompany",
                            "availableClientCompanies"}


def test_api_key_login_is_json_and_answers_camel_case(sim):
    response = sim.post("/api/keys/v1/api/auth", json={"apiKey": DEMO_API_KEY, "secret": DEMO_API_SECRET})
    assert response.status_code == 200
    assert set(response.json()) == {"accessToken", "tokenType", "refreshToken"}
    token = response.json()["accessToken"]
    assert sim.get("/api/accounts/v1/companies", token).status_code == 200
    extra = sim.post("/api/keys/v1/api/auth", json={"apiKey": KEY[0], "secret": KEY[1]})
    assert extra.status_code == 200


@pytest.mark.parametrize("form", [{"username": DEMO_EMAIL, "password": "wrong"},
                                  {"username": "nobody@example.test", "password": DEMO_PASSWORD},
                                  {"username": DEMO_EMAIL, "password": USER[1]}])
def test_wrong_password_in_the_apis_shape(sim, form):
    response = sim.post("/api/auth/token", data=form)
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect username or password"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert sim.state()["counters"]["failed_logins"] == 1


def test_extra_user_logs_in(sim):
    assert claims(sim.login(*USER)["access_token"])["com"]


def test_password_login_refuses_json(sim):
    response = sim.post("/api/auth/token", json={"username": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 422
    assert [(e["type"], e["loc"]) for e in response.json()["detail"]] == [
        ("missing", ["body", "username"]), ("missing", ["body", "password"])]


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"apiKey": DEMO_API_KEY, "secret": "wrong"}, 401, "Invalid API key or secret"),
    ({"apiKey": str(uuid.uuid4()), "secret": DEMO_API_SECRET}, 401, "Invalid API key or secret"),
    ({"apiKey": "not-a-uuid", "secret": DEMO_API_SECRET}, 422, "uuid_parsing"),
    ({"api_key": DEMO_API_KEY, "secret": DEMO_API_SECRET}, 422, "missing"),
])
def test_wrong_api_key_in_the_apis_shape(sim, body, status, detail):
    response = sim.post("/api/keys/v1/api/auth", json=body)
    assert response.status_code == status
    if status == 401:
        assert response.json() == {"detail": detail}
    else:
        assert response.json()["detail"][0]["type"] == detail


def test_api_key_login_refuses_a_form(sim):
    response = sim.post("/api/keys/v1/api/auth", data={"apiKey": DEMO_API_KEY, "secret": DEMO_API_SECRET})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(("header", "detail"), [
    (None, "Not authenticated"), ("Token abc", "Not authenticated"), ("Bearer abc", "Could not validate credentials"),
])
def test_calls_need_a_valid_bearer_token(sim, header, detail):
    response = requests.get(sim.url("/api/accounts/v1/companies"), timeout=10,
                            headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_of_another_simulator_is_refused(sim):
    forged = jwt.encode({"userId": str(uuid.uuid4()), "com": str(uuid.uuid4()), "exp": 2**31, "jti": "x"}, "k" * 32)
    assert sim.get("/api/accounts/v1/companies", forged).status_code == 401


def test_refresh_gives_a_new_access_token_and_needs_the_refresh_token(sim):
    answer = sim.login()
    response = sim.get("/api/auth/token/refresh", answer["refresh_token"])
    assert response.status_code == 200
    fresh = response.json()["access_token"]
    assert response.json()["token_type"] == "bearer"
    assert fresh != answer["access_token"]
    assert claims(fresh)["com"] == claims(answer["access_token"])["com"]
    assert sim.get("/api/accounts/v1/companies", fresh).status_code == 200
    assert sim.get("/api/auth/token/refresh", answer["access_token"]).status_code == 401
    assert sim.get("/api/accounts/v1/companies", answer["refresh_token"]).status_code == 401
    assert sim.state()["counters"]["refreshes"] == 1


# --- companies and the switch -------------------------------------------------------------------------


def test_companies_are_the_users_own_and_client_companies(sim, token):
    companies = sim.get("/api/accounts/v1/companies", token).json()
    assert sorted(c["name"] for c in companies) == ["Demo Company", "Demo Consulting", "Nordic Workshops A/S"]
    assert [c["name"] for c in companies if c["isDemoCompany"]] == ["Demo Company"]


def test_switch_company_changes_what_the_new_token_sees(sim, token):
    companies = ids(sim, token)
    periods_before = sim.get("/api/reporting-periods/v1/reporting-periods", token).json()
    switched = switch(sim, token, companies["Nordic Workshops A/S"])
    assert set(switched) == {"access_token", "token_type", "refresh_token"}
    new = switched["access_token"]
    assert claims(new)["com"] == companies["Nordic Workshops A/S"]

    periods_after = sim.get("/api/reporting-periods/v1/reporting-periods", new).json()
    assert {p["id"] for p in periods_after}.isdisjoint(p["id"] for p in periods_before)
    root = next(u for u in sim.get("/api/organizational-units/v1/organizational-units", new).json()
                if u["parentId"] is None)
    assert root["name"] == "Nordic Workshops A/S"
    # the old token still speaks for the old company; a refresh keeps the refresh token's company
    assert sim.get("/api/reporting-periods/v1/reporting-periods", token).json() == periods_before
    refreshed = sim.get("/api/auth/token/refresh", switched["refresh_token"]).json()["access_token"]
    assert claims(refreshed)["com"] == companies["Nordic Workshops A/S"]
    # the next login lands on the last company
    assert claims(sim.login()["access_token"])["com"] == companies["Nordic Workshops A/S"]
    assert sim.state()["counters"]["switches"] == 1


def test_reports_are_per_company(sim, token):
    report = new_report(sim, token)
    other = switch(sim, token, ids(sim, token)["Nordic Workshops A/S"])["access_token"]
    response = sim.get(f"/api/reports/v1/reports/{report['id']}", other)
    assert response.status_code == 404
    assert response.json() == {"detail": "Report not found"}
    assert sim.get(f"/api/reports/v1/reports/{report['id']}/presigned-url", other,
                   params={"fileType": "XLSX", "reportType": "DATA_DUMP"}).status_code == 404


def test_switch_to_a_company_without_expert_access_is_forbidden(sim, token):
    foreign = next(c["id"] for c in sim.state()["companies"] if c["name"] == "Other Tenant ApS")
    response = sim.post("/api/auth/token/switch", token, json={"companyId": foreign})
    assert response.status_code == 403
    assert response.json() == {"detail": "Not enough permissions"}
    assert sim.get(f"/api/accounts/v1/companies/{foreign}", token).status_code == 404


def test_switch_validates_its_body(sim, token):
    response = sim.post("/api/auth/token/switch", token, json={"company_id": str(uuid.uuid4())})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "companyId"]


# --- company data -------------------------------------------------------------------------------------


def test_reporting_periods(sim, token):
    periods = sim.get("/api/reporting-periods/v1/reporting-periods", token).json()
    assert all(set(p) == {"id", "shortName", "description", "startDate", "endDate", "isLocked"} for p in periods)
    assert [p["shortName"] for p in periods if p["isLocked"]] == ["2022"]
    latest = max(periods, key=lambda p: p["startDate"])
    assert (latest["shortName"], latest["startDate"], latest["endDate"]) == ("2024", "2024-01-01", "2024-12-31")


def test_organizational_units_have_exactly_one_root(sim, token):
    units = sim.get("/api/organizational-units/v1/organizational-units", token).json()
    assert all(set(u) == {"id", "name", "position", "parentId"} for u in units)
    roots = [u for u in units if u["parentId"] is None]
    assert [r["name"] for r in roots] == ["Demo Company"]
    known = {u["id"] for u in units}
    assert all(u["parentId"] in known for u in units if u["parentId"])


def test_the_seed_decides_the_ids(sim, token):
    again = create_app(speed=SPEED)
    other = create_app(speed=SPEED, seed=7)
    try:
        ours = {c["id"] for c in sim.state()["companies"]}
        assert {c.id for c in again.extensions["carbonaltdelete"].data.companies.values()} == ours
        assert {c.id for c in other.extensions["carbonaltdelete"].data.companies.values()}.isdisjoint(ours)
    finally:
        close_app(again)
        close_app(other)


# --- reports ------------------------------------------------------------------------------------------


def test_report_lifecycle_down_to_the_xlsx_from_s3(sim, token):
    sim.faults(job_duration_ms=86_400_000)  # a day / SPEED: still PROCESSING while we look
    report = new_report(sim, token)
    assert set(report) == {"id", "name", "jsonVersion", "createdOn", "reportStatus", "reportFileStatus",
                           "doneReportFiles", "countReportFiles"}
    assert (report["reportStatus"], report["reportFileStatus"]) == ("PROCESSING", None)
    assert sim.get(f"/api/reports/v1/reports/{report['id']}", token).json()["reportFileStatus"] == "PROCESSING"

    sim.faults(job_duration_ms=60_000)
    fast = new_report(sim, token)
    done = finished(sim, token, fast["id"])
    assert (done["reportStatus"], done["reportFileStatus"]) == ("DONE", "DONE")
    assert done["doneReportFiles"] == done["countReportFiles"] == 5

    url = presigned(sim, token, fast["id"])
    assert "X-Amz-Expires=300" in url and "X-Amz-Signature=" in url
    assert url.startswith(sim.state()["s3"]["endpoint"])
    download = requests.get(url, timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == XLSX
    rows = xlsx_rows(download.content)
    assert rows[0][:3] == ["Organizational unit", "Reporting period", "Scope"]
    assert len(rows) > 10 and {row[1] for row in rows[1:]} == {"2024"}
    assert {row[0] for row in rows[1:]} >= {"Demo Company", "Copenhagen workshop"}

    counters = sim.state()["counters"]
    assert (counters["reports_created"], counters["urls_issued"], counters["downloads"]) == (2, 1, 1)


def test_other_report_files(sim, token):
    report = finished(sim, token, new_report(sim, token)["id"])
    ghg = requests.get(presigned(sim, token, report["id"], "XLSX", "GHG_PROTOCOL"), timeout=10)
    assert xlsx_rows(ghg.content)[1][0] == "Scope 1"
    pdf = requests.get(presigned(sim, token, report["id"], "PDF", "ISO14064"), timeout=10)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-1.4")
    data = requests.get(presigned(sim, token, report["id"], "JSON", "REPORT_DATA"), timeout=10).json()
    assert data["reportingPeriod"] == "2024" and data["lines"]
    never_made = requests.get(presigned(sim, token, report["id"], "DOCX", "DATA_DUMP"), timeout=10)
    assert never_made.status_code == 404
    assert "<Code>NoSuchKey</Code>" in never_made.text


def test_a_url_for_an_unfinished_report_finds_no_file(sim, token):
    sim.faults(job_duration_ms=86_400_000)
    report = new_report(sim, token)
    assert requests.get(presigned(sim, token, report["id"]), timeout=10).status_code == 404


def test_failed_report(sim, token):
    sim.faults(fail_next_report=1)
    failed = finished(sim, token, new_report(sim, token)["id"])
    assert failed["reportFileStatus"] == "FAILED"
    assert requests.get(presigned(sim, token, failed["id"]), timeout=10).status_code == 404
    assert finished(sim, token, new_report(sim, token)["id"])["reportFileStatus"] == "DONE"


def test_create_report_validates_like_the_api(sim, token):
    good = new_report(sim, token)  # for valid ids
    snake = sim.post("/api/reports/v1/reports", token, json={"name": "x", "reporting_period_id": str(uuid.uuid4())})
    assert snake.status_code == 422
    assert {tuple(e["loc"]) for e in snake.json()["detail"]} == {
        ("body", "reportingPeriodId"), ("body", "baseReportingPeriodId"), ("body", "organizationUnitId"),
        ("body", "reportType")}
    report = sim.get(f"/api/reports/v1/reports/{good['id']}", token).json()
    assert report["name"].startswith("Inventory [2024]")
    bad_type = sim.post("/api/reports/v1/reports", token, json={"name": "x", "reportingPeriodId": str(uuid.uuid4()),
                                                                "baseReportingPeriodId": str(uuid.uuid4()),
                                                                "organizationUnitId": str(uuid.uuid4()),
                                                                "reportType": "INVENTORY"})
    assert bad_type.status_code == 422
    assert bad_type.json()["detail"][0]["type"] == "enum"
    unknown_period = sim.post("/api/reports/v1/reports", token, json={
        "name": "x", "reportingPeriodId": str(uuid.uuid4()), "baseReportingPeriodId": str(uuid.uuid4()),
        "organizationUnitId": str(uuid.uuid4()), "reportType": "DATA_DUMP"})
    assert unknown_period.status_code == 404
    assert unknown_period.json() == {"detail": "Reporting period not found"}


def test_presigned_url_validates_its_query(sim, token):
    report = new_report(sim, token)
    response = sim.get(f"/api/reports/v1/reports/{report['id']}/presigned-url", token,
                       params={"fileType": "CSV"})
    assert response.status_code == 422
    assert [(e["type"], e["loc"]) for e in response.json()["detail"]] == [
        ("enum", ["query", "fileType"]), ("missing", ["query", "reportType"])]
    assert sim.get("/api/reports/v1/reports/nope", token).status_code == 422


def test_an_expired_url_is_refused_by_the_s3_endpoint(sim, token):
    report = finished(sim, token, new_report(sim, token)["id"])
    sim.faults(url_ttl_s=1)
    url = presigned(sim, token, report["id"])
    assert "X-Amz-Expires=1&" in url

    def refused():
        response = requests.get(url, timeout=10)
        return response.text if response.status_code == 403 else None

    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in wait_for(refused, "the URL to expire")
    sim.faults(url_ttl_s=300)
    assert requests.get(presigned(sim, token, report["id"]), timeout=10).status_code == 200


# --- faults, state, reset -----------------------------------------------------------------------------


def test_the_s3_endpoint_checks_signatures(sim, token):
    report = finished(sim, token, new_report(sim, token)["id"])
    url = presigned(sim, token, report["id"])
    assert requests.get(url, timeout=10).status_code == 200
    for tampered in (url.replace("DATA_DUMP.xlsx", "GHG_PROTOCOL.xlsx"),
                     url.replace("X-Amz-Expires=300", "X-Amz-Expires=600"),
                     url.replace("127.0.0.1", "localhost")):
        response = requests.get(tampered, timeout=10)
        assert response.status_code == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    unsigned = requests.get(url.split("?")[0], timeout=10)
    assert unsigned.status_code == 403 and "<Code>AccessDenied</Code>" in unsigned.text
    assert sim.state()["counters"]["downloads"] == 1


def test_fail_next_answers_like_the_real_service(sim, token):
    sim.faults(fail_next=2, fail_status=503)
    first = sim.get("/api/accounts/v1/companies", token)
    assert first.status_code == 503 and first.headers["Content-Type"].startswith("text/html")
    assert first.headers["Retry-After"] == "1"
    assert sim.post("/api/auth/token", data={"username": DEMO_EMAIL, "password": DEMO_PASSWORD}).status_code == 503
    assert sim.get("/api/accounts/v1/companies", token).status_code == 200
    sim.faults(fail_next=1, fail_status=500)
    crashed = sim.get("/api/accounts/v1/companies", token)
    assert (crashed.status_code, crashed.text) == (500, "Internal Server Error")
    assert sim.faults()["fail_next"] == 0


def test_latency(sim, token):
    sim.faults(latency_ms=200)
    started = time.monotonic()
    assert sim.get("/api/accounts/v1/companies", token).status_code == 200
    assert time.monotonic() - started >= 0.2
    assert sim.get("/_sim/state").status_code == 200  # /_sim is never slowed down


def test_expire_tokens_then_refresh(sim):
    answer = sim.login()
    sim.faults(expire_tokens=True)
    assert sim.get("/api/accounts/v1/companies", answer["access_token"]).status_code == 401
    fresh = sim.get("/api/auth/token/refresh", answer["refresh_token"]).json()["access_token"]
    assert sim.get("/api/accounts/v1/companies", fresh).status_code == 200
    sim.faults(expire_refresh_tokens=True)
    assert sim.get("/api/auth/token/refresh", answer["refresh_token"]).status_code == 401
    assert sim.get("/api/accounts/v1/companies", fresh).status_code == 200  # access tokens untouched


def test_token_lifetime_switch(sim):
    sim.faults(token_ttl_s=30)
    token = sim.login()["access_token"]
    assert claims(token)["exp"] - claims(token)["iat"] == 30


@pytest.mark.parametrize("body", [{"nope": 1}, {"fail_next": -1}, {"url_ttl_s": 0}, {"expire_tokens": 1}, []])
def test_invalid_fault_bodies(sim, body):
    response = sim.post("/_sim/faults", json=body)
    assert response.status_code == 400
    assert "detail" in response.json()


def test_reset_clears_reports_counters_and_faults(sim, token):
    sim.faults(fail_next_report=3, url_ttl_s=5)
    switch(sim, token, ids(sim, token)["Nordic Workshops A/S"])
    report = new_report(sim, token)
    assert sim.post("/_sim/reset").json() == {"ok": True}
    state = sim.state()
    assert state["reports"] == [] and set(state["counters"].values()) == {0}
    assert state["faults"]["fail_next_report"] == 0 and state["faults"]["url_ttl_s"] == 300
    assert sim.get(f"/api/reports/v1/reports/{report['id']}", token).status_code == 404
    assert claims(sim.login()["access_token"])["com"] == ids(sim, token)["Demo Company"]


def test_routing_errors_in_fastapis_words(sim, token):
    missing = sim.get("/api/nope", token)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    wrong = requests.put(sim.url("/api/auth/token"), timeout=10)
    assert (wrong.status_code, wrong.json()) == (405, {"detail": "Method Not Allowed"})


# --- the command line ---------------------------------------------------------------------------------


def test_cli_serves_and_stops_its_s3_endpoint_on_sigterm(tmp_path):
    log_file = tmp_path / "sim.log"
    with log_file.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulators.carbonaltdelete.cli", "--port", "0", "--speed", "600",
             "--user", "cli@example.test:cli-secret-pw", "--api-key", f"{KEY[0]}:{KEY[1]}"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    try:
        ready = proc.stdout.readline()
        match = re.fullmatch(r"carbonaltdelete-sim listening on (http://127\.0\.0\.1:\d+)\n", ready)
        assert match, f"unexpected first line {ready!r}; log: {log_file.read_text()}"
        cli = Sim(match.group(1))
        token = cli.login("cli@example.test", "cli-secret-pw")["access_token"]
        report = finished(cli, token, new_report(cli, token)["id"])
        assert requests.get(presigned(cli, token, report["id"]), timeout=10).status_code == 200
        s3 = cli.state()["s3"]["endpoint"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)

    assert proc.returncode == 0
    assert out == "carbonaltdelete-sim stopped\n"
    with pytest.raises(requests.ConnectionError):
        requests.get(s3, timeout=5)
    log = log_file.read_text()
    assert "POST /api/reports/v1/reports 200" in log
    assert "cli-secret-pw" not in log and token not in log and "X-Amz-Signature" not in log


def test_cli_refuses_an_api_key_that_is_not_a_uuid():
    done = subprocess.run([sys.executable, "-m", "simulators.carbonaltdelete.cli", "--api-key", "abc:def"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "UUID" in done.stderr
