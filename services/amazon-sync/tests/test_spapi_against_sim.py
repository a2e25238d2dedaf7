"""The spapi client against the SP-API simulator over real HTTP, its clock running fast: Orders v0, Orders
2026-01-01 and the orders flat file give the same records; a 429 storm is waited out and counted; access
tokens that expire mid-search are refreshed; a burst and then the refill rate are spent without one 429;
reports run their lifecycle down to the document; an expired document URL is asked for again."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import requests
from service_fixtures import Sim

from amazon_sync.kind import AmazonCredentials
from amazon_sync.records import OrderRecord
from amazon_sync.spapi import LwaRejected, SpApiClient
from amazon_sync.spapi.flat_files import decode, inventory_rows, order_rows
from amazon_sync.spapi.limits import RateLimiter
from amazon_sync.spapi.lwa import AccessTokens
from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.testing.services import serving
from simulators.spapi.accounts import DEMO_APP_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
from simulators.spapi.app import create_app

SPEED = 600.0  # the simulator's clock: a 60 s report job takes 0.1 s, an access token lives 6 s
UK = "A1F83G8C2ARO7P"
INVENTORY = "GET_FBA_MYI_ALL_INVENTORY_DATA"
BY_ORDER_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
CREDENTIALS = AmazonCredentials(lwa_app_id=DEMO_APP_ID, lwa_client_secret=DEMO_CLIENT_SECRET,
                                refresh_token=DEMO_REFRESH_TOKEN)


@pytest.fixture(scope="module")
def sim_url():
    with serving(create_app(seed=7, orders=1500, speed=SPEED, job_seconds=60)) as url:
        yield url


def settings_for(sim: Sim, **overrides):
    from amazon_sync.kind import AmazonSettings

    values = {"api_url": sim.url, "lwa_url": f"{sim.url}/auth/o2/token", "time_speed": SPEED,
              "marketplaces": UK, "request_timeout_seconds": 5, "request_attempts": 6, "retry_base_seconds": 1,
              "retry_max_seconds": 30, "report_poll_seconds": 15}
    return AmazonSettings(**{**values, **overrides})


def client_for(sim: Sim, session: requests.Session | None = None, **overrides) -> SpApiClient:
    """A client with its own limiter and token cache (the simulator's buckets are full after a reset)."""
    settings = settings_for(sim, **overrides)
    return SpApiClient(settings, CREDENTIALS, session=session, tokens=AccessTokens(settings, session=session),
                       limiter=RateLimiter(settings))


def window(sim: Sim, days: float) -> tuple[datetime, datetime]:
    """The `days` of orders before the simulator's start (its data reaches back 90 days from there)."""
    end = sim.now().replace(microsecond=0) - timedelta(hours=1)
    return end - timedelta(days=days), end


def without_invoice_unconfirmed(record: OrderRecord) -> OrderRecord:
    """Orders 2026-01-01 has no InvoiceUnconfirmed: such orders are SHIPPED there."""
    return replace(record, order_status="Shipped") if record.order_status == "InvoiceUnconfirmed" else record


def test_v0_2026_and_the_flat_file_give_the_same_records(sim):
    start, end = window(sim, 20)
    v0 = client_for(sim, orders_api="v0")
    found_v0 = [(order, v0.orders.order_items(order.amazon_order_id, marketplace_id=UK))
                for order, items in v0.orders.search(UK, created_after=start, created_before=end)]
    assert len(found_v0) > 50 and all(items for _, items in found_v0)

    v2026 = client_for(sim)
    search = v2026.orders.search(UK, created_after=start, created_before=end)
    found_2026 = list(search)
    assert search.window_end == end
    assert [(without_invoice_unconfirmed(o), items) for o, items in found_v0] == found_2026
    statuses = {order.order_status for order, _ in found_2026}
    assert {"Shipped", "Canceled"} <= statuses

    report_id = v2026.reports.create(BY_ORDER_DATE, [UK], data_start=start, data_end=end)
    done = v2026.reports.wait(report_id, poll_seconds=15, timeout_seconds=3600)
    flat = list(order_rows(decode(v2026.reports.document(done["reportDocumentId"]))))
    assert len(flat) == len(found_2026)
    for (api_order, api_items), (file_order, file_items) in zip(found_2026, flat, strict=True):
        # the flat file shows addresses the API withholds, and has no order item ids
        if api_order.ship_city is None:
            file_order = replace(file_order, ship_city=None, ship_state=None, ship_postal_code=None,
                                 ship_country=None)
        assert file_order == replace(api_order, order_status=file_order.order_status)
        assert file_order.order_status == ("Pending" if api_order.order_status == "PendingAvailability"
                                           else api_order.order_status)
        assert file_items == [replace(item, order_item_id=None) for item in api_items]


def test_a_429_storm_is_waited_out_and_counted(sim):
    client = client_for(sim)
    start, end = window(sim, 2)
    sim.faults(throttle_next=3)
    orders = list(client.orders.search(UK, created_after=start, created_before=end))
    assert orders
    assert sim.throttled("searchOrders") == 3
    assert client.limiter.stats()["searchOrders"].throttled == 3
    assert client.transport.counts["throttled"] == 3

    sim.faults(throttle_next=10)
    with pytest.raises(TransientError) as caught:
        list(client_for(sim, request_attempts=2).orders.search(UK, created_after=start, created_before=end))
    assert caught.value.reason_code == "spapi_throttled"


def test_server_errors_are_tried_again(sim):
    client = client_for(sim)
    sim.faults(fail_next=2, fail_status=503)
    report_id = client.reports.create(INVENTORY, [UK])
    assert report_id
    assert client.transport.counts["server_error"] == 2


def test_access_tokens_expiring_mid_search_are_refreshed(sim):
    start, end = window(sim, 80)
    expected = [order.amazon_order_id for order, _ in client_for(sim, orders_api="v0").orders.search(
        UK, created_after=start, created_before=end)]
    assert len(expected) > 200  # three pages or more

    client = client_for(sim, orders_api="v0")
    issued = sim.state()["counters"]["lwa_tokens_issued"]
    found = []
    for number, (order, _) in enumerate(client.orders.search(UK, created_after=start, created_before=end)):
        found.append(order.amazon_order_id)
        if number == 150:  # the second page is being read: every token issued so far expires
            sim.faults(expire_tokens=True)
    assert found == expected
    assert client.transport.counts["token_refused"] == 1
    assert sim.state()["counters"]["lwa_tokens_issued"] == issued + 2


def test_tokens_are_refreshed_before_they_expire_on_the_upstreams_clock(sim):
    client = client_for(sim, token_refresh_margin_seconds=300)
    first = client.tokens.get(CREDENTIALS)
    # 3600 s of upstream time are 6 s of wall time at 600x; refreshed 300 upstream seconds (0.5 s) before
    assert first.expires_at - time.time() == pytest.approx(6.0, abs=0.5)
    sim.post("/_sim/clock", {"advance_seconds": 3600})  # the upstream's clock jumps: our token is dead there
    client.reports.create(INVENTORY, [UK])
    assert client.transport.counts["token_refused"] == 1


@pytest.fixture
def slower(sim):
    """The simulator's clock at 200x for one test (then 600x again)."""
    sim.post("/_sim/clock", {"speed": 200})
    try:
        yield 200.0
    finally:
        sim.post("/_sim/clock", {"speed": SPEED})


def test_a_burst_and_then_the_refill_rate_meet_no_429(sim, slower):
    """getOrderItems (0.5/s, burst 30) for 150 orders from 4 threads: the first 30 at once, the rest at
    100 per second at 200x, and not one 429."""
    start, end = window(sim, 60)
    listing = client_for(sim, time_speed=slower)
    order_ids = [order.amazon_order_id for order, _ in listing.orders.search(UK, created_after=start,
                                                                             created_before=end)][:150]
    assert len(order_ids) == 150
    sim.post("/_sim/reset", {})  # full buckets again
    client = client_for(sim, orders_api="v0", time_speed=slower)
    queue = list(order_ids)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work():
        while True:
            with lock:
                if not queue:
                    return
                order_id = queue.pop()
            try:
                client.orders.order_items(order_id, marketplace_id=UK)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    assert not errors
    stats = client.limiter.stats()["getOrderItems"]
    assert sim.throttled("getOrderItems") == 0 and stats.throttled == 0
    assert stats.calls == 150 and stats.waits > 0
    ideal = (150 - 30) / (0.5 * slower)  # what Amazon's bucket allows at best
    assert ideal <= elapsed + 0.05 and elapsed < ideal * 1.5 + 0.3


def test_a_seller_with_a_scaled_plan_spends_it_without_429():
    """A seller whose plans are half the defaults (getReport: 1/s, burst 7 or 8): 40 status checks at 100x
    take the scaled burst, then the scaled rate, and meet no 429."""
    with serving(create_app(seed=3, orders=10, speed=100, rate_scale=0.5)) as url:
        sim = Sim(url)
        client = client_for(sim, time_speed=100, rate_scale=0.5)
        report_id = client.reports.create(INVENTORY, [UK])
        started = time.monotonic()
        for _ in range(40):
            client.reports.get(report_id)
        elapsed = time.monotonic() - started
        assert sim.throttled("getReport") == 0
        assert client.limiter.stats()["getReport"].calls == 40
        assert elapsed >= (40 - 8) / (1.0 * 100)  # never faster than the scaled plan


def test_a_reports_lifecycle_down_to_its_document(sim):
    client = client_for(sim)
    report_id = client.reports.create(INVENTORY, [UK])
    done = client.reports.wait(report_id, poll_seconds=15, timeout_seconds=3600)
    assert done["processingStatus"] == "DONE"
    rows = inventory_rows(decode(client.reports.document(done["reportDocumentId"])), UK, "2026-12-01")
    assert len(rows) > 10 and all(row.sku and row.marketplace_id == UK for row in rows)
    assert any(row.afn_total_quantity for row in rows)
    assert any(r["reportId"] == report_id for r in client.reports.find([INVENTORY]))


@pytest.mark.parametrize(("fault", "reason"), [("fatal_next_reports", "spapi_report_fatal"),
                                               ("cancel_next_reports", "spapi_report_cancelled")])
def test_fatal_and_cancelled_reports_fail_permanently(sim, fault, reason):
    client = client_for(sim)
    sim.faults(**{fault: 1})
    report_id = client.reports.create(INVENTORY, [UK])
    with pytest.raises(PermanentError) as caught:
        client.reports.wait(report_id, poll_seconds=15, timeout_seconds=3600)
    assert caught.value.reason_code == reason


def test_a_report_with_no_data_is_cancelled(sim):
    client = client_for(sim)
    end = sim.now() - timedelta(days=200)  # before any order
    report_id = client.reports.create(BY_ORDER_DATE, [UK], data_start=end - timedelta(days=1), data_end=end)
    with pytest.raises(PermanentError, match="spapi_report_cancelled"):
        client.reports.wait(report_id, poll_seconds=15, timeout_seconds=3600)


def test_a_queued_report_can_be_cancelled(sim):
    client = client_for(sim)
    sim.faults(job_seconds=86400)
    report_id = client.reports.create(INVENTORY, [UK])
    client.reports.cancel(report_id)
    assert client.reports.get(report_id)["processingStatus"] == "CANCELLED"


def test_a_report_not_done_in_time_is_transient(sim):
    client = client_for(sim)
    sim.faults(job_seconds=86400)
    report_id = client.reports.create(INVENTORY, [UK])
    with pytest.raises(TransientError, match="spapi_report_timeout"):
        client.reports.wait(report_id, poll_seconds=60, timeout_seconds=300)


def test_an_expired_document_url_is_asked_for_again(sim):
    client = client_for(sim)
    report_id = client.reports.create(INVENTORY, [UK])
    document_id = client.reports.wait(report_id)["reportDocumentId"]
    session = requests.Session()
    expired = []

    def expire_the_first_url(response, *args, **kwargs):
        if "/documents/" in response.url and not expired:
            expired.append(response.json()["url"])
            sim.faults(expire_document_urls=True)

    session.hooks["response"].append(expire_the_first_url)
    refetching = client_for(sim, session=session)
    data = refetching.reports.document(document_id)
    assert data.startswith(b"sku\t")
    assert expired and sim.state()["counters"]["refused_downloads"] == 1
    assert sim.state()["operations"]["getReportDocument"]["succeeded"] == 2


def test_schedules(sim):
    client = client_for(sim)
    schedule_id = client.reports.create_schedule(INVENTORY, [UK], "P1D")
    assert [s["reportScheduleId"] for s in client.reports.list_schedules([INVENTORY])] == [schedule_id]
    client.reports.cancel_schedule(schedule_id)
    assert client.reports.list_schedules([INVENTORY]) == []


def test_check_credentials(sim):
    assert client_for(sim).check_credentials().value.startswith("Atza|")
    wrong = AmazonCredentials(lwa_app_id=DEMO_APP_ID, lwa_client_secret=DEMO_CLIENT_SECRET,
                              refresh_token="Atzr|not-a-seller-of-this-app")
    settings = settings_for(sim)
    with pytest.raises(LwaRejected, match="lwa_invalid_grant"):
        SpApiClient(settings, wrong, limiter=RateLimiter(settings)).check_credentials()
