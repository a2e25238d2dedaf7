import uuid

import pytest
import requests

from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import free_port

TOKEN = "manager-test-token-" + uuid.uuid4().hex[:8]


class ManagerProcess:
    """A real manager process plus a demo ERP, driven over HTTP."""

    def __init__(self, tmp_path, env):
        self.tmp = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.process: ServiceProcess | None = None

    def start(self) -> "ManagerProcess":
        self.process = ServiceProcess("manager", ["manager", str(self.port)], self.env, self.tmp).start()
        self.process.wait_http(self.url + "/alive")
        return self

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.url + path, headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=30, **kwargs)


@pytest.fixture
def demo_erp(tmp_path):
    port = free_port()
    erp = ServiceProcess("demo-erp", ["demo-erp", "--port", str(port)], {}, tmp_path).start()
    erp.wait_http(f"http://127.0.0.1:{port}/health")
    yield f"http://127.0.0.1:{port}"
    erp.stop()


@pytest.fixture
def manager_env(tmp_path):
    # below Linux's ephemeral ports (32768 and up), where free_port() puts the simulators these tests start:
    # an instance's port taken by one of them would keep its API from binding
    start = 21000 + (uuid.uuid4().int % 110) * 100
    return {"HUB_API_TOKEN": TOKEN, "HUB_DATA_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'manager.db'}", "AMQP_URL": "",
            "HUB_PORT_RANGE_START": str(start), "HUB_PORT_RANGE_END": str(start + 99),
            "HUB_FAST_FAILURE_SECONDS": "3", "HUB_FATAL_AFTER_FAST_FAILURES": "3",
            "HUB_RESTART_BACKOFF_MAX_SECONDS": "2", "HUB_STOP_TIMEOUT_SECONDS": "5", "HUB_LOG_FORMAT": "json"}


@pytest.fixture
def manager(tmp_path, manager_env):
    process = ManagerProcess(tmp_path, manager_env).start()
    yield process
    if process.process.alive():
        process.process.stop(30)


@pytest.fixture
def make_manager(tmp_path, manager_env):
    """make_manager(port=None) -> a started ManagerProcess on this test's data (to restart a manager)."""
    def make(port: int | None = None) -> ManagerProcess:
        process = ManagerProcess(tmp_path, manager_env)
        if port:
            process.port, process.url = port, f"http://127.0.0.1:{port}"
        return process.start()

    return make


@pytest.fixture
def manager_token():
    return TOKEN
