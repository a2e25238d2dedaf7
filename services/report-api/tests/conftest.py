"""report-api service tests: the Flask app in-process on SQLite and PostgreSQL with the embedded queue;
`run_queued` plays the worker (the real Worker class) for what the API queued."""

from __future__ import annotations

import io
import uuid
from types import SimpleNamespace

import pytest

from hub_runtime.outbox import OutboxRelay
from hub_runtime.worker import Worker
from report_api.app import create_app
from report_api.generation import make_handler
from report_api.settings import ReportSettings

INPUT_CSV = "id,first,last,qty,price,code\n1,John,Smith,2,10.5,A\n2,Ann,Lee,3,x,B\n3,Bo,Kim,1,4,Z\n"
REFERENCE_CSV = "code,region,rate\nA,North,1.5\nB,South,2\n"
RULES_JSON = ('{"name": "first + \' \' + last", "total": "qty * price", "region": "region", '
              '"weighted": "qty * max(price, rate)"}')


@pytest.fixture
def sample():
    """A small input, reference and rules file (the fourth input row has no reference row; the second has a
    price that is not a number)."""
    return SimpleNamespace(input=INPUT_CSV, reference=REFERENCE_CSV, rules=RULES_JSON)


@pytest.fixture
def settings(database_url, tmp_path, api_token):
    return ReportSettings(database_url=database_url, data_dir=tmp_path / "data", api_token=api_token,
                          heartbeat_seconds=0.2, max_upload_bytes=64 * 1024, max_rules_bytes=4096,
                          login_max_failures=3, _env_file=None)


@pytest.fixture
def app(settings):
    app = create_app(settings, "Demo reports")
    app.testing = True
    yield app
    app.config["SERVICE"].runtime.close()


@pytest.fixture
def client(app):
    return app.test_client()


class User:
    def __init__(self, client, email: str):
        self.client = client
        self.email = email
        self.password = "correct horse battery"
        answer = client.post("/api/auth/register/", json={"email": email, "name": "Tester",
                                                          "password": self.password})
        assert answer.status_code == 201, answer.json
        self.tokens = answer.json

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.tokens['access']}"}

    def upload(self, path: str, files: dict[str, tuple[str, str | bytes]], **form):
        data = {field: (io.BytesIO(content.encode() if isinstance(content, str) else content), name)
                for field, (name, content) in files.items()}
        data.update(form)
        return self.client.post(path, data=data, headers=self.headers, content_type="multipart/form-data")

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers, **kwargs)

    def post_json(self, path: str, body: dict | None = None):
        return self.client.post(path, json=body if body is not None else {}, headers=self.headers)


@pytest.fixture
def user(client):
    return User(client, f"ann-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
def other_user(client):
    return User(client, f"bob-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
def run_queued(app):
    """Publish what the API queued and let the real Worker process each message; returns how many."""
    service = app.config["SERVICE"]
    runtime = service.runtime
    relay = OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id)
    worker = Worker(runtime, make_handler(service.reports, service.storage), relay=False)
    runtime.broker.declare(runtime.queue)

    def run() -> int:
        relay.publish_pending()
        done = 0
        while (delivery := runtime.broker.get(runtime.queue, timeout=0.1)) is not None:
            worker.process(delivery)
            done += 1
        return done

    return run
