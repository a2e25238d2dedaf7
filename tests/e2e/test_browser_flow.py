"""Orders through real processes, RabbitMQ and a real browser: erp-worker drives the demo ERP's web pages
with the Selenium adapter (HUB_ERP_ADAPTER=selenium-demo)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests

from erp_worker.browser import browser_installed

from .conftest import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub(rabbit_hub):
    if not browser_installed():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("chromium/chromedriver missing and REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip("chromium and chromedriver are not installed")
    rabbit_hub.env.update(HUB_ERP_ADAPTER="selenium-demo", HUB_ERP_TIMEOUT_SECONDS="5")
    for name in ("demo-erp", "erp-api", "erp-worker"):
        rabbit_hub.start(name)
    rabbit_hub.wait_worker("running")
    return rabbit_hub


def counters(hub) -> dict:
    return requests.get(hub.erp_url + "/_sim/state", timeout=5).json()["counters"]


def chromium_pids(session_id: int) -> list[int]:
    """Chromium processes started by the worker (they share its session)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[3]) == session_id and b"chromium" in cmdline and b"chromedriver" not in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def log_in_with_one_order(hub) -> None:
    """One order first, so the browser is warm and logged in when a fault hits the next one."""
    warm = hub.order()
    hub.post(warm)
    hub.wait_final(warm["uniqueid"])


def test_an_order_becomes_a_line_through_the_browser(hub):
    order = hub.order()
    hub.post(order)
    status = hub.wait_final(order["uniqueid"])
    assert status["status"] == "created", status
    assert len(hub.erp_lines(order["uniqueid"])) == 1
    assert counters(hub)["ui_lines_created"] == 1 and counters(hub)["lines_created"] == 1


@pytest.mark.parametrize("fault", [{"ui_fail_next": 1}, {"ui_error_banner": 1}, {"ui_expire_sessions": True},
                                   {"ui_fail_after_save": 1}])
def test_injected_faults_are_retried_then_created_with_one_line(hub, fault):
    log_in_with_one_order(hub)
    hub.faults(**fault)
    order = hub.order()
    hub.post(order)
    status = hub.wait_final(order["uniqueid"])
    assert status["status"] == "created", status
    assert len(hub.erp_lines(order["uniqueid"])) == 1


def test_permanent_failures_end_in_error_with_screenshot_and_page(hub):
    unknown, changed = hub.order(product_nr="999"), hub.order()
    hub.post(unknown)
    status = hub.wait_final(unknown["uniqueid"])
    assert (status["status"], status["reason_code"]) == ("error", "product_not_found")
    assert status["reason_text"] == "Unknown product 999"
    names = {a["name"] for a in status["artifacts"]}
    assert names == {"attempt1-screenshot.png", "attempt1-page.html"}
    page = requests.get(hub.api_url + status["artifacts"][0]["url"].replace("screenshot.png", "page.html"),
                        headers=hub.headers, timeout=5)
    assert page.status_code == 200 and "Unknown product 999" in page.text
    hub.faults(ui_changed_ids=True)
    hub.post(changed)
    assert hub.wait_final(changed["uniqueid"])["reason_code"] == "erp_page_changed"


def test_kill_9_of_the_worker_mid_order_then_restart_gives_one_line(hub):
    log_in_with_one_order(hub)
    hub.faults(ui_slow_ms=1500)
    order = hub.order()
    hub.post(order)
    wait_until(lambda: hub.status(order["uniqueid"])["status"] == "processing", 20)
    time.sleep(2.0)
    worker = hub.processes["erp-worker"]
    session = worker.pid
    worker.kill9()
    wait_until(lambda: not chromium_pids(session), 10, lambda: "chromium outlived the killed worker")
    hub.faults(ui_slow_ms=0)
    hub.start("erp-worker")
    assert hub.wait_final(order["uniqueid"])["status"] == "created"
    assert len(hub.erp_lines(order["uniqueid"])) == 1


def test_kill_9_of_the_worker_after_the_erp_saved_the_line_then_restart_gives_one_line(hub):
    """The worst moment: the ERP has saved the line, the worker dies before it commits `created`. Its first
    attempt went straight to the form without looking (no line could exist yet); the redelivery counts
    attempt 2 before it acts, so it looks, finds the line and adds none."""
    log_in_with_one_order(hub)
    hub.faults(ui_slow_ms=1500)  # the page after the save and its lines take 3 s or more
    order = hub.order()
    hub.post(order)
    wait_until(lambda: len(hub.erp_lines(order["uniqueid"])) == 1, 30, lambda: f"no line yet\n{hub.logs()}")
    worker = hub.processes["erp-worker"]
    session = worker.pid
    worker.kill9()
    assert hub.status(order["uniqueid"])["status"] == "processing"
    wait_until(lambda: not chromium_pids(session), 10, lambda: "chromium outlived the killed worker")
    hub.faults(ui_slow_ms=0)
    hub.start("erp-worker")
    assert hub.wait_final(order["uniqueid"])["status"] == "created"
    assert len(hub.erp_lines(order["uniqueid"])) == 1
    assert counters(hub)["ui_lines_created"] == 2  # the warm-up order's line and this one, once


def test_kill_9_of_chromium_mid_order_is_retried_with_a_new_browser(hub):
    log_in_with_one_order(hub)
    hub.faults(ui_slow_ms=1000)
    order = hub.order()
    hub.post(order)
    wait_until(lambda: hub.status(order["uniqueid"])["status"] == "processing", 20)
    time.sleep(0.5)
    for pid in chromium_pids(hub.processes["erp-worker"].pid):
        os.kill(pid, signal.SIGKILL)
    hub.faults(ui_slow_ms=0)
    status = hub.wait_final(order["uniqueid"])
    assert status["status"] == "created", status
    assert len(hub.erp_lines(order["uniqueid"])) == 1
    assert hub.alive()["worker"]["state"] == "running"


def test_fifty_orders_in_a_row_reuse_one_browser_session(hub):
    orders = [hub.order(worksheet=str(560 + i % 10)) for i in range(50)]
    for order in orders:
        assert hub.post(order).status_code == 200
    for order in orders:
        assert hub.wait_final(order["uniqueid"], timeout=120)["status"] == "created"
    assert counters(hub)["ui_logins"] == 1
    metrics = requests.get(hub.worker_probe_url + "/metrics", timeout=5).text
    assert 'hub_browser_starts_total{reason="first use"} 1.0' in metrics
    assert sum(line.startswith("hub_browser_starts_total{") for line in metrics.splitlines()) == 1
