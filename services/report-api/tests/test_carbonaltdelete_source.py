"""The carbonaltdelete source against the CarbonAltDelete simulator over real HTTP (its S3 endpoint too):
jobs queued through the API and run by the real Worker (`run_queued`), and the client alone for what is
easier to stage step by step (tokens expiring mid-flow, a presigned URL expiring before its use)."""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
import zipfile
from collections.abc import Callable

import boto3
import pytest
import requests
from botocore.config import Config

from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.testing.services import serving
from report_api.app import create_app
from report_api.settings import ReportSettings
from report_api.sources.carbonaltdelete.client import CarbonAltDeleteClient
from report_api.sources.carbonaltdelete.kind import KIND, CarbonAltDeleteCredentials, CarbonAltDeleteSettings
from simulators.carbonaltdelete.app import close_app
from simulators.carbonaltdelete.app import create_app as create_sim
from simulators.carbonaltdelete.data import DEMO_API_KEY, DEMO_API_SECRET, DEMO_EMAIL, DEMO_PASSWORD

SOURCE = "carbonaltdelete"
BASE = f"/api/sources/{SOURCE}/reports/"
JOB_MS = 400  # a report job's length in the simulator
API_KEY = {"api_key": DEMO_API_KEY, "api_secret": DEMO_API_SECRET}
PASSWORD = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}


class Sim:
    def __init__(self, url: str):
        self.url = url

    def faults(self, **settings) -> None:
        assert requests.post(f"{self.url}/_sim/faults", json=settings, timeout=10).status_code == 200

    def state(self) -> dict:
        return requests.get(f"{self.url}/_sim/state", timeout=10).json()


@pytest.fixture(scope="module")
def sim_server():
    app = create_sim(job_duration_ms=JOB_MS)
    with serving(app) as url:
        yield Sim(url)
    close_app(app)


@pytest.fixture
def sim(sim_server, monkeypatch) -> Sim:
    assert requests.post(f"{sim_server.url}/_sim/reset", timeout=30).status_code == 200
    sim_server.faults(job_duration_ms=JOB_MS)
    for name, value in fast_settings(sim_server.url).items():
        monkeypatch.setenv(KIND.env_name(name), str(value))
    return sim_server


def fast_settings(url: str) -> dict:
    return {"api_url": url, "timeout_seconds": 10, "retry_attempts": 3, "retry_base_seconds": 0.05,
            "poll_seconds": 0.05, "poll_max_seconds": 0.2, "report_timeout_seconds": 60}


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    """SQLite unless a test asks for PostgreSQL too (indirect parametrization)."""
    if request.param == "postgres":
        return request.getfixturevalue("fresh_postgres_url")
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def credentials():
    return API_KEY


@pytest.fixture
def settings(database_url, tmp_path, api_token, credentials):
    return ReportSettings(database_url=database_url, data_dir=tmp_path / "data", api_token=api_token,
                          heartbeat_seconds=0.2, retry_max_attempts=2, retry_base_seconds=0.05,
                          report_sources=SOURCE, credentials=credentials, _env_file=None)


@pytest.fixture
def app(settings, sim):
    app = create_app(settings, "Inventory downloads")
    app.testing = True
    yield app
    app.config["SERVICE"].runtime.close()


def client_for(sim: Sim, credentials: dict = API_KEY, **overrides) -> CarbonAltDeleteClient:
    settings = CarbonAltDeleteSettings.model_validate(fast_settings(sim.url) | overrides)
    return CarbonAltDeleteClient(settings, CarbonAltDeleteCredentials.model_validate(credentials))


def company_ids(sim: Sim) -> dict[str, str]:
    with client_for(sim) as client:
        client.login()
        return {c.name: c.id for c in client.companies()}


def download(user, run_queued, params: dict) -> dict:
    """Queue a download, run it with the real worker, and return its status from our own route."""
    answer = user.post_json(BASE, params)
    assert answer.status_code == 202, answer.json
    assert run_queued() == 1
    status = user.get(f"{BASE}{answer.json['task_id']}/")
    assert status.status_code == 200, status.json
    return status.json


