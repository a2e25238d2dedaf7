"""hubctl against a real manager process (SQLite, embedded queue) supervising a real ERP integration."""

from __future__ import annotations

import json
import random
import re
import socket
import time
import uuid

import pytest
import requests

from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import free_port
from manager.hubctl import main

pytestmark = pytest.mark.e2e

NAME, IID = "Bennys Auto", "erp-bennys-auto"
PASSWORD = "gygag-" + uuid.uuid4().hex[:6]


def port_range() -> tuple[int, int]:
    """50 ports from 20000 + random whose first few are free now (the manager hands them out in order)."""
    for _ in range(50):
        start = random.randrange(20000, 30000, 50)
        if all(_bindable(p) for p in range(start, start + 6)):
            return start, start + 49
    raise RuntimeError("no free port range found")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hubctl")
    token = "manager-" + uuid.uuid4().hex
    erp_port, manager_port = free_port(), free_port()
    first, last = port_range()
    erp = ServiceProcess("demo-erp", ["demo-erp", "--port", str(erp_port)], {}, tmp).start()
    env = {"HUB_API_TOKEN": token, "HUB_DATA_DIR": str(tmp / "data"), "DATABASE_URL": f"sqlite:///{tmp / 'manager.db'}",
           "HUB_PORT_RANGE_START": str(first), "HUB_PORT_RANGE_END": str(last), "AMQP_URL": "",
           "HUB_SECRET_KEYS": "", "HUB_QUEUE_PREFIX": ""}
    manager = ServiceProcess("manager", ["manager", str(manager_port)], env, tmp).start()
    try:
        erp.wait_http(f"http://127.0.0.1:{erp_port}/health")
        url = f"http://127.0.0.1:{manager_port}"
        manager.wait_http(url + "/alive")
        yield {"url": url, "token": token, "erp_url": f"http://127.0.0.1:{erp_port}", "manager": manager}
    finally:
        manager.stop()
        erp.stop()


@pytest.fixture
def hubctl(hub, capsys):
    """Run `hubctl --url <manager> --token <token> ARGS`; returns (exit code, stdout, stderr)."""
    def run(*args: str, token: str | None = None, url: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--url", url or hub["url"], "--token", token or hub["token"], *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture(scope="module")
def created(hub):
    """The integration, registered inactive through hubctl (module scope: the tests below go on with it)."""
    return {}


def wait_for(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s (last: {result!r})")
        time.sleep(0.3)


def show_json(hubctl) -> dict:
    code, out, _ = hubctl("show", IID, "--json")
    assert code == 0
    return json.loads(out)


# --- usage and connection errors --------------------------------------------------------------------
@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["show"], ["start", IID, "--api", "--worker"],
                                  ["logs", IID, "-n", "many"], ["create", "--name", "x"]])
def test_usage_errors_exit_2(capsys, argv):
    assert main(["--token", "t" * 20, *argv]) == 2
    assert "usage: hubctl" in capsys.readouterr().err


def test_missing_token_and_bad_url_are_usage_errors(capsys, monkeypatch):
    monkeypatch.delenv("HUB_MANAGER_TOKEN", raising=False)
    assert main(["list"]) == 2
    assert "HUB_MANAGER_TOKEN" in capsys.readouterr().err
    assert main(["--token", "t" * 20, "--url", "localhost:8000", "list"]) == 2
    assert "not an http(s):// URL" in capsys.readouterr().err


def test_create_with_malformed_setting_is_a_usage_error(hubctl):
    code, _, err = hubctl("create", "--kind", "erp", "--name", "X", "--setting", "base_url")
    assert code == 2 and "expected key=value" in err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Exit codes" in out and "HUB_MANAGER_URL" in out


def test_unreachable_manager_exits_3(hubctl):
    code, out, err = hubctl("list", url=f"http://127.0.0.1:{free_port()}")
    assert code == 3 and out == ""
    assert "cannot reach the manager" in err and "connection refused" in err


def test_bad_token_exits_1_with_the_api_message(hubctl):
    code, _, err = hubctl("list", token="not-the-manager-token")
    assert code == 1
    assert "HTTP 401" in err and "bearer token is not valid" in err and "HUB_MANAGER_TOKEN" in err


def test_unknown_id_exits_1_with_the_api_message(hubctl):
    for argv in (["show", "erp-nobody"], ["stop", "erp-nobody", "--worker"], ["logs", "erp-nobody"],
                 ["token", "erp-nobody"]):
        code, out, err = hubctl(*argv)
        assert code == 1, argv
        assert "no integration 'erp-nobody'" in err and "HTTP 404" in err and out == ""


# --- the lifecycle of one integration ---------------------------------------------------------------
def test_create_inactive_prints_the_token_once(hub, hubctl, created):
    code, out, err = hubctl("create", "--kind", "erp", "--name", NAME, "--setting", "adapter=http",
                            "--setting", f"base_url={hub['erp_url']}", "--credential", "username=admin",
                            "--credential", f"password={PASSWORD}")
    assert code == 0, err
    assert f"created {IID}" in out and "inactive" in out
    token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("API token: "))
    assert "shown only this once" in out
    assert PASSWORD not in out + err
    created["token"] = token


