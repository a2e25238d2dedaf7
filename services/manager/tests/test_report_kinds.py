"""The gcore and carbonaltdelete kinds under the manager, over real processes: each report instance gets its
upstream credentials from the manager only, and serves a report from its simulator."""

from __future__ import annotations

import uuid

import pytest
import requests
from test_kinds_and_credentials import pids_of, process_environment
from test_supervision import health, serving, wait_until

from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import free_port

pytestmark = pytest.mark.e2e
RUN = uuid.uuid4().hex[:6]
USER = {"email": "reports@example.com", "name": "Reports", "password": "long enough pw"}


@pytest.fixture
def simulator(tmp_path):
    started = []

    def start(program: str, *args: str) -> str:
        port = free_port()
        process = ServiceProcess(program, [program, "--port", str(port), *args], {}, tmp_path).start()
        started.append(process)
        process.wait_http(f"http://127.0.0.1:{port}/health")
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.stop()


def report_instance(manager, kind: str, name: str, settings: dict, credentials: dict) -> tuple[str, str, dict]:
    """Create and start the instance; (its id, its API URL, a report user's auth header)."""
    answer = manager.call("POST", "/integrations", json={"kind": kind, "name": name, "active": True,
                                                         "settings": settings, "credentials": credentials})
    assert answer.status_code == 201, answer.text
    iid, api = answer.json()["id"], f"http://127.0.0.1:{answer.json()['api_port']}"
    wait_until(lambda: serving(manager, iid), 45, lambda: health(manager, iid))
    assert requests.post(api + "/api/auth/register/", json=USER, timeout=10).status_code == 201
    login = requests.post(api + "/api/auth/login/", json={k: USER[k] for k in ("email", "password")}, timeout=10)
    return iid, api, {"Authorization": f"Bearer {login.json()['access']}"}


def test_a_gcore_instance_serves_all_products_with_the_stored_login(manager, simulator):
    password = f"pw-{uuid.uuid4().hex}"  # in no name, path or id
    gcore = simulator("gcore-sim", "--job-seconds", "1", "--user", f"ops@example.com:{password}")
    name = f"Gcore {RUN}"
    iid, api, auth = report_instance(manager, "gcore", name, {"api_url": gcore, "poll_interval_seconds": 0.2},
                                     {"username": "ops@example.com", "password": password})
    assert iid.startswith("gcore-")
    answer = requests.post(api + "/reports/all", headers={**auth, "Accept": "application/json"}, timeout=90,
                           json={"gcore_user_id": "200101", "start_date": "2026-11-01", "end_date": "2026-11-07"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == len(body["data"]) > 0 and not body.get("errors")
    assert len({row["Product"] for row in body["data"]}) == 3  # rows of each product
    assert all(row["Client ID"] == "200101" and row["Metric value"] != 0 for row in body["data"])
    counters = requests.get(gcore + "/_sim/state", timeout=10).json()["counters"]
    assert counters["logins"] == 1  # one login for the three products
    for process in ("report-api", "report-worker"):
        assert pids_of(process, name)
        for pid in pids_of(process, name):
            assert password.encode() not in process_environment(pid)
    manager.call("PUT", f"/integrations/{iid}/deactivate")


def test_a_carbonaltdelete_instance_downloads_an_inventory(manager, simulator):
    cad = simulator("carbonaltdelete-sim", "--speed", "60")
    iid, api, auth = report_instance(manager, "carbonaltdelete", f"Inventory {RUN}",
                                     {"api_url": cad, "poll_seconds": 0.2},
                                     {"email": "demo@carbonaltdelete.test", "password": "demo-password"})
    started = requests.post(api + "/api/sources/carbonaltdelete/reports/", headers=auth, timeout=10,
                            json={"company_name": "Demo Company", "period": "2024"})
    assert started.status_code == 202, started.text
    status_url = f"{api}/api/sources/carbonaltdelete/reports/{started.json()['task_id']}/"

    def status():
        return requests.get(status_url, headers=auth, timeout=10).json()

    wait_until(lambda: status()["state"] in ("finished", "error"), 60, status)
    assert status()["state"] == "finished", status()
    file = requests.get(status_url + "file", headers=auth, timeout=30)
    assert file.status_code == 200 and file.content[:2] == b"PK"  # an XLSX (a zip)
    manager.call("PUT", f"/integrations/{iid}/deactivate")
