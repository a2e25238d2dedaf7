"""Orders through real processes: erp-api -> outbox -> RabbitMQ -> erp-worker -> demo ERP, on PostgreSQL.
Plus the embedded defaults (SQLite + SQLite queue) that `make run` uses."""

from __future__ import annotations

import concurrent.futures
import json
import time

import pytest
import requests

from .conftest import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub(rabbit_hub):
    for name in ("demo-erp", "erp-api", "erp-worker"):
        rabbit_hub.start(name)
    rabbit_hub.wait_worker("running")
    return rabbit_hub


def test_an_order_becomes_one_line_and_reads_created(hub):
    order = hub.order()
    assert hub.post(order).json()["status"] == "placed"
    status = hub.wait_final(order["uniqueid"])
    assert status["status"] == "created", status
    lines = hub.erp_lines(order["uniqueid"])
    assert len(lines) == 1 and lines[0]["product_nr"] == "10" and float(lines[0]["quantity"]) == 5
    assert status["line"]["line_id"] == str(lines[0]["id"])
    assert [h["status"] for h in status["history"]][:3] == ["placed", "processing", "created"]


def test_logs_are_json_with_the_uniqueid_and_never_the_credentials(hub):
    order = hub.order(password="s3cret-pw-9f2")
    hub.post(order)
    hub.wait_final(order["uniqueid"])
    for name in ("erp-api", "erp-worker"):
        lines = [json.loads(line) for line in hub.processes[name].log().splitlines() if line.startswith("{")]
        about = [line for line in lines if line.get("uniqueid") == order["uniqueid"]]
        assert about, f"no {name} log line carries the uniqueid"
        assert any("POST /create" in line["msg"] for line in about) or name == "erp-worker"
    assert "s3cret-pw-9f2" not in hub.logs(tail=None)
    queue = requests.get(hub.api_url + "/queue", headers=hub.headers, timeout=5).text
    assert "s3cret-pw-9f2" not in queue


def test_metrics_count_received_and_created_orders(hub):
    order = hub.order()
    hub.post(order)
    hub.wait_final(order["uniqueid"])
    text = requests.get(hub.api_url + "/metrics", timeout=5).text
    assert 'hub_tasks_received_total{instance="erp:bennys-auto",kind="erp_order"} 1.0' in text
    assert 'hub_tasks{instance="erp:bennys-auto",status="created"} 1.0' in text
    assert 'hub_queue_depth{instance="erp:bennys-auto"} 0.0' in text
    worker_metrics = requests.get(hub.worker_probe_url + "/metrics", timeout=5).text
    assert 'hub_tasks_created_total{instance="erp:bennys-auto",kind="erp_order"} 1.0' in worker_metrics
    assert "hub_task_end_to_end_seconds_bucket" in worker_metrics


def test_the_worker_process_answers_its_own_probes(hub):
    alive = requests.get(hub.worker_probe_url + "/alive", timeout=5)
    assert alive.status_code == 200 and alive.json()["state"] == "running"
    ready = requests.get(hub.worker_probe_url + "/ready", timeout=5)
    assert ready.status_code == 200 and ready.json() == {"ready": True, "database": True, "broker": True}
    hub.proxy.cut()
    assert requests.get(hub.worker_probe_url + "/ready", timeout=10).status_code == 503
    hub.proxy.restore()


def test_duplicate_posts_give_one_line(hub):
    order = hub.order()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: hub.post(order), range(8)))
    assert all(a.status_code == 200 for a in answers)
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert hub.wait_final(order["uniqueid"])["status"] == "created"
    hub.post(order)
    time.sleep(1)
    assert len(hub.erp_lines(order["uniqueid"])) == 1


def test_unknown_worksheet_and_closed_worksheet_end_in_error_with_reason(hub):
    unknown, closed, bad_login = hub.order(worksheet="99999"), hub.order(worksheet="559"), hub.order(password="x")
    for order in (unknown, closed, bad_login):
        hub.post(order)
    assert hub.wait_final(unknown["uniqueid"])["reason_code"] == "worksheet_not_found"
    assert hub.wait_final(closed["uniqueid"])["reason_code"] == "worksheet_closed"
    failed = hub.wait_final(bad_login["uniqueid"])
    assert failed["status"] == "error" and failed["reason_code"] == "erp_login_failed" and failed["reason_text"]


