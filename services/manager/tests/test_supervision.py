"""The manager over real processes: activation starts instances, deaths are noticed and restarted,
a crash loop ends `failed` without touching other integrations, a manager restart never doubles an
instance, and credentials never leak."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
RUN = uuid.uuid4().hex[:6]  # in integration names, so parallel runs on one machine never see each other
PASSWORD = "S3cret-cred-4d9a"


def wait_until(predicate, timeout, describe=lambda: "condition not met"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(describe())


def create(manager, name, erp_url, active=False, adapter="http"):
    answer = manager.call("POST", "/integrations", json={
        "kind": "erp", "name": name, "active": active,
        "settings": {"adapter": adapter, "base_url": erp_url},
        "credentials": {"username": "admin", "password": PASSWORD}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def health(manager, integration_id):
    return manager.call("GET", f"/integrations/{integration_id}").json()["health"]


def serving(manager, integration_id):
    h = health(manager, integration_id)
    return h["state"] == "running" and h["api_alive"] and h["worker_state"] == "running"


def pids_where(matches) -> list[int]:
    """Pids of the processes whose argv `matches(argv)`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = [p.decode() for p in cmdline.read_bytes().split(b"\0") if p]
        except OSError:
            continue
        if matches(argv):
            found.append(int(cmdline.parent.name))
    return found


def processes_running(argv_tail: list[str]) -> list[int]:
    """Pids of our venv's console script with these arguments, e.g. ["erp-worker", "Bennys Auto 1a2b3c"]."""
    return pids_where(lambda argv: argv[-len(argv_tail):] == [str(BIN / argv_tail[0]), *argv_tail[1:]])


def test_activating_starts_the_api_and_worker_which_take_orders(manager, demo_erp):
    created = create(manager, f"Bennys Auto {RUN}", demo_erp)
    iid = created["id"]
    assert health(manager, iid)["state"] == "stopped"
    assert manager.call("PUT", f"/integrations/{iid}/activate").status_code == 200
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))
    order = {"workshop": f"Bennys Auto {RUN}", "worksheet": "558", "product_nr": "10", "product_amount": "5",
             "uniqueid": "mgr-1", "username": "admin", "password": "gygag"}
    api = f"http://127.0.0.1:{created['api_port']}"
    auth = {"Authorization": f"Bearer {created['api_token']}"}
    assert requests.post(api + "/create", json=order, headers=auth, timeout=10).status_code == 200
    wait_until(lambda: requests.get(api + "/get_order_status?uniqueid=mgr-1", headers=auth,
                                    timeout=5).json()["status"] == "created", 30)
    manager.call("PUT", f"/integrations/{iid}/deactivate")
    wait_until(lambda: health(manager, iid)["state"] == "stopped", 15)
    assert processes_running(["erp-worker", f"Bennys Auto {RUN}"]) == []


def test_kill_9_of_a_worker_is_noticed_and_it_is_restarted(manager, demo_erp):
    iid = create(manager, f"Kill Garage {RUN}", demo_erp, active=True)["id"]
    wait_until(lambda: serving(manager, iid), 30)
    pid = health(manager, iid)["processes"]["worker"]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: serving(manager, iid) and health(manager, iid)["processes"]["worker"]["pid"] != pid, 15,
               lambda: health(manager, iid))
    h = health(manager, iid)
    assert h["restarts"] == 1 and "signal 9" in h["processes"]["worker"]["last_error"]
    events = [e["event"] for e in manager.call("GET", f"/integrations/{iid}").json()["history"]]
    assert "worker_died" in events


def test_a_crash_looping_integration_ends_failed_while_others_keep_serving(manager, demo_erp):
    good = create(manager, f"Good Garage {RUN}", demo_erp, active=True)["id"]
    answer = manager.call("POST", "/integrations", json={  # the test kind's worker exits at start when told to
        "kind": "echo", "name": f"Bad Echo {RUN}", "active": True, "settings": {"crash_at_start": True}})
    assert answer.status_code == 201, answer.text
    bad = answer.json()["id"]
    wait_until(lambda: health(manager, bad)["state"] == "failed", 40, lambda: health(manager, bad))
    h = health(manager, bad)
    assert h["processes"]["worker"]["state"] == "failed" and h["processes"]["api"]["state"] == "running"
    assert "exit code" in h["last_error"]
    wait_until(lambda: serving(manager, good), 30, lambda: health(manager, good))
    assert health(manager, good)["restarts"] == 0
    listing = manager.call("GET", "/integrations").json()["integrations"]
    assert {i["id"]: i["state"] for i in listing} == {good: "running", bad: "failed"}
    # fixed configuration: the operator starts it again
    fixed = manager.call("PATCH", f"/integrations/{bad}", json={"settings": {"crash_at_start": False}})
    assert fixed.status_code == 200
    wait_until(lambda: serving(manager, bad), 30, lambda: health(manager, bad))


