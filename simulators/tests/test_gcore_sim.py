"""The Gcore IAM + billing simulator over real HTTP: tokens, API keys, report features, the report
lifecycle and its three download formats, strict validation, the fault switches and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from xml.etree import ElementTree

import jwt
import pytest
import requests

from hub_runtime.testing.services import serving
from simulators.gcore.app import create_app
from simulators.gcore.data import COLUMNS, FEATURES, UsageReport

DEMO = ("reseller@example.com", "gcore-sim")
OTHER = ("other@example.com", "pw-other-4f1")
OTHER_KEY = "77$other-key"
DEMO_KEY = "1001$demo-api-key"
JOB_SECONDS = 20
CDN_FEATURES = [101, 102, 103]
PARAMS = {"date_from": "2025-09-01", "date_to": "2025-09-30", "features": CDN_FEATURES, "group_by": ["client"]}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Clock:
    """The simulator's clock: real time plus whatever the test moved it forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def server(clock):
    app = create_app(users=dict([OTHER]), api_keys=[(OTHER[0], OTHER_KEY)], seed=7, job_seconds=JOB_SECONDS,
                     clock=clock)
    with serving(app) as url:
        yield url
        requests.delete(f"{url}/_sim/faults", timeout=5)  # ends stalled downloads


@pytest.fixture
def base(server):
    requests.post(f"{server}/_sim/reset", timeout=5).raise_for_status()
    return server


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def login(base: str, user: tuple[str, str] = DEMO) -> dict[str, str]:
    response = requests.post(f"{base}/iam/auth/jwt/login", json={"username": user[0], "password": user[1]}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(pair: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access']}"}


@pytest.fixture
def auth(base) -> dict[str, str]:
    return bearer(login(base))


def set_faults(base: str, **faults) -> dict:
    response = requests.post(f"{base}/_sim/faults", json=faults, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def state(base: str) -> dict:
    return requests.get(f"{base}/_sim/state", timeout=5).json()


def create_report(base: str, headers: dict, **parameters) -> dict:
    response = requests.post(f"{base}/billing/v1/org/files/report", headers=headers, timeout=5,
                             json={"template_code": "ResellerStatistics", "parameters": PARAMS | parameters})
    assert response.status_code == 201, response.text
    return response.json()


def status_of(base: str, headers: dict, task_uuid: str) -> str:
    response = requests.get(f"{base}/billing/v1/org/files/{task_uuid}", headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def finished_report(base: str, clock: Clock, headers: dict, **parameters) -> str:
    task = create_report(base, headers, **parameters)
    clock.advance(JOB_SECONDS)
    assert status_of(base, headers, task["uuid"]) == "Completed"
    return task["uuid"]


def download(base: str, headers: dict, task_uuid: str, accept: str | None = None, **kwargs) -> requests.Response:
    extra = {"Accept": accept} if accept else {}
    return requests.get(f"{base}/billing/v1/org/files/{task_uuid}/download", headers=headers | extra,
                        timeout=kwargs.pop("timeout", 10), **kwargs)


# --- IAM: login and refresh --------------------------------------------------------------------------------------


def test_login_answers_a_jwt_pair_for_an_hour_and_a_day(base, clock):
    before = clock()
    pair = login(base)
    assert set(pair) == {"access", "refresh"}
    access = jwt.decode(pair["access"], options={"verify_signature": False})
    refresh = jwt.decode(pair["refresh"], options={"verify_signature": False})
    assert access["token_type"] == "access" and refresh["token_type"] == "refresh"
    assert int(before) + 3600 <= access["exp"] <= clock() + 3600
    assert int(before) + 86400 <= refresh["exp"] <= clock() + 86400
    assert access["username"] == DEMO[0] and access["rjti"] == refresh["jti"]
    assert state(base)["counters"]["logins"] == 1


@pytest.mark.parametrize(("body", "errors"), [
    ({"username": DEMO[0], "password": "wrong"}, {"errors": ["No active account found with the given credentials."]}),
    ({"username": "nobody@example.com", "password": DEMO[1]},
     {"errors": ["No active account found with the given credentials."]}),
    ({"username": DEMO[0]}, {"password": ["This field is required"]}),
    ({"username": DEMO[0], "password": 12345}, {"password": ["Not a valid string."]}),
    (["not", "an", "object"], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
])
def test_login_refusals_are_400_with_gcore_errors(base, body, errors):
    response = requests.post(f"{base}/iam/auth/jwt/login", json=body, timeout=5)
    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert state(base)["counters"]["failed_logins"] == 1


def test_login_with_broken_json(base):
    response = requests.post(f"{base}/iam/auth/jwt/login", data="{username:", timeout=5,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error - ")


def test_refresh_token_works_once(base):
    pair = login(base)
    response = requests.post(f"{base}/iam/auth/jwt/refresh", json={"refresh": pair["refresh"]}, timeout=5)
    assert response.status_code == 200
    renewed = response.json()
    assert set(renewed) == {"access", "refresh"} and renewed["refresh"] != pair["refresh"]
    assert requests.get(f"{base}/billing/v1/report_features", headers=bearer(renewed), timeout=5).status_code == 200

    again = requests.post(f"{base}/iam/auth/jwt/refresh", json={"refresh": pair["refresh"]}, timeout=5)
    assert again.status_code == 401
    assert again.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}
    counters = state(base)["counters"]
    assert (counters["refreshes"], counters["failed_refreshes"]) == (1, 1)


@pytest.mark.parametrize(("token", "status", "body"), [
    ("access", 401, {"detail": "Token has wrong type", "code": "token_not_valid"}),
    ("garbage", 401, {"detail": "Token is invalid or expired", "code": "token_not_valid"}),
    (None, 400, {"errors": {"refresh": ["This field is required."]}}),
])
def test_refresh_refusals(base, token, status, body):
    pair = login(base)
    payload = {} if token is None else {"refresh": pair.get(token, token)}
    response = requests.post(f"{base}/iam/auth/jwt/refresh", json=payload, timeout=5)
    assert (response.status_code, response.json()) == (status, body)


def test_tokens_expire_by_the_clock(base, clock):
    pair = login(base)
    clock.advance(3600)
    response = requests.get(f"{base}/billing/v1/report_features", headers=bearer(pair), timeout=5)
    assert response.status_code == 401
    assert response.json() == {"detail": "Given token not valid for any token type", "code": "token_not_valid",
                               "messages": [{"token_class": "AccessToken", "token_type": "access",
                                             "message": "Token is invalid or expired"}]}
    renewed = requests.post(f"{base}/iam/auth/jwt/refresh", json={"refresh": pair["refresh"]}, timeout=5).json()
    assert requests.get(f"{base}/billing/v1/report_features", headers=bearer(renewed), timeout=5).status_code == 200
    clock.advance(24 * 3600)
    late = requests.post(f"{base}/iam/auth/jwt/refresh", json={"refresh": renewed["refresh"]}, timeout=5)
    assert late.status_code == 401 and late.json()["detail"] == "Token is invalid or expired"


def test_expire_tokens_fault_refuses_the_next_call(base):
    pair = login(base)
    set_faults(base, expire_tokens=True)
    response = requests.get(f"{base}/billing/v1/report_features", headers=bearer(pair), timeout=5)
    assert response.status_code == 401
    assert response.json()["messages"][0]["message"] == "Token is invalid or expired"
    renewed = requests.post(f"{base}/iam/auth/jwt/refresh", json={"refresh": pair["refresh"]}, timeout=5)
    assert requests.get(f"{base}/billing/v1/report_features", headers=bearer(renewed.json()), timeout=5).ok
    set_faults(base, expire_refresh_tokens=True)
    refused = requests.post(f"{base}/iam/auth/jwt/refresh", json={"refresh": renewed.json()["refresh"]}, timeout=5)
    assert refused.status_code == 401


@pytest.mark.parametrize(("header", "ok", "detail"), [
    (f"APIKey {DEMO_KEY}", True, None),
    (f"apikey {DEMO_KEY}", True, None),
    (f"APIKey {OTHER_KEY}", True, None),
    (f"Bearer {DEMO_KEY}", False, "Given token not valid for any token type"),
    ("APIKey 1001", False, "Bad permanent token: 1001"),
    ("APIKey 1001$wrong", False, "Token is invalid or expired"),
    ("Token abc", False, "Authentication credentials were not provided."),
    (None, False, "Authentication credentials were not provided."),
])
def test_api_keys_and_missing_credentials(base, header, ok, detail):
    headers = {"Authorization": header} if header else {}
    response = requests.get(f"{base}/billing/v1/report_features", headers=headers, timeout=5)
    if ok:
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert response.json()["detail"] == detail
        assert response.headers["WWW-Authenticate"]


# --- report features -----------------------------------------------------------------------------------------------


def test_report_features_are_paginated(base, auth):
    url = f"{base}/billing/v1/report_features"
    first = requests.get(url, headers=auth, timeout=5).json()
    assert first["count"] == len(FEATURES) > 20
    assert len(first["results"]) == 20 and first["previous"] is None
    assert first["next"] == f"{url}?limit=20&offset=20"
    second = requests.get(first["next"], headers=auth, timeout=5).json()
    assert second["next"] is None and second["previous"] == f"{url}?limit=20"
    assert [f["id"] for f in first["results"] + second["results"]] == [f.id for f in FEATURES]
    assert set(first["results"][0]) == {"id", "name_en", "product_id", "product_name_en", "report_statistics_unit_id",
                                        "report_statistics_unit_name_en"}

    page = requests.get(url, params={"limit": 3, "offset": 4, "product_name": "CDN"}, headers=auth, timeout=5).json()
    assert page["count"] == 8 and [f["id"] for f in page["results"]] == [105, 106, 107]
    assert page["next"] == f"{url}?limit=3&offset=7&product_name=CDN"
    assert page["previous"] == f"{url}?limit=3&offset=1&product_name=CDN"
    capped = requests.get(url, params={"limit": 1000}, headers=auth, timeout=5).json()
    assert len(capped["results"]) == len(FEATURES) and capped["next"] is None


@pytest.mark.parametrize(("product", "count"), [("CDN", 8), ("Web Security", 6), ("Cloud", 8), ("Managed DNS", 0)])
def test_report_features_by_product_name(base, auth, product, count):
    page = requests.get(f"{base}/billing/v1/report_features", params={"product_name": product, "limit": 100},
                        headers=auth, timeout=5).json()
    assert page["count"] == count
    assert {f["product_name_en"] for f in page["results"]} <= {product}


def test_report_features_refuse_unknown_product_names(base, auth):
    """WAAP's product is called "Web Security": "WAAP" is not a valid choice."""
    response = requests.get(f"{base}/billing/v1/report_features", params={"product_name": "WAAP"}, headers=auth,
                            timeout=5)
    assert response.status_code == 400
    assert response.json() == {"product_name": ["Select a valid choice. WAAP is not one of the available choices."]}


def test_report_features_v3_is_a_bare_list(base, auth):
    found = requests.get(f"{base}/billing/v3/report_features", params={"product_internal_name": "DDOS"},
                         headers=auth, timeout=5).json()
    assert isinstance(found, list) and {f["product_name_en"] for f in found} == {"Web Security"}


# --- the report lifecycle ----------------------------------------------------------------------------------------


def test_report_goes_pending_in_progress_completed(base, auth, clock):
    task = create_report(base, auth)
    assert set(task) == {"uuid", "created_at", "updated_at", "user_id", "client_id", "task_type", "status",
                         "parameters", "processing_notes"}
    assert (task["status"], task["task_type"], task["parameters"]) == ("Pending", "Report", PARAMS)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", task["created_at"])
    assert download(base, auth, task["uuid"]).json() == {"error": "Report is not ready: status Pending"}
    clock.advance(JOB_SECONDS / 2)
    assert status_of(base, auth, task["uuid"]) == "InProgress"
    clock.advance(JOB_SECONDS / 2)
    assert status_of(base, auth, task["uuid"]) == "Completed"
    listed = requests.get(f"{base}/billing/v1/org/files", params={"uuid": task["uuid"]}, headers=auth, timeout=5)
    assert [t["status"] for t in listed.json()["results"]] == ["Completed"]


def test_download_in_json_csv_and_xlsx(base, auth, clock):
    task_uuid = finished_report(base, clock, auth)
    as_json = download(base, auth, task_uuid, "application/json")
    assert as_json.headers["Content-Type"] == "application/json"
    body = as_json.json()
    assert body["headers"] == list(COLUMNS)
    rows = body["rows"]
    assert len(rows) == 6 * len(CDN_FEATURES)  # every demo client, every feature
    metric = COLUMNS.index("Metric value")
    assert {r[0] for r in rows} == {"200101", "200102", "200103", "200104", "200105", "200106"}
    assert any(r[metric] == "0.0000" for r in rows) and any(r[metric] != "0.0000" for r in rows)
    assert all(re.fullmatch(r"\d+\.\d{4}", r[metric]) for r in rows)

    as_csv = download(base, auth, task_uuid, "text/csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == list(COLUMNS)
    assert table[1:] == [["" if v is None else str(v) for v in row] for row in rows]

    as_xlsx = download(base, auth, task_uuid, XLSX)
    assert as_xlsx.headers["Content-Type"] == XLSX
    cells = xlsx_rows(as_xlsx.content)
    assert cells[0] == list(COLUMNS) and len(cells) == len(rows) + 1
    assert cells[1][0] == rows[0][0] and float(cells[1][metric]) == float(rows[0][metric])

    assert download(base, auth, task_uuid).json()["headers"] == list(COLUMNS)  # no Accept: JSON
    assert download(base, auth, task_uuid, "application/pdf").status_code == 406
    assert download(base, auth, task_uuid, params={"format": "csv"}).text == as_csv.text
    counters = state(base)["counters"]
    assert (counters["downloads_json"], counters["downloads_csv"], counters["downloads_xlsx"]) == (2, 2, 1)


def xlsx_rows(content: bytes) -> list[list[str]]:
    """The first sheet's cell texts, read with the standard library (proves it is a real workbook)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        assert "spreadsheetml.sheet.main+xml" in book.read("[Content_Types].xml").decode()
        assert "Report" in book.read("xl/workbook.xml").decode()
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            shared = ["".join(si.itertext()) for si in
                      ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    table = []
    for row in sheet.iter(f"{{{ns['m']}}}row"):
        values = []
        for cell in row.findall("m:c", ns):
            column = ord(cell.get("r")[0]) - ord("A")
            values.extend([""] * (column - len(values)))
            kind = cell.get("t")
            if kind == "inlineStr":
                values.append("".join(cell.find("m:is", ns).itertext()))
            elif kind == "s":
                values.append(shared[int(cell.find("m:v", ns).text)])
            else:
                values.append(cell.find("m:v", ns).text)
        table.append(values)
    return table


def test_grouping_and_dates_shape_the_rows(base, auth, clock):
    one_day = finished_report(base, clock, auth, date_from="2025-09-01", date_to="2025-09-01", features=[101],
                              group_by=["client", "region"])
    rows = download(base, auth, one_day).json()["rows"]
    assert len(rows) == 6 * 4 and all(r[COLUMNS.index("Region name")] for r in rows)
    month = finished_report(base, clock, auth, date_from="2025-09-01", date_to="2025-09-30", features=[101],
                            group_by=["client", "region"])
    longer = download(base, auth, month).json()["rows"]
    metric = COLUMNS.index("Metric value")
    assert all(float(b[metric]) >= 29 * float(a[metric]) for a, b in zip(rows, longer, strict=True))
    ungrouped = finished_report(base, clock, auth, features=[101], group_by=[])
    assert all(r[0] is None for r in download(base, auth, ungrouped).json()["rows"])


def test_reports_are_private_to_their_client(base, auth, clock):
    task_uuid = finished_report(base, clock, auth)
    other = bearer(login(base, OTHER))
    for path in ("", "/download"):
        response = requests.get(f"{base}/billing/v1/org/files/{task_uuid}{path}", headers=other, timeout=5)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    for unknown in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        assert requests.get(f"{base}/billing/v1/org/files/{unknown}", headers=auth, timeout=5).status_code == 404
    assert requests.delete(f"{base}/billing/v1/org/files/{task_uuid}", headers=other, timeout=5).status_code == 404
    assert requests.delete(f"{base}/billing/v1/org/files/{task_uuid}", headers=auth, timeout=5).status_code == 204
    assert requests.get(f"{base}/billing/v1/org/files/{task_uuid}", headers=auth, timeout=5).status_code == 404


def test_failed_and_cancelled_jobs(base, auth, clock):
    set_faults(base, fail_next_report=1, fail_report_product="Cloud")
    cdn = create_report(base, auth)
    cloud = create_report(base, auth, features=[2362, 13107])
    set_faults(base, cancel_next_report=1)
    cancelled = create_report(base, auth)
    clock.advance(JOB_SECONDS)
    assert status_of(base, auth, cdn["uuid"]) == "Completed"
    failed = requests.get(f"{base}/billing/v1/org/files/{cloud['uuid']}", headers=auth, timeout=5).json()
    assert failed["status"] == "Failed" and failed["processing_notes"].startswith("Failed to render report")
    response = download(base, auth, cloud["uuid"])
    assert response.status_code == 400 and response.json()["error"].startswith("Failed to render report")
    assert status_of(base, auth, cancelled["uuid"]) == "Cancelled"
    assert state(base)["faults"]["fail_next_report"] == 0


@pytest.mark.parametrize(("body", "errors"), [
    ({"parameters": PARAMS}, {"template_code": ["This field is required."]}),
    ({"template_code": "", "parameters": PARAMS}, {"template_code": ["This field may not be blank."]}),
    ({"template_code": "Usage", "parameters": PARAMS}, {"template_code": ["Object with code=Usage does not exist."]}),
    ({"template_code": "ResellerStatistics"}, {"parameters": ["This field is required."]}),
    ({"template_code": "ResellerStatistics", "parameters": []},
     {"parameters": ['Expected a dictionary of items but got type "list".']}),
    ({"template_code": "ResellerStatistics", "parameters": {}},
     {"parameters": {"date_from": ["This field is required."], "date_to": ["This field is required."]}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"date_from": "01.09.2025"}},
     {"parameters": {"date_from": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"date_to": "2025-02-30"}},
     {"parameters": {"date_to": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"date_to": "2025-08-31"}},
     {"parameters": {"non_field_errors": ["date_to must not be earlier than date_from."]}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"features": []}},
     {"parameters": {"features": ["This list may not be empty."]}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"features": "101"}},
     {"parameters": {"features": ['Expected a list of items but got type "str".']}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"features": [101, "x", True]}},
     {"parameters": {"features": {"1": ["A valid integer is required."], "2": ["A valid integer is required."]}}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"features": [101, 99999]}},
     {"parameters": {"features": ['Invalid pk "99999" - object does not exist.']}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"group_by": ["client", "product"]}},
     {"parameters": {"group_by": ['"product" is not a valid choice.']}}),
    ({"template_code": "ResellerStatistics", "parameters": PARAMS | {"groupby": ["client"]}},
     {"parameters": {"groupby": ["Unknown parameter of template ResellerStatistics."]}}),
])
def test_report_requests_are_validated_strictly(base, auth, body, errors):
    response = requests.post(f"{base}/billing/v1/org/files/report", json=body, headers=auth, timeout=5)
    assert (response.status_code, response.json()) == (400, errors)
    assert state(base)["counters"]["reports_created"] == 0


def test_report_request_must_be_json(base, auth):
    url = f"{base}/billing/v1/org/files/report"
    broken = requests.post(url, data="{", headers=auth | {"Content-Type": "application/json"}, timeout=5)
    assert broken.status_code == 400 and broken.json()["detail"].startswith("JSON parse error")
    form = requests.post(url, data={"template_code": "ResellerStatistics"}, headers=auth, timeout=5)
    assert form.status_code == 415


# --- faults and counters -------------------------------------------------------------------------------------------


def test_fail_next_answers_gateway_errors(base, auth):
    set_faults(base, fail_next=2, fail_status=503)
    url = f"{base}/billing/v1/report_features"
    for _ in range(2):
        response = requests.get(url, headers=auth, timeout=5)
        assert response.status_code == 503 and response.headers["Content-Type"].startswith("text/html")
    assert requests.get(url, headers=auth, timeout=5).status_code == 200
    set_faults(base, fail_next=1, fail_path="/billing/v1/org/files")
    assert requests.get(url, headers=auth, timeout=5).status_code == 200  # not on that path
    assert requests.get(f"{base}/billing/v1/org/files", headers=auth, timeout=5).status_code == 503  # kept
    assert state(base)["counters"]["injected_failures"] == 3


def test_rate_limit_answers_429_with_retry_after(base, auth):
    set_faults(base, rate_limit_next=1, retry_after=7)
    response = requests.get(f"{base}/billing/v1/report_features", headers=auth, timeout=5)
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json() == {"detail": "Request was throttled. Expected available in 7 seconds."}
    assert requests.get(f"{base}/billing/v1/report_features", headers=auth, timeout=5).status_code == 200


def test_stalled_download_times_out_until_faults_are_cleared(base, auth, clock):
    task_uuid = finished_report(base, clock, auth)
    set_faults(base, stall_next_download=1, stall_ms=120_000)
    with pytest.raises(requests.exceptions.ReadTimeout):
        download(base, auth, task_uuid, timeout=0.5)
    assert state(base)["counters"]["stalled_downloads"] == 1
    requests.delete(f"{base}/_sim/faults", timeout=5)
    assert download(base, auth, task_uuid).status_code == 200


def test_counters_show_one_login_for_many_reports(base):
    headers = bearer(login(base))
    for _ in range(3):
        create_report(base, headers)
    counters = state(base)["counters"]
    assert (counters["logins"], counters["reports_created"], counters["max_concurrent_logins"]) == (1, 3, 1)
    assert len(state(base)["reports"]) == 3


def test_concurrent_logins_are_counted(base):
    set_faults(base, latency_ms=2500, latency_path="/iam/auth/jwt/login")  # long enough to overlap
    threads = [threading.Thread(target=login, args=(base,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert state(base)["counters"]["max_concurrent_logins"] == 2


def test_fault_settings_are_checked(base):
    for body in ({"nope": 1}, {"fail_status": 404}, {"fail_report_product": "WAAP"}, {"latency_path": "iam"},
                 {"speed": 0}, {"expire_tokens": "yes"}):
        response = requests.post(f"{base}/_sim/faults", json=body, timeout=5)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_faults"
    assert set_faults(base, speed=4)["speed"] == 4
    assert requests.post(f"{base}/_sim/reset", timeout=5).ok and state(base)["faults"]["speed"] == 1


def test_routing_errors_are_drf_answers(base, auth):
    assert requests.get(f"{base}/billing/v1/nope", headers=auth, timeout=5).json() == {"detail": "Not found."}
    response = requests.get(f"{base}/iam/auth/jwt/login", timeout=5)
    assert (response.status_code, response.json()) == (405, {"detail": 'Method "GET" not allowed.'})


# --- demo data -----------------------------------------------------------------------------------------------------


def test_usage_is_reproducible_and_large_reports_stream():
    def report(seed: int, min_rows: int = 0) -> UsageReport:
        return UsageReport(seed, (101, 2372), ("client", "resource"), dt.date(2025, 9, 1), dt.date(2025, 9, 30),
                           min_rows)

    assert list(report(1).rows()) == list(report(1).rows())
    assert list(report(1).rows()) != list(report(2).rows())
    assert sum(1 for _ in report(1, min_rows=50_000).rows()) == 50_000

    app = create_app(rows_per_report=3000, job_seconds=0.001)
    client = app.test_client()
    access = client.post("/iam/auth/jwt/login", json=dict(zip(("username", "password"), DEMO, strict=True))).json
    headers = {"Authorization": f"Bearer {access['access']}"}
    task = client.post("/billing/v1/org/files/report", headers=headers,
                       json={"template_code": "ResellerStatistics", "parameters": PARAMS}).json
    deadline = time.monotonic() + 30
    while client.get(f"/billing/v1/org/files/{task['uuid']}", headers=headers).json["status"] != "Completed":
        assert time.monotonic() < deadline, "the job never completed"
    response = client.get(f"/billing/v1/org/files/{task['uuid']}/download", headers=headers | {"Accept": "text/csv"})
    assert response.is_streamed
    assert len(response.get_data(as_text=True).splitlines()) == 3001


# --- the command line ----------------------------------------------------------------------------------------------


def test_cli_serves_until_sigterm(tmp_path):
    log_file = tmp_path / "gcore-sim.log"
    with log_file.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulators.gcore.cli", "--port", "0", "--speed", "100", "--job-seconds", "1",
             "--user", "ops@example.com:pw-ops", "--api-key", "ops@example.com:42$ops-key"],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    try:
        ready = proc.stdout.readline()
        match = re.fullmatch(r"gcore-sim listening on (http://127\.0\.0\.1:\d+)\n", ready)
        assert match, f"unexpected first line {ready!r}; log: {log_file.read_text()}"
        base = match.group(1)
        headers = {"Authorization": "APIKey 42$ops-key"}
        task = create_report(base, headers)
        deadline = time.monotonic() + 30
        while status_of(base, headers, task["uuid"]) != "Completed":
            assert time.monotonic() < deadline, "the job never completed"
        assert download(base, headers, task["uuid"], "text/csv").text.startswith("Client ID,Company name,")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.strip() == "gcore-sim stopped"
    log = log_file.read_text()
    assert "POST /billing/v1/org/files/report 201" in log and "ops-key" not in log


@pytest.mark.parametrize("args", [["--api-key", "nobody@example.com:1$x"], ["--api-key", f"{DEMO[0]}:no-dollar"],
                                  ["--speed", "0"], ["--user", "nopassword"]])
def test_cli_refuses_bad_arguments(args):
    done = subprocess.run([sys.executable, "-m", "simulators.gcore.cli", *args], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 2, done.stderr
