"""The gcore source against the Gcore simulator over real HTTP (on a werkzeug thread): each product and
`all`, the three answer formats, the account's token (one login, refresh once, log in again), retries of
5xx, 429 and timeouts, Gcore's failed reports, and the requests refused before anything is queued."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date

import openpyxl
import pytest
import requests

from hub_runtime.testing.services import serving
from report_api.app import create_app
from report_api.settings import ReportSettings
from report_api.sources.gcore import gcore_source
from report_api.sources.gcore.handler import Gcore
from report_api.sources.gcore.kind import GcoreSettings
from report_api.sources.gcore.rows import COLUMNS
from simulators.gcore.app import create_app as create_sim
from simulators.gcore.data import FEATURES, UsageReport

LOGIN = {"username": "reseller@example.com", "password": "gcore-sim"}
CLIENT = "200101"
BODY = {"gcore_user_id": CLIENT, "start_date": "2025-09-01", "end_date": "2025-09-24"}
PRODUCTS = {"cdn": ("CDN", "CDN"), "waap": ("Web Security", "WAAP"), "cloud": ("Cloud", "Cloud")}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def sim_server():
    with serving(create_sim(job_seconds=0.3)) as url:
        yield url


class Sim:
    def __init__(self, url: str):
        self.url = url
        requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()

    def faults(self, **faults) -> None:
        requests.post(f"{self.url}/_sim/faults", json=faults, timeout=5).raise_for_status()

    def counters(self) -> dict:
        return requests.get(f"{self.url}/_sim/state", timeout=5).json()["counters"]

    def state(self) -> dict:
        return requests.get(f"{self.url}/_sim/state", timeout=5).json()


@pytest.fixture
def sim(sim_server):
    return Sim(sim_server)


@pytest.fixture
def credentials():
    return LOGIN


@pytest.fixture
def gcore_settings(sim):
    return GcoreSettings(api_url=sim.url, request_timeout_seconds=1.0, request_attempts=3, retry_base_seconds=0.02,
                         retry_max_seconds=0.1, poll_interval_seconds=0.05, poll_max_interval_seconds=0.1,
                         poll_timeout_seconds=30, sync_wait_seconds=0)


@pytest.fixture
def settings(database_url, tmp_path, api_token, credentials):
    return ReportSettings(database_url=database_url, data_dir=tmp_path / "data", api_token=api_token,
                          heartbeat_seconds=0.2, credentials=credentials, retry_max_attempts=1, _env_file=None)


@pytest.fixture
def app(settings, gcore_settings):
    app = create_app(settings, "Gcore reports", sources={"gcore": gcore_source(Gcore(gcore_settings))})
    app.testing = True
    yield app
    app.config["SERVICE"].runtime.close()


def expected(product: str, client: str = CLIENT, start="2025-09-01", end="2025-09-24") -> list[list[str]]:
    """The simulator's rows of the client with a non-zero metric value, as CSV text."""
    ids = tuple(f.id for f in FEATURES if f.product.name == PRODUCTS[product][0])
    rows = UsageReport(1, ids, ("client",), date.fromisoformat(start), date.fromisoformat(end)).rows()
    return [["" if v is None else str(v) for v in row] for row in rows
            if row[0] == client and float(row[4]) != 0]


def queued(user, run_queued, product: str, body=None) -> dict:
    answer = user.post_json(f"/reports/{product}", body or BODY)
    assert answer.status_code == 202, answer.json
    assert run_queued() == 1
    return user.get(answer.json["status_url"]).json


def csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, rows


@pytest.mark.parametrize("product", ["cdn", "waap", "cloud"])
def test_a_product_report_holds_the_clients_non_zero_rows(sim, user, run_queued, product):
    status = queued(user, run_queued, product)
    assert status["state"] == "finished", status
    header, rows = csv_rows(user.get(status["download_url"]).text)
    assert header == list(COLUMNS) and rows == expected(product) and rows
    assert status["rows"] == len(rows) and status["summary"]["errors"] == []
    sent = [r for r in sim.state()["reports"] if r["status"] == "Completed"]
    assert len(sent) == 1 and sent[0]["parameters"]["group_by"] == ["client"]