def test_create_rejections_print_field_errors(hub, hubctl, created):
    code, _, err = hubctl("create", "--kind", "erp", "--name", NAME, "--setting", f"base_url={hub['erp_url']}")
    assert code == 1 and "HTTP 409" in err and "already registered" in err
    code, _, err = hubctl("create", "--kind", "erp", "--name", "Other", "--setting", "adapter=fax")
    assert code == 1 and "HTTP 400" in err
    assert "  settings.adapter: " in err and "  settings.base_url: is required" in err
    code, _, err = hubctl("create", "--kind", "telex", "--name", "Other")
    assert code == 1 and "  kind: one of the installed kinds: " in err
    assert all(kind in err for kind in ("erp", "rules", "gcore", "carbonaltdelete"))


def test_list_is_an_aligned_table(hubctl, created):
    code, out, _ = hubctl("list")
    assert code == 0
    header, row = out.splitlines()[:2]
    columns = ["ID", "KIND", "NAME", "ACTIVE", "STATE", "API", "WORKER", "QUEUE", "RESTARTS", "LAST ERROR"]
    assert header.split()[:9] == columns[:9] and header.endswith("LAST ERROR")
    for column, value in [("ID", IID), ("NAME", NAME), ("ACTIVE", "no"), ("STATE", "stopped")]:
        assert row[header.index(column):].startswith(value), (column, row)
    code, out, _ = hubctl("list", "--json")
    assert code == 0 and json.loads(out)[0]["id"] == IID


def test_health_ignores_inactive_integrations(hubctl, created):
    code, out, _ = hubctl("health")
    assert code == 0
    assert re.search(rf"^--\s+{IID}\s+stopped\s", out, re.M) and "1 integrations, 0 active, 0 not running" in out


def test_activate_starts_it_and_health_sees_it_running(hubctl, created):
    code, out, _ = hubctl("activate", IID)
    assert code == 0 and f"{IID}: activate done" in out
    code, out, _ = wait_for(lambda: (r := hubctl("health"))[0] == 0 and r, what="health ok")
    assert re.search(rf"^ok\s+{IID}\s+running\s+api alive, worker running, queue 0$", out, re.M)


def test_show_has_configuration_health_and_history_without_secrets(hub, hubctl, created):
    code, out, err = hubctl("show", IID)
    assert code == 0, err
    assert f"base_url={hub['erp_url']}" in out and "credentials  stored (never shown)" in out
    assert "state        running" in out and "api          alive" in out
    assert "ROLE" in out and "worker_started" in out and "activated" in out and "created" in out
    assert PASSWORD not in out and created["token"] not in out


def test_logs_of_api_and_worker(hubctl, created):
    code, out, _ = wait_for(lambda: (r := hubctl("logs", IID, "--worker", "-n", "200"))[0] == 0
                            and "worker starting" in r[1] and r, what="worker log")
    code, out, _ = hubctl("logs", IID, "--worker", "-n", "2")
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = hubctl("logs", IID)
    assert code == 0 and out.strip()


def test_stop_and_start_the_worker(hubctl, created):
    code, out, _ = hubctl("stop", IID, "--worker")
    assert code == 0 and "stop worker done; state partial (api running, worker stopped)" in out
    code, out, _ = hubctl("health")
    assert code == 1 and re.search(rf"^FAIL\s+{IID}\s+partial\s", out, re.M) and "worker stopped" in out
    code, out, _ = hubctl("start", IID, "--worker")
    assert code == 0 and "worker running" in out
    wait_for(lambda: hubctl("health")[0] == 0, what="health ok after worker start")


def test_token_rotation(hubctl, created):
    api = f"http://127.0.0.1:{show_json(hubctl)['api_port']}/queue"

    def status(token: str) -> int:
        try:
            return requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code
        except requests.RequestException:
            return 0

    assert status(created["token"]) == 200
    code, out, _ = hubctl("token", IID)
    assert code == 0 and "shown only this once" in out
    new = out.splitlines()[0].rsplit(": ", 1)[1]
    assert new != created["token"]
    wait_for(lambda: status(new) == 200, what="the API accepting the new token")
    assert status(created["token"]) == 401


def test_kill_then_restart_then_deactivate(hubctl, created):
    code, out, _ = hubctl("kill", IID)
    assert code == 0 and "state stopped" in out
    code, out, _ = hubctl("health")
    assert code == 1 and re.search(rf"^FAIL\s+{IID}\s+stopped\s", out, re.M)
    code, out, _ = hubctl("restart", IID)
    assert code == 0
    wait_for(lambda: hubctl("health")[0] == 0, what="health ok after restart")
    pids = [p["pid"] for p in show_json(hubctl)["health"]["processes"].values()]
    code, out, _ = hubctl("deactivate", IID)
    assert code == 0 and "state stopped (api stopped, worker stopped)" in out
    assert hubctl("health")[0] == 0
    assert not any(_running(pid) for pid in pids)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