def test_stored_settings_that_no_longer_fit_the_kind_are_refused_before_anything_starts(manager, demo_erp, tmp_path):
    iid = create(manager, f"Stale Garage {RUN}", demo_erp)["id"]
    # its ERP adapter was uninstalled since it was configured (the manager refuses that name when it is given)
    with sqlite3.connect(tmp_path / "var" / "manager.db") as db:
        settings = json.loads(db.execute("SELECT settings FROM integrations WHERE id = ?", (iid,)).fetchone()[0])
        db.execute("UPDATE integrations SET settings = ? WHERE id = ?",
                   (json.dumps({**settings, "adapter": "selenium-uninstalled"}), iid))
    answer = manager.call("PUT", f"/integrations/{iid}/activate")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "stored_settings_invalid"
    assert "not an installed ERP adapter" in answer.json()["error"]["fields"]["settings.adapter"]
    detail = manager.call("GET", f"/integrations/{iid}").json()
    assert detail["active"] is False and detail["health"]["state"] == "stopped"
    assert manager.call("PATCH", f"/integrations/{iid}", json={"settings": {"adapter": "http"}}).status_code == 200
    assert manager.call("PUT", f"/integrations/{iid}/activate").status_code == 200
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))


def test_a_manager_restart_starts_active_integrations_again_without_duplicates(make_manager, demo_erp):
    first = make_manager()
    a = create(first, f"Alpha Auto {RUN}", demo_erp, active=True)["id"]
    b = create(first, f"Beta Auto {RUN}", demo_erp, active=False)["id"]
    wait_until(lambda: serving(first, a), 30)
    first.process.kill9()  # the manager dies; its instances live on in their own sessions
    assert len(processes_running(["erp-worker", f"Alpha Auto {RUN}"])) == 1
    second = make_manager(first.port)
    try:
        wait_until(lambda: serving(second, a), 30, lambda: health(second, a))
        assert health(second, b)["state"] == "stopped"
        assert len(processes_running(["erp-worker", f"Alpha Auto {RUN}"])) == 1
        assert processes_running(["erp-worker", f"Beta Auto {RUN}"]) == []
    finally:
        second.process.stop(30)
    assert processes_running(["erp-worker", f"Alpha Auto {RUN}"]) == []  # a graceful stop stops the instances


def test_credentials_and_tokens_never_appear_in_responses_or_logs(manager, demo_erp, tmp_path, manager_token):
    created = create(manager, f"Secret Garage {RUN}", demo_erp, active=True)
    iid, token = created["id"], created["api_token"]
    wait_until(lambda: serving(manager, iid), 30)
    seen = [manager.call("GET", "/integrations").text, manager.call("GET", f"/integrations/{iid}").text,
            manager.call("GET", f"/integrations/{iid}/logs?role=api").text,
            manager.call("GET", f"/integrations/{iid}/logs?role=worker").text,
            manager.call("GET", "/queue").text, manager.call("GET", f"/integrations/{iid}/queue").text,
            manager.call("PATCH", f"/integrations/{iid}", json={"credentials": {"username": "admin",
                                                                                "password": PASSWORD}}).text]
    for text in seen:
        assert PASSWORD not in text and token not in text and manager_token not in text
    wait_until(lambda: serving(manager, iid), 30)
    logs = [p for p in tmp_path.rglob("*.log*")]
    assert logs
    for path in logs:
        content = path.read_text(errors="replace")
        assert PASSWORD not in content and token not in content and manager_token not in content, path


def test_a_rules_integration_runs_report_api_and_worker(manager):
    name = f"Reports {RUN}"
    answer = manager.call("POST", "/integrations", json={"kind": "rules", "name": name, "active": True,
                                                         "settings": {"max_upload_bytes": 10 * 2**20}})
    assert answer.status_code == 201, answer.text
    iid = answer.json()["id"]
    assert iid.startswith("rules-")
    wait_until(lambda: serving(manager, iid), 45, lambda: health(manager, iid))
    api = f"http://127.0.0.1:{answer.json()['api_port']}"
    registered = requests.post(api + "/api/auth/register/", json={"email": "m@example.com", "name": "M",
                                                                  "password": "long enough pw"}, timeout=10)
    assert registered.status_code == 201
    manager.call("PUT", f"/integrations/{iid}/deactivate")
    wait_until(lambda: health(manager, iid)["state"] == "stopped", 15)
    assert processes_running(["report-worker", name]) == []
    bad = manager.call("POST", "/integrations", json={"kind": "rules", "name": "X", "settings": {"adapter": "http"}})
    assert bad.status_code == 400


def test_kill_9_of_an_api_master_restarts_it_once_with_its_orphans_gone(manager, demo_erp):
    iid = create(manager, f"Master Garage {RUN}", demo_erp, active=True)["id"]
    wait_until(lambda: serving(manager, iid), 30)
    master = health(manager, iid)["processes"]["api"]["pid"]
    workers = _children(master)
    assert workers, "the API's gunicorn master has no worker"
    os.kill(master, signal.SIGKILL)
    def new_api_bound():  # gunicorn forks its worker only once it holds the port
        pid = health(manager, iid)["processes"]["api"]["pid"]
        return pid not in (None, master) and _children(pid) and serving(manager, iid)

    wait_until(new_api_bound, 30, lambda: health(manager, iid))
    assert [pid for pid in workers if _stat(Path(f"/proc/{pid}/stat"))[0] not in ("", "Z")] == []
    h = health(manager, iid)
    # the new API bound the port at its first start: one death (the kill), no failed start on EADDRINUSE
    assert h["restarts"] == 1 and "signal 9" in h["processes"]["api"]["last_error"], h
    events = [e["event"] for e in manager.call("GET", f"/integrations/{iid}").json()["history"]]
    assert events.count("api_died") == 1, events


def _children(pid: int) -> list[int]:
    return [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _stat(stat)[1] == pid]


def _stat(stat: Path) -> tuple[str, int]:
    """(state, parent pid) of a process from its /proc/PID/stat; ("", 0) once it is gone."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "", 0
    return fields[0], int(fields[1])
