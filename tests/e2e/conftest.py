"""End-to-end fixtures: the demo ERP, one workshop's erp-api and erp-worker as real processes, on
PostgreSQL and RabbitMQ (through a TCP proxy the test can cut), or on the embedded defaults."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import delete_queues, free_port
from hub_runtime.testing.tcp_proxy import TcpProxy

WORKSHOP = "Bennys Auto"
FINAL = ("created", "error", "cancelled")


@dataclass
class Hub:
    tmp: Path
    env: dict[str, str]
    token: str
    erp_url: str
    api_url: str
    worker_probe_url: str
    proxy: TcpProxy | None = None
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    # --- processes ----------------------------------------------------------------------------------
    def start(self, name: str) -> ServiceProcess:
        argv = {
            "demo-erp": ["demo-erp", "--port", self.erp_url.rsplit(":", 1)[1],
                         "--state-file", str(self.tmp / "erp.json")],
            "erp-api": ["erp-api", self.api_url.rsplit(":", 1)[1], WORKSHOP],
            "erp-worker": ["erp-worker", WORKSHOP],
        }[name]
        process = ServiceProcess(name, argv, self.env, self.tmp).start()
        self.processes[name] = process
        if name == "demo-erp":
            process.wait_http(self.erp_url + "/health")
        elif name == "erp-api":
            process.wait_http(self.api_url + "/alive")
        return process

    def wait_worker(self, state: str = "running", timeout: float = 30) -> None:
        wait_until(lambda: self.alive()["worker"]["state"] == state, timeout,
                   lambda: f"worker not {state}: {self.alive()}\n{self.processes['erp-worker'].log()[-3000:]}")

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    # --- API ----------------------------------------------------------------------------------------
    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def order(self, uniqueid: str | None = None, **changes) -> dict:
        body = {"workshop": WORKSHOP, "worksheet": "558", "product_nr": "10", "product_amount": "5",
                "uniqueid": uniqueid or f"e2e-{uuid.uuid4().hex[:12]}", "username": "admin", "password": "gygag"}
        return {**body, **changes}

    def post(self, order: dict) -> requests.Response:
        return requests.post(self.api_url + "/create", json=order, headers=self.headers, timeout=10)

    def put(self, path: str) -> dict:
        answer = requests.put(self.api_url + path, headers=self.headers, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def alive(self) -> dict:
        return requests.get(self.api_url + "/alive", timeout=5).json()

    def status(self, uniqueid: str) -> dict:
        return requests.get(self.api_url + "/get_order_status", params={"uniqueid": uniqueid},
                            headers=self.headers, timeout=5).json()

    def wait_final(self, uniqueid: str, timeout: float = 60) -> dict:
        wait_until(lambda: self.status(uniqueid)["status"] in FINAL, timeout,
                   lambda: f"{uniqueid} still {self.status(uniqueid)}\n{self.logs()}")
        return self.status(uniqueid)

    # --- demo ERP -----------------------------------------------------------------------------------
    def erp_lines(self, reference: str, worksheet: str = "558") -> list[dict]:
        state = requests.get(self.erp_url + "/_sim/state", timeout=5).json()
        sheets = state["worksheets"]
        sheet = sheets[worksheet] if isinstance(sheets, dict) else next(s for s in sheets if s["number"] == worksheet)
        return [line for line in sheet["lines"] if line["reference"] == reference]

    def faults(self, **faults) -> None:
        requests.post(self.erp_url + "/_sim/faults", json=faults, timeout=5).raise_for_status()

    def logs(self, tail: int | None = 2500) -> str:
        return "\n".join(f"--- {n}\n{p.log()[-tail if tail else 0:]}" for n, p in self.processes.items())


def wait_until(predicate, timeout: float, describe=lambda: "condition not met") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(describe())


def _hub(tmp_path, token, env) -> Hub:
    erp_port, api_port, probe_port = free_port(), free_port(), free_port()
    base_env = {
        "HUB_API_TOKEN": token,
        "HUB_DATA_DIR": str(tmp_path / "data"),
        "HUB_ERP_BASE_URL": f"http://127.0.0.1:{erp_port}",
        "HUB_HEARTBEAT_SECONDS": "0.5",
        "HUB_HEARTBEAT_TIMEOUT_SECONDS": "3",
        "HUB_RETRY_BASE_SECONDS": "0.2",
        "HUB_RETRY_MAX_SECONDS": "1",
        "HUB_OUTBOX_POLL_SECONDS": "0.5",
        "HUB_BROKER_RECONNECT_SECONDS": "2",
        "HUB_LOG_FORMAT": "json",
        "HUB_PROBE_PORT": str(probe_port),
        "AMQP_URL": "",
    }
    return Hub(tmp_path, {**base_env, **env}, token, f"http://127.0.0.1:{erp_port}",
               f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{probe_port}")


@pytest.fixture
def rabbit_hub(tmp_path, api_token, fresh_postgres_url, amqp_url, queue_prefix):
    """The hub on PostgreSQL and RabbitMQ; the services reach RabbitMQ through `hub.proxy`."""
    host_port = amqp_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1) if ":" in host_port else (host_port, "5672")
    proxy = TcpProxy(host, int(port))
    proxy.start()
    proxied = amqp_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    hub = _hub(tmp_path, api_token, {"DATABASE_URL": fresh_postgres_url, "AMQP_URL": proxied,
                                     "HUB_QUEUE_PREFIX": queue_prefix})
    hub.proxy = proxy
    yield hub
    hub.stop_all()
    proxy.stop()
    delete_queues(amqp_url, [queue_prefix + "erp.bennys-auto"])


@pytest.fixture
def embedded_hub(tmp_path, api_token):
    """The hub on the embedded defaults: SQLite and the SQLite queue."""
    hub = _hub(tmp_path, api_token, {"DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"})
    yield hub
    hub.stop_all()