def test_all_products_at_once_with_a_product_column_in_three_formats(sim, user, run_queued):
    sim.faults(latency_ms=50, latency_path="/iam/auth/jwt/login")
    status = queued(user, run_queued, "all")
    assert status["state"] == "finished", status
    header, rows = csv_rows(user.get(status["download_url"]).text)
    assert header == [*COLUMNS, "Product"]
    want = sorted(row + [PRODUCTS[p][1]] for p in PRODUCTS for row in expected(p))
    assert sorted(rows) == want and {r[-1] for r in rows} == {"CDN", "WAAP", "Cloud"}
    data = user.get(status["download_url"] + "?format=json").json
    assert (data["status"], data["count"], len(data["data"]), data["errors"]) == ("completed", len(rows), len(rows), [])
    assert set(data["uuids"]) == {"CDN", "WAAP", "Cloud"}
    first = data["data"][0]
    assert isinstance(first["Client ID"], str) and isinstance(first["Feature ID"], int)
    assert isinstance(first["Metric value"], float) and first["Metric value"] != 0
    assert all(v not in (None, "", 0) for row in data["data"] for v in row.values())
    xlsx = user.get(status["download_url"] + "?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == header and len(values) - 1 == data["count"]
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["D"].width > 10
    metric, feature = header.index("Metric value"), header.index("Feature ID")
    assert all(isinstance(r[metric], float) and isinstance(r[feature], int) for r in values[1:])
    assert user.get(status["download_url"] + "?format=pdf").json["error"]["code"] == "format_not_available"
    counters = sim.counters()
    assert counters["logins"] == 1 and counters["max_concurrent_logins"] == 1, counters


def test_one_login_serves_several_reports_and_a_refresh_token_is_used_once(sim, user, run_queued):
    assert queued(user, run_queued, "cdn")["state"] == "finished"
    assert queued(user, run_queued, "waap")["state"] == "finished"
    assert sim.counters()["logins"] == 1
    sim.faults(expire_tokens=True)  # the access token is refused from now on: refreshed, not logged in again
    assert queued(user, run_queued, "cloud")["state"] == "finished"
    counters = sim.counters()
    assert (counters["logins"], counters["refreshes"], counters["failed_refreshes"]) == (1, 1, 0), counters
    sim.faults(expire_tokens=True, expire_refresh_tokens=True)  # both refused: log in again
    assert queued(user, run_queued, "cdn")["state"] == "finished"
    counters = sim.counters()
    assert (counters["logins"], counters["refreshes"], counters["failed_refreshes"]) == (2, 1, 1), counters


def test_a_token_near_its_expiry_is_refreshed_before_use(sim, user, run_queued, gcore_settings, app):
    gcore = Gcore(gcore_settings.model_copy(update={"token_refresh_margin_seconds": 4000}))  # an hour's token
    app.config["SERVICE"].reports.sources["gcore"] = gcore_source(gcore)  # is always "about to expire"
    for product in ("cdn", "waap", "cloud"):
        assert queued(user, run_queued, product)["state"] == "finished"
    counters = sim.counters()
    assert counters["logins"] == 1 and counters["failed_refreshes"] == 0 and counters["refreshes"] >= 2, counters


def test_5xx_429_and_timeouts_are_tried_again(sim, user, run_queued):
    sim.faults(fail_next=2, fail_status=503, rate_limit_next=1, retry_after=1, rate_limit_path="/billing/v1/org",
               stall_next_download=1, stall_ms=3000)
    status = queued(user, run_queued, "cdn")
    assert status["state"] == "finished", status
    counters = sim.counters()
    assert (counters["injected_failures"], counters["rate_limited"], counters["stalled_downloads"]) == (2, 1, 1)
    assert csv_rows(user.get(status["download_url"]).text)[1] == expected("cdn")


def test_gcore_down_longer_than_the_budget_is_a_transient_error(sim, user, run_queued):
    sim.faults(fail_next=10, fail_status=502)
    status = queued(user, run_queued, "cdn")  # one attempt per task here (HUB_RETRY_MAX_ATTEMPTS=1)
    assert (status["state"], status["reason_code"]) == ("error", "retries_exhausted"), status
    assert "gcore_unavailable" in status["reason_text"] and "502" in status["reason_text"]


def test_a_failed_gcore_report_fails_the_job_with_gcores_reason(sim, user, run_queued):
    sim.faults(fail_next_report=1)
    status = queued(user, run_queued, "waap")
    assert (status["state"], status["reason_code"]) == ("error", "gcore_report_failed"), status
    assert "Failed" in status["reason_text"] and status["download_url"] is None
    sim.faults(cancel_next_report=1)
    assert queued(user, run_queued, "waap")["reason_code"] == "gcore_report_cancelled"


def test_one_product_failing_in_all_is_reported_beside_the_others(sim, user, run_queued):
    sim.faults(fail_next_report=1, fail_report_product="Cloud")
    status = queued(user, run_queued, "all")
    assert status["state"] == "finished", status
    [error] = status["summary"]["errors"]
    assert error["product"] == "Cloud" and error["reason_code"] == "gcore_report_failed"
    rows = csv_rows(user.get(status["download_url"]).text)[1]
    assert sorted(rows) == sorted(r + [PRODUCTS[p][1]] for p in ("cdn", "waap") for r in expected(p))
    data = user.get(status["download_url"] + "?format=json").json
    assert data["status"] == "partial" and data["errors"] == [error]


def test_every_product_failing_in_all_fails_the_job(sim, user, run_queued):
    sim.faults(fail_next_report=3)
    status = queued(user, run_queued, "all")
    assert (status["state"], status["reason_code"]) == ("error", "gcore_all_failed"), status
    assert all(name in status["reason_text"] for name in ("CDN", "WAAP", "Cloud"))


@pytest.mark.parametrize("credentials", [{"username": LOGIN["username"], "password": "wrong password"}])
def test_wrong_credentials_fail_the_job_without_a_retry(sim, user, run_queued):
    status = queued(user, run_queued, "cdn")
    assert (status["state"], status["reason_code"]) == ("error", "gcore_login_failed"), status
    assert "wrong password" not in str(status) and sim.counters()["failed_logins"] == 1


@pytest.mark.parametrize("credentials", [{"api_key": "1001$demo-api-key"}])
def test_an_api_key_needs_no_login(sim, user, run_queued):
    assert queued(user, run_queued, "cloud")["state"] == "finished"
    assert sim.counters()["logins"] == 0


def test_bad_dates_are_refused_naming_the_field(sim, user):
    for body, field in (({**BODY, "start_date": "2025-13-01"}, "start_date"),
                        ({**BODY, "end_date": "yesterday"}, "end_date"),
                        ({**BODY, "end_date": "2025-08-31"}, "end_date"),
                        ({k: v for k, v in BODY.items() if k != "gcore_user_id"}, "gcore_user_id")):
        answer = user.post_json("/reports/cdn", body)
        assert answer.status_code == 400 and field in answer.json["error"]["fields"], (body, answer.json)
    assert "start_date" in user.post_json("/reports/all", {**BODY, "end_date": "2025-08-31"}).json["error"][
        "fields"]["end_date"]
    assert user.get("/api/reports/").json["reports"] == [] and sim.counters()["requests"] == 0


def test_the_routes_need_a_users_token_but_health_does_not(client):
    assert client.post("/reports/cdn", json=BODY).status_code == 401
    assert client.get("/health").json["status"] == "healthy" and client.get("/").status_code == 200


@pytest.fixture
def background_worker(run_queued):
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            run_queued()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_synchronous_answer_in_each_format(sim, user, app, gcore_settings, background_worker):
    gcore_settings.sync_wait_seconds = 30
    answer = user.client.post("/reports/cdn", json=BODY, headers={**user.headers, "Accept": "text/csv"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv", answer.data[:300]
    assert csv_rows(answer.text)[1] == expected("cdn")
    data = user.post_json("/reports/cdn", BODY).json
    assert data["count"] == len(expected("cdn")) == len(data["data"]) and data["uuid"] and data["errors"] == []
    xlsx = user.client.post("/reports/cdn", json=BODY, headers={**user.headers, "Accept": XLSX})
    assert xlsx.status_code == 200 and xlsx.mimetype == XLSX
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert len(rows) - 1 == data["count"]
    by_field = user.post_json("/reports/cdn", {**BODY, "format": "csv"})
    assert by_field.mimetype == "text/csv"
    raw = user.post_json(f"/reports/gcore/{data['uuid']}?mode=status", {})
    assert raw.status_code == 200 and raw.json["status"] == "Completed" and raw.json["uuid"] == data["uuid"]
    raw = user.post_json(f"/reports/gcore/{data['uuid']}?mode=download", {})
    assert raw.json["uuid"] == data["uuid"] and raw.json["data"]["headers"] == list(COLUMNS)
    assert user.post_json("/reports/gcore/00000000-0000-0000-0000-000000000000", {}).status_code == 404
    assert sim.counters()["logins"] == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_report_longer_than_the_wait_answers_202(sim, user, gcore_settings):
    gcore_settings.sync_wait_seconds = 0.1  # no worker runs: the report stays queued
    answer = user.post_json("/reports/all", BODY)
    assert answer.status_code == 202 and answer.json["status_url"].startswith("/api/report-status/")