def assert_xlsx(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        names = book.namelist()
        assert "xl/workbook.xml" in names and any(n.startswith("xl/worksheets/sheet") for n in names), names
        assert b"Emissions" in book.read("xl/sharedStrings.xml")


# --- through the API and the worker ------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_an_inventory_is_downloaded_by_api_key_into_a_company_by_name(user, run_queued, sim):
    status = download(user, run_queued, {"company_name": "Nordic Workshops A/S"})
    assert status["state"] == "finished", status
    assert status["step"].startswith("stored"), status
    steps = [h["detail"].split(" ")[1] for h in status["history"] if (h["detail"] or "").startswith("step: ")]
    assert steps == ["authenticating", "switching_company", "creating_report", "waiting", "downloading", "stored"]
    meta = status["inventory"]
    assert (meta["company_name"], meta["period"], meta["report_type"], meta["file_type"]) == (
        "Nordic Workshops A/S", "2024", "DATA_DUMP", "XLSX")
    assert meta["company_id"] == company_ids(sim)["Nordic Workshops A/S"] and uuid.UUID(meta["report_id"])
    file = user.get(status["file_url"])
    assert file.status_code == 200 and file.mimetype.endswith("spreadsheetml.sheet")
    assert "Nordic_Workshops_A_S-2024-DATA_DUMP.xlsx" in file.headers["Content-Disposition"]
    assert_xlsx(file.data)
    assert len(file.data) == meta["size"] and hashlib.sha256(file.data).hexdigest() == meta["sha256"]
    assert user.get(status["download_url"]).data == file.data  # the generic report routes serve it too
    listed = user.get(BASE).json["downloads"]
    assert [(d["task_id"], d["inventory"]["sha256"]) for d in listed] == [(status["task_id"], meta["sha256"])]


@pytest.mark.parametrize("credentials", [PASSWORD])
def test_a_password_login_switches_by_company_id_and_takes_a_named_period(user, run_queued, sim):
    demo = company_ids(sim)["Demo Company"]
    status = download(user, run_queued, {"company_id": demo, "period": "2023", "name": "Yearly inventory"})
    assert status["state"] == "finished", status
    meta = status["inventory"]
    assert (meta["company_id"], meta["company_name"], meta["period"], meta["report_name"]) == (
        demo, "Demo Company", "2023", "Yearly inventory")
    assert_xlsx(user.get(status["file_url"]).data)
    assert sim.state()["counters"]["switches"] == 1


@pytest.mark.parametrize("credentials", [{"email": DEMO_EMAIL, "password": "wrong-password"}])
def test_wrong_credentials_fail_the_job_at_once_without_showing_them(user, run_queued, sim):
    status = download(user, run_queued, {})
    assert (status["state"], status["reason_code"], status["step"]) == ("error", "login_failed", "authenticating "
                                                                        "(email and password)")
    assert "Incorrect username or password" in status["reason_text"] and "wrong-password" not in str(status)
    assert status["file_url"] is None and user.get(f"{BASE}{status['task_id']}/file").status_code == 409


def test_a_missing_company_or_period_is_named_with_the_known_ones(user, run_queued, sim):
    status = download(user, run_queued, {"company_name": "Nowhere Ltd"})
    assert (status["state"], status["reason_code"]) == ("error", "company_not_found")
    assert status["reason_text"].startswith("no company named 'Nowhere Ltd' (known: ")
    assert "'Nordic Workshops A/S'" in status["reason_text"]
    status = download(user, run_queued, {"company_name": "Demo Company", "period": "1999"})
    assert (status["state"], status["reason_code"]) == ("error", "period_not_found")
    assert status["reason_text"] == "no reporting period named '1999' in 'Demo Company' (known: '2022', '2023', '2024')"


def test_a_failed_report_ends_the_job_with_a_clear_error(user, run_queued, sim):
    sim.faults(fail_next_report=1)
    status = download(user, run_queued, {})
    assert (status["state"], status["reason_code"], status["step"].split(" ")[0]) == ("error", "report_failed",
                                                                                     "waiting")
    assert "reportFileStatus FAILED" in status["reason_text"]


def test_upstream_5xx_is_retried(user, run_queued, sim):
    sim.faults(fail_next=2, fail_status=503)
    status = download(user, run_queued, {"company_name": "Demo Company"})
    assert status["state"] == "finished", status
    assert sim.state()["faults"]["fail_next"] == 0


def test_an_upstream_down_for_longer_than_the_budget_is_transient(sim):
    sim.faults(fail_next=10, fail_status=500)
    with client_for(sim, retry_attempts=2) as client, pytest.raises(TransientError) as failed:
        client.login()
    assert failed.value.reason_code == "upstream_unavailable" and "after 2 tries" in failed.value.reason_text


def test_the_api_refuses_bad_parameters_and_schedules_downloads(user, sim):
    both = user.post_json(BASE, {"company_id": str(uuid.uuid4()), "company_name": "x"})
    assert both.status_code == 400
    assert user.post_json(BASE, {"file_type": "CSV"}).status_code == 400
    answer = user.post_json(f"/api/sources/{SOURCE}/schedules/", {"cron": "0 6 1 * *", "name": "monthly",
                                                                  "params": {"company_name": "Demo Company"}})
    assert answer.status_code == 201, answer.json
    assert answer.json["params"]["company_name"] == "Demo Company" and answer.json["source"] == SOURCE


@pytest.mark.parametrize("credentials", [None])
def test_without_stored_credentials_nothing_is_queued(user, sim):
    answer = user.post_json(BASE, {})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "not_configured", answer.json
    assert "no carbonaltdelete credentials are stored" in answer.json["error"]["message"]
    assert "api_key, api_secret, email, password" in answer.json["error"]["message"]


def test_an_inventory_is_copied_to_s3_when_a_bucket_is_configured(user, run_queued, sim, monkeypatch):
    endpoint = sim.state()["s3"]["endpoint"]
    for name, value in {"AWS_ACCESS_KEY_ID": "hub-test", "AWS_SECRET_ACCESS_KEY": "hub-test-secret"}.items():
        monkeypatch.setenv(name, value)
    bucket = f"hub-inventories-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-central-1",
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    for name, value in {"s3_bucket": bucket, "s3_endpoint_url": endpoint,
                        "s3_region": "eu-central-1"}.items():
        monkeypatch.setenv(KIND.env_name(name), value)
    status = download(user, run_queued, {"company_name": "Demo Company"})
    assert status["state"] == "finished", status
    meta = status["inventory"]
    assert meta["s3"]["bucket"] == bucket
    assert meta["s3"]["key"].startswith(f"carbonaltdelete/{meta['company_id']}/2024/")
    stored = s3.get_object(Bucket=bucket, Key=meta["s3"]["key"])
    body = stored["Body"].read()
    assert hashlib.sha256(body).hexdigest() == meta["sha256"] and stored["Metadata"]["report-id"] == meta["report_id"]
    assert_xlsx(body)


# --- the client alone ----------------------------------------------------------------------------------------


def wait_until(condition: Callable[[], object], what: str, timeout: float = 15) -> None:
    event = threading.Event()
    while not condition():
        if event.wait(0.05) or timeout <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        timeout -= 0.05


def test_tokens_expiring_mid_flow_are_renewed_in_the_switched_company(sim):
    with client_for(sim, credentials=PASSWORD) as client:
        client.login()
        nordic = client.switch_company(company_name="nordic workshops a/s")
        sim.faults(expire_tokens=True)  # the access token is refused from now on: refresh (the switch's)
        assert client.period(None).name == "2024"
        assert client.current_company_id() == nordic.id
        sim.faults(expire_tokens=True, expire_refresh_tokens=True)  # both refused: log in and switch again
        unit = client.root_unit()
        assert unit.name == "Nordic Workshops A/S" and client.current_company_id() == nordic.id
        counters = sim.state()["counters"]
        assert (counters["logins"], counters["refreshes"], counters["switches"]) == (2, 1, 2)


def test_an_expired_presigned_url_is_replaced_by_a_new_one(sim, tmp_path):
    with client_for(sim) as client:
        client.login()
        report_id = client.create_report("inventory", client.period(None), client.root_unit(), "DATA_DUMP")
        client.wait_for_files(report_id)
        sim.faults(url_ttl_s=1)
        issue = client.presigned_url
        urls = []

        def late_url(*args):  # the first URL is used only once it has expired (as after a slow queue)
            url = issue(*args)
            urls.append(url)
            if len(urls) == 1:
                wait_until(lambda: requests.get(url, timeout=10).status_code == 403, "the URL to expire")
                sim.faults(url_ttl_s=300)
            return url

        client.presigned_url = late_url
        done = client.download(report_id, "DATA_DUMP", "XLSX", tmp_path / "inventory.xlsx")
    assert done.url_fetches == 2 and len(urls) == 2
    content = (tmp_path / "inventory.xlsx").read_bytes()
    assert_xlsx(content) and len(content) == done.size


def test_a_file_the_report_does_not_have_is_a_permanent_error(sim, tmp_path):
    with client_for(sim) as client:
        client.login()
        report_id = client.create_report("inventory", client.period(None), client.root_unit(), "DATA_DUMP")
        client.wait_for_files(report_id)
        with pytest.raises(PermanentError) as missing:
            client.download(report_id, "DATA_DUMP", "PDF", tmp_path / "inventory.pdf")
    assert missing.value.reason_code == "file_not_found" and "NoSuchKey" in missing.value.reason_text


def test_credentials_take_exactly_one_form():
    assert CarbonAltDeleteCredentials.model_validate(API_KEY).uses_api_key
    assert not CarbonAltDeleteCredentials.model_validate(PASSWORD).uses_api_key
    for bad in ({}, API_KEY | PASSWORD, {"api_key": DEMO_API_KEY}, {"email": DEMO_EMAIL, "api_secret": "x"}):
        with pytest.raises(ValueError, match="exactly one") as refused:
            CarbonAltDeleteCredentials.model_validate(bad)
        assert DEMO_API_SECRET not in str(refused.value) and DEMO_PASSWORD not in str(refused.value)
    assert KIND.environment({})["HUB_REPORT_SOURCES"] == SOURCE
