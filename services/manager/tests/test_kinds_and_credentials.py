"""Kinds are plugins, and the integration's stored credentials reach only its instance: over real processes
(the manager, the instances it starts, a demo ERP), with the `echo` kind that exists only in the tests
(tests/echo-kind), which the manager runs without knowing it."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
import requests
from test_supervision import health, pids_where, serving, wait_until

from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import free_port
from manager.hubctl import main as hubctl

pytestmark = pytest.mark.e2e
RUN = uuid.uuid4().hex[:6]
STORED_PASSWORD = f"Stored-{uuid.uuid4().hex[:10]}"  # the ERP login kept only in the manager
ECHO_SECRET = f"echo-{uuid.uuid4().hex[:10]}"


def pids_of(program: str, name: str) -> list[int]:
    """The processes of an instance: its console script (and gunicorn's forked workers) with `name` as argument."""
    return pids_where(lambda argv: name in argv and any(Path(arg).name == program for arg in argv[:2]))


def process_environment(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes() + Path(f"/proc/{pid}/cmdline").read_bytes()


def test_get_kinds_lists_the_installed_kinds_with_their_schemas(manager):
    kinds = {k["name"]: k for k in manager.call("GET", "/kinds").json()["kinds"]}
    assert {"erp", "rules", "echo"} <= set(kinds)
    erp = kinds["erp"]
    assert erp["programs"] == ["erp-api", "erp-worker"] and erp["runnable"] is True
    assert erp["settings_schema"]["required"] == ["base_url"]
    assert erp["settings_schema"]["properties"]["timeout_seconds"]["default"] == 10.0
    assert erp["environment"]["adapter"] == "HUB_ERP_ADAPTER" and erp["environment"]["api_workers"] == "HUB_API_WORKERS"
    assert set(erp["credentials_schema"]["required"]) == {"username", "password"}
    assert kinds["rules"]["credentials_schema"] is None
    assert set(kinds["echo"]["settings_schema"]["properties"]) == {"api_workers", "greeting", "crash_at_start",
                                                                   "crash_on"}


def test_a_kind_from_a_test_package_is_created_started_probed_and_stopped(manager):
    name = f"Echo {RUN}"
    answer = manager.call("POST", "/integrations", json={"kind": "echo", "name": name, "active": True,
                                                         "settings": {"greeting": "hi"},
                                                         "credentials": {"secret": ECHO_SECRET}})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    iid, api = created["id"], f"http://127.0.0.1:{created['api_port']}"
    assert iid == f"echo-echo-{RUN}" and created["has_credentials"] is True
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))
    auth = {"Authorization": f"Bearer {created['api_token']}"}
    assert requests.post(api + "/echo", json={"key": "e1", "text": "there"}, headers=auth, timeout=10).ok
    wait_until(lambda: requests.get(api + "/echo/e1", headers=auth, timeout=10).json()["status"] == "created", 20)
    result = requests.get(api + "/echo/e1", headers=auth, timeout=10).json()["result"]
    assert result == {"echo": "hi there", "stored_secret": True}  # its worker got the credentials, by file
    for process in ("echo-api", "echo-worker"):
        assert pids_of(process, name), f"no {process} of {name} running"
        for pid in pids_of(process, name):
            assert ECHO_SECRET.encode() not in process_environment(pid)
    assert manager.call("PUT", f"/integrations/{iid}/deactivate").status_code == 200
    wait_until(lambda: health(manager, iid)["state"] == "stopped", 15)
    assert pids_of("echo-worker", name) == [] and pids_of("echo-api", name) == []
    assert manager.call("DELETE", f"/integrations/{iid}").status_code == 200


@pytest.fixture
def erp_with_stored_user(tmp_path):
    port = free_port()
    erp = ServiceProcess("demo-erp", ["demo-erp", "--port", str(port), "--user", f"stored:{STORED_PASSWORD}"], {},
                         tmp_path).start()
    erp.wait_http(f"http://127.0.0.1:{port}/health")
    yield f"http://127.0.0.1:{port}"
    erp.stop()


