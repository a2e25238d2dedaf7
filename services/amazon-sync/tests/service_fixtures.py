"""Fixtures of the service tests (imported by conftest.py): the SP-API simulator over real HTTP with its
clock running fast, and an amazon-sync instance's API in-process (SQLite and PostgreSQL, the embedded queue)
whose queued activities `run_queued` hands to the real Worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import requests

from amazon_sync.app import create_app
from amazon_sync.jobs import make_handler
from amazon_sync.kind import AmazonSettings
from hub_runtime.config import RuntimeSettings
from hub_runtime.outbox import OutboxRelay
from hub_runtime.testing.services import serving
from hub_runtime.worker import Worker
from simulators.spapi.accounts import DEMO_APP_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
from simulators.spapi.app import create_app as create_sim

SPEED = 600.0  # the simulator's clock: a 60 s report takes 0.1 s, an access token lives 6 s
UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
DEMO_CREDENTIALS = {"lwa_app_id": DEMO_APP_ID, "lwa_client_secret": DEMO_CLIENT_SECRET,
                    "refresh_token": DEMO_REFRESH_TOKEN}


class Sim:
    """The simulator's ops endpoints: reset, faults, state, clock."""

    def __init__(self, url: str):
        self.url = url
        self.post("/_sim/reset", {})

    def post(self, path: str, body: dict) -> dict:
        response = requests.post(self.url + path, json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def faults(self, **faults) -> None:
        self.post("/_sim/faults", faults)

    def state(self) -> dict:
        return requests.get(f"{self.url}/_sim/state", timeout=5).json()

    def operation(self, name: str) -> dict:
        return self.state()["operations"].get(name, {})

    def throttled(self, operation: str) -> int:
        return self.operation(operation).get("throttled", 0)

    def now(self) -> datetime:
        return datetime.fromtimestamp(requests.get(f"{self.url}/_sim/clock", timeout=5).json()["epoch"], UTC)


@pytest.fixture(scope="module")
def sim_url():
    with serving(create_sim(seed=11, orders=2000, speed=SPEED, job_seconds=60)) as url:
        yield url


@pytest.fixture
def sim(sim_url):
    return Sim(sim_url)


def amazon_settings(sim: Sim, **overrides) -> AmazonSettings:
    values = {"api_url": sim.url, "lwa_url": f"{sim.url}/auth/o2/token", "time_speed": SPEED,
              "marketplaces": f"{UK},{DE}", "request_timeout_seconds": 5, "request_attempts": 6,
              "retry_base_seconds": 1, "retry_max_seconds": 30, "report_poll_seconds": 15}
    return AmazonSettings(**{**values, **overrides})


class Seller:
    """One amazon-sync instance under test: its Flask test client (with the instance token) and a way to
    run what it queued."""

    def __init__(self, app, token: str):
        self.app = app
        self.service = app.config["SERVICE"]
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}
        runtime = self.service.runtime
        self.relay = OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id)
        self.worker = Worker(runtime, make_handler(self.service), relay=False)
        runtime.broker.declare(runtime.queue)

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, body=None, **kwargs):
        return self.client.post(path, json=body if body is not None else {}, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.client.delete(path, headers=self.headers, **kwargs)

    def run_queued(self) -> int:
        """Publish what the API queued and let the real Worker process each message; how many."""
        runtime = self.service.runtime
        self.relay.publish_pending()
        done = 0
        while (delivery := runtime.broker.get(runtime.queue, timeout=0.1)) is not None:
            self.worker.process(delivery)
            done += 1
        return done

    def activity(self, activity_id: str) -> dict:
        answer = self.get(f"/api/activities/{activity_id}/")
        assert answer.status_code == 200, answer.json
        return answer.json["data"]


def make_seller(database_url, tmp_path, api_token, sim: Sim, credentials=DEMO_CREDENTIALS, name=None,
                runtime: dict | None = None, **overrides) -> Seller:
    """An instance with these `RuntimeSettings` (`runtime`) and `AmazonSettings` (`overrides`) changes."""
    settings = RuntimeSettings(database_url=database_url, data_dir=tmp_path / "data", api_token=api_token,
                               heartbeat_seconds=0.2, credentials=credentials, _env_file=None, **(runtime or {}))
    app = create_app(settings, amazon_settings(sim, **overrides), name or f"Seller {uuid.uuid4().hex[:6]}")
    app.testing = True
    return Seller(app, api_token)


@pytest.fixture
def seller(database_url, tmp_path, api_token, sim):
    seller = make_seller(database_url, tmp_path, api_token, sim)
    yield seller
    seller.service.close()