def test_erp_5xx_is_retried_then_created(hub):
    hub.faults(fail_next=2, fail_status=503)
    order = hub.order()
    hub.post(order)
    status = hub.wait_final(order["uniqueid"])
    assert status["status"] == "created"
    assert any("retry" in (h["detail"] or "") for h in status["history"])


def test_an_answer_lost_after_the_write_does_not_double_the_line(hub):
    hub.faults(fail_after_write=1)
    order = hub.order()
    hub.post(order)
    status = hub.wait_final(order["uniqueid"])
    assert status["status"] == "created" and status["line"]["already_present"] is True
    assert len(hub.erp_lines(order["uniqueid"])) == 1


def test_kill_9_of_the_worker_mid_order_then_restart_gives_one_line(hub):
    hub.faults(latency_ms=2500)
    order = hub.order()
    hub.post(order)
    wait_until(lambda: hub.status(order["uniqueid"])["status"] == "processing", 20)
    time.sleep(2.6)  # the worker is inside an ERP call (login done or line being written)
    hub.processes["erp-worker"].kill9()
    hub.faults(latency_ms=0)
    wait_until(lambda: hub.alive()["worker"]["state"] == "dead", 15)
    hub.start("erp-worker")
    status = hub.wait_final(order["uniqueid"])
    assert status["status"] == "created"
    assert len(hub.erp_lines(order["uniqueid"])) == 1


def test_broker_connection_dropped_mid_flow_loses_nothing(hub):
    orders = [hub.order() for _ in range(10)]
    for i, order in enumerate(orders):
        assert hub.post(order).status_code == 200
        if i == 4:
            hub.proxy.cut()
            time.sleep(0.5)
            hub.proxy.restore()
    for order in orders:
        assert hub.wait_final(order["uniqueid"])["status"] == "created"
        assert len(hub.erp_lines(order["uniqueid"])) == 1


def test_orders_posted_while_the_broker_is_unreachable_are_delivered_when_it_is_back(hub):
    hub.proxy.cut()
    orders = [hub.order() for _ in range(5)]
    for order in orders:
        answer = hub.post(order)
        assert answer.status_code == 200 and answer.json()["status"] == "placed"
    time.sleep(3)
    assert all(hub.status(o["uniqueid"])["status"] == "placed" for o in orders)
    assert hub.alive()["api"] == "running"
    hub.proxy.restore()
    for order in orders:
        assert hub.wait_final(order["uniqueid"], timeout=90)["status"] == "created"


def test_stop_worker_pauses_and_start_worker_resumes(hub):
    answer = hub.put("/stop_worker")
    assert answer["confirmed"] is True and answer["worker"]["state"] == "stopped"
    assert hub.alive()["worker"]["state"] == "stopped"
    order = hub.order()
    hub.post(order)
    time.sleep(2)
    assert hub.status(order["uniqueid"])["status"] == "placed"
    answer = hub.put("/start_worker")
    assert answer["confirmed"] is True and hub.alive()["worker"]["state"] == "running"
    assert hub.wait_final(order["uniqueid"])["status"] == "created"


def test_clear_queue_cancels_pending_orders_which_stay_visible(hub):
    hub.put("/stop_worker")
    orders = [hub.order() for _ in range(3)]
    for order in orders:
        hub.post(order)
    cleared = hub.put("/clear_queue")
    assert cleared["cancelled"] == 3
    hub.put("/start_worker")
    time.sleep(2)
    for order in orders:
        status = hub.status(order["uniqueid"])
        assert status["status"] == "cancelled"
        assert hub.erp_lines(order["uniqueid"]) == []


def test_sigterm_stops_the_worker_cleanly_and_alive_says_stopped(hub):
    assert hub.processes["erp-worker"].stop() == 0
    assert hub.alive()["worker"]["state"] == "stopped"


def test_embedded_defaults_carry_an_order_end_to_end(embedded_hub):
    for name in ("demo-erp", "erp-api", "erp-worker"):
        embedded_hub.start(name)
    order = embedded_hub.order()
    embedded_hub.post(order)
    assert embedded_hub.wait_final(order["uniqueid"])["status"] == "created"
    assert len(embedded_hub.erp_lines(order["uniqueid"])) == 1