def test_an_order_without_login_uses_the_stored_one_which_appears_nowhere_else(manager, erp_with_stored_user,
                                                                                 tmp_path, manager_token):
    name = f"Stored Login {RUN}"
    answer = manager.call("POST", "/integrations", json={
        "kind": "erp", "name": name, "active": True, "settings": {"base_url": erp_with_stored_user},
        "credentials": {"username": "stored", "password": STORED_PASSWORD}})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    iid, api = created["id"], f"http://127.0.0.1:{created['api_port']}"
    auth = {"Authorization": f"Bearer {created['api_token']}"}
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))
    order = {"workshop": name, "worksheet": "558", "product_nr": "10", "product_amount": "5", "uniqueid": "stored-1"}
    assert requests.post(api + "/create", json=order, headers=auth, timeout=10).status_code == 200

    def status():
        return requests.get(api + "/get_order_status", params={"uniqueid": "stored-1"}, headers=auth,
                            timeout=10).json()

    wait_until(lambda: status()["status"] in ("created", "error"), 30, status)
    assert status()["status"] == "created", status()
    lines = requests.get(erp_with_stored_user + "/_sim/state", timeout=10).json()
    assert "stored-1" in str(lines)  # the line is in the ERP, written with the stored login

    secrets_file = tmp_path / "var" / "instances" / iid / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600 and STORED_PASSWORD in secrets_file.read_text()
    password = STORED_PASSWORD.encode()
    seen = [manager.call("GET", path).content for path in (
        "/integrations", f"/integrations/{iid}", f"/integrations/{iid}/queue", "/queue",
        f"/integrations/{iid}/logs?role=api&lines=5000", f"/integrations/{iid}/logs?role=worker&lines=5000")]
    seen += [requests.get(api + path, headers=auth, timeout=10).content
             for path in ("/queue", "/get_order_status?uniqueid=stored-1", "/metrics", "/alive")]
    for text in seen:
        assert password not in text
    for process in ("erp-api", "erp-worker"):
        pids = pids_of(process, name)
        assert pids, f"no {process} of {name} running"
        for pid in pids:
            assert password not in process_environment(pid), f"{process} {pid} has the password in its environment"
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != secrets_file]
    assert any(p.name.endswith(".log") for p in files) and any(p.name == "queue.db" for p in files)
    for path in files:  # logs, the instance's database and its embedded queue (the messages), the manager's
        assert password not in path.read_bytes(), path
    manager.call("PUT", f"/integrations/{iid}/deactivate")


def test_changed_credentials_reach_the_instance_at_its_restart(manager, erp_with_stored_user, tmp_path):
    name = f"Changed Login {RUN}"
    created = manager.call("POST", "/integrations", json={
        "kind": "erp", "name": name, "active": True, "settings": {"base_url": erp_with_stored_user},
        "credentials": {"username": "stored", "password": "wrong-password"}}).json()
    iid, api = created["id"], f"http://127.0.0.1:{created['api_port']}"
    auth = {"Authorization": f"Bearer {created['api_token']}"}
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))
    order = {"workshop": name, "worksheet": "558", "product_nr": "10", "product_amount": "5", "uniqueid": "chg-1"}

    def status(uniqueid):
        return requests.get(api + "/get_order_status", params={"uniqueid": uniqueid}, headers=auth, timeout=10).json()

    requests.post(api + "/create", json=order, headers=auth, timeout=10)
    wait_until(lambda: status("chg-1")["status"] in ("created", "error"), 30)
    assert status("chg-1")["reason_code"] == "erp_login_failed"
    changed = manager.call("PATCH", f"/integrations/{iid}", json={"credentials": {"username": "stored",
                                                                                 "password": STORED_PASSWORD}})
    assert changed.status_code == 200
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))
    requests.post(api + "/create", json={**order, "uniqueid": "chg-2"}, headers=auth, timeout=10)
    wait_until(lambda: status("chg-2")["status"] in ("created", "error"), 30)
    assert status("chg-2")["status"] == "created", status("chg-2")
    manager.call("PUT", f"/integrations/{iid}/deactivate")



def test_a_poison_task_is_dead_lettered_then_replayed_with_hubctl_once_fixed(manager, manager_token, capsys):
    answer = manager.call("POST", "/integrations", json={"kind": "echo", "name": f"Poison {RUN}", "active": True,
                                                         "settings": {"crash_on": "boom"}})
    created = answer.json()
    iid, api = created["id"], f"http://127.0.0.1:{created['api_port']}"
    auth = {"Authorization": f"Bearer {created['api_token']}"}
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))

    def echo(key):
        return requests.get(f"{api}/echo/{key}", headers=auth, timeout=10).json()

    for key, text in (("b1", "boom"), ("f1", "fine")):
        assert requests.post(api + "/echo", json={"key": key, "text": text}, headers=auth, timeout=10).ok
    wait_until(lambda: echo("b1")["status"] == "error" and echo("f1")["status"] == "created", 30)
    assert echo("b1")["reason_code"] == "dead_lettered"
    cli = ["--url", manager.url, "--token", manager_token]
    assert hubctl([*cli, "replay", iid, "--task", "f1"]) == 1
    assert "only a dead-lettered task can be replayed" in capsys.readouterr().err
    # the bug is fixed (here: the setting), the instance restarts with it, and the dead letters go again
    assert manager.call("PATCH", f"/integrations/{iid}", json={"settings": {"crash_on": ""}}).status_code == 200
    wait_until(lambda: serving(manager, iid), 30, lambda: health(manager, iid))
    assert hubctl([*cli, "replay", iid]) == 0
    assert "1 dead-lettered message(s) sent to the worker again" in capsys.readouterr().out
    wait_until(lambda: echo("b1")["status"] == "created", 30, lambda: echo("b1"))
    assert echo("b1")["result"]["echo"] == "hello boom"
    manager.call("PUT", f"/integrations/{iid}/deactivate")
