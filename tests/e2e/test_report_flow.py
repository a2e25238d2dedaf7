"""End to end: report-api and report-worker as real processes on PostgreSQL and RabbitMQ. A user uploads,
generates, downloads and compares with output computed here independently; a schedule fires in the test."""

from __future__ import annotations

import csv
import io
import json
import random
import time

import pytest
import requests

from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import delete_queues, free_port

pytestmark = pytest.mark.e2e
NAME = "E2E reports"
FINAL = ("finished", "error", "cancelled")


class Reports:
    def __init__(self, tmp, env, api_url):
        self.tmp, self.env, self.url = tmp, env, api_url
        self.processes: dict[str, ServiceProcess] = {}
        self.session = requests.Session()

    def start(self) -> None:
        api = ServiceProcess("report-api", ["report-api", self.url.rsplit(":", 1)[1], NAME], self.env, self.tmp)
        self.processes["report-api"] = api.start()
        api.wait_http(self.url + "/alive")
        worker = ServiceProcess("report-worker", ["report-worker", NAME], self.env, self.tmp)
        self.processes["report-worker"] = worker.start()
        worker.wait_http(f"http://127.0.0.1:{self.env['HUB_PROBE_PORT']}/alive", timeout=60)

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.log()[-3000:]}" for n, p in self.processes.items())

    def login(self, email: str) -> None:
        answer = self.session.post(self.url + "/api/auth/register/", json={
            "email": email, "name": "E2E", "password": "a long enough password"}, timeout=10)
        assert answer.status_code == 201, answer.text
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access']}"

    def wait_final(self, task_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.session.get(f"{self.url}/api/report-status/{task_id}/", timeout=5).json()
            if status["state"] in FINAL:
                return status
            time.sleep(0.2)
        raise AssertionError(f"{task_id} not final: {status}\n{self.logs()}")


@pytest.fixture
def reports(tmp_path, api_token, fresh_postgres_url, amqp_url, queue_prefix):
    port = free_port()
    env = {"HUB_API_TOKEN": api_token, "HUB_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": fresh_postgres_url,
           "AMQP_URL": amqp_url, "HUB_QUEUE_PREFIX": queue_prefix, "HUB_OUTBOX_POLL_SECONDS": "0.5",
           "HUB_HEARTBEAT_SECONDS": "0.5", "HUB_SCHEDULER_POLL_SECONDS": "0.5", "HUB_LOG_FORMAT": "json",
           "HUB_PROBE_PORT": str(free_port())}
    service = Reports(tmp_path, env, f"http://127.0.0.1:{port}")
    service.start()
    yield service
    for process in service.processes.values():
        process.stop()
    delete_queues(amqp_url, [queue_prefix + "rules.e2e-reports"])


def make_files(rows: int, seed: int = 7) -> tuple[str, str]:
    rng = random.Random(seed)
    regions = [f"R{i}" for i in range(50)]
    out = io.StringIO()
    out.write("order_id,customer,qty,unit_price,region\n")
    for i in range(rows):
        price = f"{rng.uniform(1, 100):.2f}" if i % 97 else "n/a"  # every 97th price is not a number
        out.write(f"{i},cust{rng.randrange(1000)},{rng.randrange(1, 20)},{price},{rng.choice(regions)}\n")
    reference = "region,discount,manager\n" + "".join(f"R{i},{i / 100:.2f},mgr{i}\n" for i in range(45))
    return out.getvalue(), reference  # regions R45..R49 have no reference row


RULES = {"order": "order_id", "who": "upper(customer)", "gross": "qty * unit_price",
         "net": "round(qty * unit_price * (1 - discount), 2)", "manager": "coalesce(manager, 'none')"}


def expected(input_csv: str, reference_csv: str) -> list[list[str]]:
    reference = {row["region"]: row for row in csv.DictReader(io.StringIO(reference_csv))}
    rows = []
    for row in csv.DictReader(io.StringIO(input_csv)):
        ref = reference.get(row["region"])
        price = None if row["unit_price"] == "n/a" else float(row["unit_price"])
        gross = int(row["qty"]) * price if price is not None else None
        net = round(gross * (1 - float(ref["discount"])), 2) if gross is not None and ref else None
        rows.append([row["order_id"], row["customer"].upper(), gross, net, ref["manager"] if ref else "none"])
    return rows


def normalise(text: str) -> list[list]:
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header == list(RULES)
    return [[r[0], r[1], float(r[2]) if r[2] else None, float(r[3]) if r[3] else None, r[4]] for r in body]


def test_upload_generate_download_through_rabbitmq(reports):
    input_csv, reference_csv = make_files(20_000)
    reports.login("e2e@example.com")
    files = {"input": ("orders.csv", input_csv), "reference": ("regions.csv", reference_csv)}
    assert reports.session.post(reports.url + "/api/upload-files/", files=files, timeout=30).status_code == 201
    rules = {"file": ("rules.json", json.dumps(RULES))}
    assert reports.session.post(reports.url + "/api/upload-rules/", files=rules, timeout=30).status_code == 201
    answer = reports.session.post(reports.url + "/api/generate-report/", json={}, timeout=30)
    assert answer.status_code == 202, answer.text
    status = reports.wait_final(answer.json()["task_id"])
    assert status["state"] == "finished", f"{status}\n{reports.logs()}"
    assert status["rows"] == 20_000 and status["error_rows"] == len(range(0, 20_000, 97))
    download = reports.session.get(reports.url + status["download_url"], timeout=30)
    got, want = normalise(download.text), expected(input_csv, reference_csv)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g[0] == w[0] and g[1] == w[1] and g[4] == w[4]
        # net is rounded to cents: a half cent may round either way in binary floating point (804.895)
        for a, b, tolerance in ((g[2], w[2], 1e-6), (g[3], w[3], 0.0101)):
            assert (a is None and b is None) or abs(a - b) < tolerance, (g, w)


def test_a_schedule_fires_within_the_test(reports):
    input_csv, reference_csv = make_files(100)
    reports.login("cron@example.com")
    files = {"input_file": ("orders.csv", input_csv), "reference_file": ("regions.csv", reference_csv),
             "rules_file": ("rules.json", json.dumps(RULES))}
    answer = reports.session.post(reports.url + "/api/trigger-scheduled-report/", files=files,
                                  data={"cron": "* * * * * */2"}, timeout=30)
    assert answer.status_code == 201, answer.text
    schedule_id = answer.json()["id"]
    deadline = time.monotonic() + 60
    runs = []
    while time.monotonic() < deadline and len([r for r in runs if r["state"] == "finished"]) < 2:
        runs = reports.session.get(f"{reports.url}/api/schedules/{schedule_id}/runs/", timeout=5).json()["reports"]
        time.sleep(0.3)
    done = [r for r in runs if r["state"] == "finished"]
    assert len(done) >= 2, f"{runs}\n{reports.logs()}"
    assert len({r["task_id"] for r in runs}) == len(runs)  # one report per tick
    paused = reports.session.post(f"{reports.url}/api/schedules/{schedule_id}/pause/", timeout=5).json()
    assert paused["paused"] is True
    download = reports.session.get(reports.url + done[0]["download_url"], timeout=10)
    assert len(normalise(download.text)) == 100
