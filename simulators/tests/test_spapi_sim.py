"""The SP-API simulator over real HTTP: LWA, access tokens, Orders v0 and 2026-01-01, rate limits, the
Reports API down to the gzip document behind its URL, schedules, faults, the flat file against the
per-order calls, reproducible data and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
import requests

from hub_runtime.testing.services import serving
from simulators.spapi.accounts import DEMO_APP_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DEMO_SELLER_ID
from simulators.spapi.app import create_app
from simulators.spapi.cli import parse_args
from simulators.spapi.context import EXTENSION_KEY
from simulators.spapi.order_search import TWO_MINUTES
from simulators.spapi.report_content import INVENTORY_COLUMNS, ORDER_COLUMNS
from simulators.spapi.reports import PERIODS
from simulators.spapi.store import SellerStore

SPEED = 20  # simulated time runs 20x: a 4 s report job takes 0.2 s
JOB_SECONDS = 4
DE, FR, UK = "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A1F83G8C2ARO7P"
ALL_MARKETPLACES = ",".join(("A1PA6795UKMFR9", "A1F83G8C2ARO7P", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4",
                             "A1RKKUPIHCS9HS", "A1805IZSGTT6HS", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3", "ATVPDKIKX0DER",
                             "A2EUQ1WTGCTBG2"))
INVENTORY = "GET_FBA_MYI_ALL_INVENTORY_DATA"
BY_ORDER_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
DAY = 86400


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def wait_for(condition: Callable[[], object], what: str, timeout: float = 15) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Sim:
    """The simulator's base URL, its in-process app (to compare answers with its data) and call helpers."""

    def __init__(self, base: str, app) -> None:
        self.base = base
        self.app = app
        self.http = requests.Session()

    @property
    def ctx(self):
        return self.app.extensions[EXTENSION_KEY]

    def lwa(self, **form) -> requests.Response:
        return self.http.post(f"{self.base}/auth/o2/token", data=form, timeout=10)

    def token(self, refresh_token: str = DEMO_REFRESH_TOKEN) -> str:
        response = self.lwa(grant_type="refresh_token", refresh_token=refresh_token, client_id=DEMO_APP_ID,
                            client_secret=DEMO_CLIENT_SECRET)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def call(self, method: str, path: str, token: str | None, **kwargs) -> requests.Response:
        headers = ({"x-amz-access-token": token} if token else {}) | kwargs.pop("headers", {})
        return self.http.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kwargs)

    def get(self, path: str, token: str | None, **params) -> requests.Response:
        return self.call("GET", path, token, params=params)

    def ok(self, method: str, path: str, token: str, status: int = 200, **kwargs) -> dict:
        response = self.call(method, path, token, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    def faults(self, **settings) -> dict:
        response = self.http.post(f"{self.base}/_sim/faults", json=settings, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def advance(self, seconds: float) -> None:
        assert self.http.post(f"{self.base}/_sim/clock", json={"advance_seconds": seconds}, timeout=10).ok

    def now(self) -> float:
        return self.http.get(f"{self.base}/_sim/clock", timeout=10).json()["epoch"]

    def state(self) -> dict:
        return self.http.get(f"{self.base}/_sim/state", timeout=10).json()

    def sim_orders(self, **body) -> dict:
        response = self.http.post(f"{self.base}/_sim/orders", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def server():
    app = create_app(seed=7, orders=600, speed=SPEED, job_seconds=JOB_SECONDS, sellers=["second"])
    with serving(app) as url:
        yield Sim(url, app)


@pytest.fixture
def sim(server) -> Sim:
    assert server.http.post(f"{server.base}/_sim/reset", timeout=10).json() == {"ok": True}
    return server


@pytest.fixture
def token(sim) -> str:
    return sim.token()


def demo_orders(sim: Sim):
    return sim.ctx.stores[DEMO_SELLER_ID].orders()


def all_orders(sim: Sim, token: str, **params) -> list[dict]:
    """Every order of a getOrders query, following NextToken."""
    orders, page = [], sim.ok("GET", "/orders/v0/orders", token, params=params)["payload"]
    orders += page["Orders"]
    while page.get("NextToken"):
        page = sim.ok("GET", "/orders/v0/orders", token,
                      params={"MarketplaceIds": params["MarketplaceIds"], "NextToken": page["NextToken"]})["payload"]
        orders += page["Orders"]
    return orders


def finished(sim: Sim, token: str, report_id: str) -> dict:
    def done():
        report = sim.ok("GET", f"/reports/2021-06-30/reports/{report_id}", token)
        return report if report["processingStatus"] in ("DONE", "FATAL", "CANCELLED") else None

    return wait_for(done, f"report {report_id}")


def create_report(sim: Sim, token: str, report_type: str = INVENTORY, **body) -> str:
    answer = sim.ok("POST", "/reports/2021-06-30/reports", token, status=202,
                    json={"reportType": report_type, "marketplaceIds": [DE]} | body)
    assert set(answer) == {"reportId"}
    return answer["reportId"]


def download(sim: Sim, token: str, document_id: str) -> tuple[dict, requests.Response]:
    document = sim.ok("GET", f"/reports/2021-06-30/documents/{document_id}", token)
    return document, requests.get(document["url"], timeout=10)


def tsv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(content).decode("utf-8")), delimiter="\t"))


# --- LWA and access tokens ---------------------------------------------------------------------------------


def test_lwa_exchanges_the_refresh_token_for_an_access_token(sim):
    response = sim.lwa(grant_type="refresh_token", refresh_token=DEMO_REFRESH_TOKEN, client_id=DEMO_APP_ID,
                       client_secret=DEMO_CLIENT_SECRET)
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("Atza|")
    assert (body["token_type"], body["expires_in"], body["refresh_token"]) == ("bearer", 3600, DEMO_REFRESH_TOKEN)
    # some SDKs post JSON instead of a form
    as_json = sim.http.post(f"{sim.base}/auth/o2/token", timeout=10, json={
        "grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN, "client_id": DEMO_APP_ID,
        "client_secret": DEMO_CLIENT_SECRET})
    assert as_json.status_code == 200 and as_json.json()["access_token"] != body["access_token"]


GOOD = {"grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN, "client_id": DEMO_APP_ID,
        "client_secret": DEMO_CLIENT_SECRET}


@pytest.mark.parametrize(("form", "status", "error", "description"), [
    (GOOD | {"client_secret": "wrong"}, 401, "invalid_client", "Client authentication failed"),
    (GOOD | {"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client", "Client authentication failed"),
    (GOOD | {"refresh_token": "Atzr|not-issued"}, 400, "invalid_grant",
     "The request has an invalid grant parameter : refresh_token"),
    ({k: v for k, v in GOOD.items() if k != "refresh_token"}, 400, "invalid_request",
     "The request is missing a required parameter : refresh_token"),
    ({k: v for k, v in GOOD.items() if k != "grant_type"}, 400, "invalid_request",
     "The request is missing a required parameter : grant_type"),
    (GOOD | {"grant_type": "password"}, 400, "unsupported_grant_type",
     "The authorization grant type is not supported by the authorization server"),
])
def test_lwa_errors(sim, form, status, error, description):
    response = sim.lwa(**form)
    assert (response.status_code, response.json()) == (status, {"error_description": description, "error": error})
    assert sim.state()["counters"]["lwa_refused"] == 1


@pytest.mark.parametrize(("token", "details"), [
    (None, "Access token is missing in the request header."),
    ("Atza|forged", "The access token you provided is revoked, malformed or invalid."),
])
def test_calls_need_a_valid_access_token(sim, token, details):
    response = sim.get("/orders/v0/orders", token, MarketplaceIds=DE, CreatedAfter="2020-01-01T00:00:00Z")
    assert response.status_code == 403
    assert response.json() == {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                           "details": details}]}
    assert response.headers["x-amzn-RequestId"]


EXPIRED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                       "details": "The access token you provided has expired."}]}


def test_access_tokens_expire_after_an_hour_of_simulated_time(sim, token):
    params = {"MarketplaceIds": DE, "CreatedAfter": iso(sim.now() - DAY)}
    assert sim.get("/orders/v0/orders", token, **params).status_code == 200
    sim.advance(3600)
    response = sim.get("/orders/v0/orders", token, **params)
    assert (response.status_code, response.json()) == (403, EXPIRED)
    assert sim.get("/orders/v0/orders", sim.token(), **params).status_code == 200


def test_expire_tokens_fault_expires_every_issued_token(sim, token):
    sim.faults(expire_tokens=True)
    response = sim.get("/reports/2021-06-30/reports", token, reportTypes=INVENTORY)
    assert (response.status_code, response.json()) == (403, EXPIRED)
    assert sim.get("/reports/2021-06-30/reports", sim.token(), reportTypes=INVENTORY).status_code == 200


# --- Orders v0 ---------------------------------------------------------------------------------------------


def test_get_orders_pages_cover_every_order_exactly_once(sim, token):
    first = sim.ok("GET", "/orders/v0/orders", token,
                   params={"MarketplaceIds": ALL_MARKETPLACES, "CreatedAfter": iso(sim.now() - 100 * DAY),
                           "MaxResultsPerPage": 37})["payload"]
    before = epoch(first["CreatedBefore"])
    assert len(first["Orders"]) == 37 and first["NextToken"]
    # a later page follows the token: the filters sent with it are ignored (even an invalid one)
    second = sim.ok("GET", "/orders/v0/orders", token, params={
        "MarketplaceIds": ALL_MARKETPLACES, "NextToken": first["NextToken"], "CreatedAfter": "yesterday",
        "MaxResultsPerPage": 1, "OrderStatuses": "Canceled"})["payload"]
    assert len(second["Orders"]) == 37
    ids = [o["AmazonOrderId"] for o in all_orders(sim, token, MarketplaceIds=ALL_MARKETPLACES,
                                                   CreatedAfter=iso(sim.now() - 100 * DAY), MaxResultsPerPage=37)]
    expected = {o.amazon_order_id for o in demo_orders(sim) if o.purchase_date <= before}
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert [o["AmazonOrderId"] for o in first["Orders"] + second["Orders"]] == ids[:74]


def test_get_orders_filters_by_marketplace_status_and_channel(sim, token):
    orders = all_orders(sim, token, MarketplaceIds=f"{DE},{UK}", CreatedAfter=iso(sim.now() - 100 * DAY),
                        OrderStatuses="Shipped,Canceled", FulfillmentChannels="MFN")
    assert orders
    assert {o["MarketplaceId"] for o in orders} <= {DE, UK}
    assert {o["OrderStatus"] for o in orders} <= {"Shipped", "Canceled"}
    assert {o["FulfillmentChannel"] for o in orders} == {"MFN"}
    assert {o["SalesChannel"] for o in orders} <= {"Amazon.de", "Amazon.co.uk"}


def test_before_dates_must_be_two_minutes_old(sim, token):
    now = sim.now()
    for name, after in (("CreatedBefore", "CreatedAfter"), ("LastUpdatedBefore", "LastUpdatedAfter")):
        response = sim.get("/orders/v0/orders", token, MarketplaceIds=DE, **{after: iso(now - DAY),
                                                                              name: iso(now - 60)})
        assert response.status_code == 400
        assert response.json()["errors"][0] | {"details": ""} == {"code": "InvalidInput", "message": TWO_MINUTES,
                                                                 "details": ""}
        answer = sim.ok("GET", "/orders/v0/orders", token, params={"MarketplaceIds": DE, after: iso(now - DAY),
                                                                   name: iso(now - 180)})
        assert answer["payload"][name] == iso(now - 180)


@pytest.mark.parametrize("params", [
    {"CreatedAfter": "2026-01-01T00:00:00Z", "LastUpdatedAfter": "2026-01-01T00:00:00Z"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "LastUpdatedBefore": "2026-01-02T00:00:00Z"},
    {"LastUpdatedAfter": "2026-01-01T00:00:00Z", "CreatedBefore": "2026-01-02T00:00:00Z"},
    {"CreatedBefore": "2026-01-02T00:00:00Z"},
    {},
    {"CreatedAfter": "2026-01-02T00:00:00Z", "CreatedBefore": "2026-01-01T00:00:00Z"},
    {"CreatedAfter": "01/02/2026"},
    {"CreatedAfter": "2026-13-01T00:00:00Z"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "MaxResultsPerPage": "0"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "MaxResultsPerPage": "101"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "MaxResultsPerPage": "ten"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "MarketplaceIds": "A1VC38T7YXB528"},  # Japan: not the seller's
    {"CreatedAfter": "2026-01-01T00:00:00Z", "MarketplaceIds": "NOT-A-MARKETPLACE"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "MarketplaceIds": ""},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "OrderStatuses": "Cancelled"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "FulfillmentChannels": "FBA"},
    {"CreatedAfter": "2026-01-01T00:00:00Z", "NextToken": "not-a-token"},
])
def test_get_orders_refuses_what_amazon_refuses(sim, token, params):
    response = sim.get("/orders/v0/orders", token, **({"MarketplaceIds": DE} | params))
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput" and error["message"]


def test_extra_query_parameters_are_tolerated(sim, token):
    extras = {"MarketplaceId": DE, "marketplace_ids": DE, "marketplaceIds": DE, "whatever": "1"}
    orders = sim.ok("GET", "/orders/v0/orders", token, params={
        "MarketplaceIds": DE, "CreatedAfter": iso(sim.now() - 30 * DAY), **extras})["payload"]["Orders"]
    order_id = orders[0]["AmazonOrderId"]
    assert sim.get(f"/orders/v0/orders/{order_id}/orderItems", token, **extras).status_code == 200
    assert sim.get(f"/orders/2026-01-01/orders/{order_id}", token, **extras).status_code == 200
    assert sim.get("/reports/2021-06-30/reports", token, reportTypes=INVENTORY, **extras).status_code == 200


def test_get_order_items_and_get_order(sim, token):
    order = next(o for o in demo_orders(sim) if o.status == "Shipped" and len(o.items) >= 2)
    items = sim.ok("GET", f"/orders/v0/orders/{order.amazon_order_id}/orderItems", token)["payload"]
    assert items["AmazonOrderId"] == order.amazon_order_id and "NextToken" not in items
    assert [i["SellerSKU"] for i in items["OrderItems"]] == [i.sku for i in order.items]
    first = items["OrderItems"][0]
    assert {"ASIN", "SellerSKU", "OrderItemId", "Title", "QuantityOrdered", "QuantityShipped", "ItemPrice", "ItemTax",
            "ShippingPrice", "ShippingTax", "PromotionDiscount", "ShippingDiscount"} <= set(first)
    assert first["QuantityShipped"] == first["QuantityOrdered"] >= 1
    assert first["ItemPrice"]["CurrencyCode"] == order.currency
    got = sim.ok("GET", f"/orders/v0/orders/{order.amazon_order_id}", token)["payload"]
    assert got["AmazonOrderId"] == order.amazon_order_id and got["OrderStatus"] == "Shipped"
    assert set(got["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}
    missing = sim.get("/orders/v0/orders/999-0000000-0000000/orderItems", token)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    assert sim.get("/orders/v0/orders/999-0000000-0000000", token).status_code == 404
    assert sim.get("/orders/v0/orders/not-an-order/orderItems", token).status_code == 400


def test_pending_and_canceled_orders_withhold_amounts(sim, token):
    canceled = next(o for o in demo_orders(sim) if o.status == "Canceled")
    pending = sim.sim_orders(add=1, status="Pending", items=2)["orders"][0]
    for order_id in (canceled.amazon_order_id, pending["AmazonOrderId"]):
        order = sim.ok("GET", f"/orders/v0/orders/{order_id}", token)["payload"]
        assert "OrderTotal" not in order and "ShippingAddress" not in order
        for item in sim.ok("GET", f"/orders/v0/orders/{order_id}/orderItems", token)["payload"]["OrderItems"]:
            assert "ItemPrice" not in item and "ItemTax" not in item
            assert (item["QuantityOrdered"] == 0) == (order_id == canceled.amazon_order_id)


def test_order_items_page_with_next_token(sim, token):
    big = sim.sim_orders(add=1, items=120, status="Unshipped", marketplace_id=DE)["orders"][0]
    path = f"/orders/v0/orders/{big['AmazonOrderId']}/orderItems"
    first = sim.ok("GET", path, token)["payload"]
    assert len(first["OrderItems"]) == 100 and first["NextToken"]
    second = sim.ok("GET", path, token, params={"NextToken": first["NextToken"]})["payload"]
    assert "NextToken" not in second
    skus = [i["SellerSKU"] for i in first["OrderItems"] + second["OrderItems"]]
    expected = [item.sku for item in sim.ctx.stores[DEMO_SELLER_ID].get(big["AmazonOrderId"]).items]
    assert skus == expected and len(set(skus)) == len(skus) > 100


def test_last_updated_after_sees_changed_orders_once_two_minutes_pass(sim, token):
    order = next(o for o in demo_orders(sim) if o.status == "Unshipped")
    since = sim.now() - 30
    sim.sim_orders(amazon_order_id=order.amazon_order_id, status="Shipped")
    query = {"MarketplaceIds": ALL_MARKETPLACES, "LastUpdatedAfter": iso(since)}
    assert order.amazon_order_id not in {o["AmazonOrderId"] for o in all_orders(sim, token, **query)}
    sim.advance(150)  # the data delay: an update is visible two minutes after it happened
    changed = [o for o in all_orders(sim, token, **query) if o["AmazonOrderId"] == order.amazon_order_id]
    assert [o["OrderStatus"] for o in changed] == ["Shipped"]
    assert epoch(changed[0]["LastUpdateDate"]) >= since
    report = finished(sim, token, create_report(sim, token, "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
                                                marketplaceIds=[order.marketplace.id], dataStartTime=iso(since)))
    rows = tsv(download(sim, token, report["reportDocumentId"])[1].content)
    assert {r["order-status"] for r in rows if r["amazon-order-id"] == order.amazon_order_id} == {"Shipped"}
    assert all(epoch(r["last-updated-date"]) >= since for r in rows)


# --- Orders 2026-01-01 --------------------------------------------------------------------------------------


def test_search_orders_gives_the_same_orders_as_get_orders(sim, token):
    now = sim.now()
    window = {"CreatedAfter": iso(now - 20 * DAY), "CreatedBefore": iso(now - 10 * DAY)}
    v0 = all_orders(sim, token, MarketplaceIds=f"{DE},{FR}", **window)
    v2026, page = [], sim.ok("GET", "/orders/2026-01-01/orders", token, params={
        "marketplaceIds": f"{DE},{FR}", "createdAfter": window["CreatedAfter"],
        "createdBefore": window["CreatedBefore"], "maxResultsPerPage": 25,
        "includedData": "PROCEEDS,FULFILLMENT,RECIPIENT"})
    v2026 += page["orders"]
    while "pagination" in page:
        page = sim.ok("GET", "/orders/2026-01-01/orders", token,
                      params={"paginationToken": page["pagination"]["nextToken"], "includedData": "PROCEEDS"})
        v2026 += page["orders"]
    assert [o["orderId"] for o in v2026] == [o["AmazonOrderId"] for o in v0] and len(v0) > 25
    status = {"Shipped": "SHIPPED", "Canceled": "CANCELLED", "Unshipped": "UNSHIPPED",
              "InvoiceUnconfirmed": "SHIPPED", "PartiallyShipped": "PARTIALLY_SHIPPED", "Pending": "PENDING"}
    for old, new in zip(v0[:25], v2026[:25], strict=True):
        assert new["fulfillment"]["fulfillmentStatus"] == status[old["OrderStatus"]]
        assert new["createdTime"] == old["PurchaseDate"] and new["lastUpdatedTime"] == old["LastUpdateDate"]
        assert new["salesChannel"]["marketplaceId"] == old["MarketplaceId"]
        if "OrderTotal" in old:
            assert new["proceeds"]["grandTotal"] == {"amount": old["OrderTotal"]["Amount"],
                                                     "currencyCode": old["OrderTotal"]["CurrencyCode"]}
        else:
            assert "proceeds" not in new
        assert ("recipient" in new) == ("ShippingAddress" in old)
    one = v2026[3]
    single = sim.ok("GET", f"/orders/2026-01-01/orders/{one['orderId']}", token,
                    params={"includedData": "PROCEEDS,FULFILLMENT,RECIPIENT"})
    assert single == {"order": one}
    bare = sim.ok("GET", f"/orders/2026-01-01/orders/{one['orderId']}", token)["order"]
    assert "proceeds" not in bare and "fulfillment" not in bare and bare["orderItems"]
    items = sim.ok("GET", f"/orders/v0/orders/{one['orderId']}/orderItems", token)["payload"]["OrderItems"]
    assert [(i["SellerSKU"], i["QuantityOrdered"]) for i in items] == [
        (i["product"]["sellerSku"], i["quantityOrdered"]) for i in bare["orderItems"]]


@pytest.mark.parametrize("params", [
    {"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedAfter": "2026-01-01T00:00:00Z"},
    {"CreatedAfter": "2026-01-01T00:00:00Z"},  # v0's name: an extra parameter, so no after at all
    {"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": "101"},
    {"createdAfter": "2026-01-01T00:00:00Z", "fulfillmentStatuses": "Shipped"},
    {"createdAfter": "2026-01-01T00:00:00Z", "includedData": "EVERYTHING"},
])
def test_search_orders_refuses_what_amazon_refuses(sim, token, params):
    response = sim.get("/orders/2026-01-01/orders", token, **params)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "InvalidInput"


# --- rate limits and faults ----------------------------------------------------------------------------------


def test_usage_plan_burst_then_quota_exceeded_then_refill(sim, token):
    params = {"MarketplaceIds": DE, "CreatedAfter": iso(sim.now() - DAY)}
    answers = [sim.get("/orders/v0/orders", token, **params) for _ in range(20)]
    assert [a.status_code for a in answers] == [200] * 20
    limits = [a.headers.get("x-amzn-RateLimit-Limit") for a in answers]
    assert "0.0167" in limits and None in limits  # sent on some successes, not all
    throttled = sim.get("/orders/v0/orders", token, **params)
    assert throttled.status_code == 429 and throttled.headers["x-amzn-RequestId"]
    assert throttled.json() == {"errors": [{"code": "QuotaExceeded",
                                            "message": "You exceeded your quota for the requested resource.",
                                            "details": ""}]}
    # buckets are per operation and per seller
    assert sim.get("/orders/2026-01-01/orders", token, createdAfter=params["CreatedAfter"]).status_code == 200
    assert sim.get("/orders/v0/orders", sim.token(sim.ctx.accounts.sellers["second"].refresh_token),
                   **params).status_code == 200
    sim.advance(61)  # getOrders refills 0.0167 per simulated second: one call a minute
    assert sim.get("/orders/v0/orders", token, **params).status_code == 200
    assert sim.get("/orders/v0/orders", token, **params).status_code == 429
    counts = sim.state()["operations"]["getOrders"]
    assert (counts["calls"], counts["throttled"]) == (24, 2)


def test_rate_scale_multiplies_the_usage_plans():
    client = create_app(orders=50, rate_scale=2).test_client()
    headers = {"x-amz-access-token": client.post("/auth/o2/token", data=GOOD).json["access_token"]}
    answers = [client.get("/orders/v0/orders", headers=headers,
                          query_string={"MarketplaceIds": DE, "CreatedAfter": "2020-01-01T00:00:00Z"})
               for _ in range(41)]
    assert [a.status_code for a in answers] == [200] * 40 + [429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0334"


def test_throttle_next_and_fail_next(sim, token):
    path = "/reports/2021-06-30/reports/12345"
    sim.faults(throttle_next=2)
    assert [sim.get(path, token).status_code for _ in range(3)] == [429, 429, 404]
    assert sim.state()["rate_limits"][DEMO_SELLER_ID]["getReport"] == 14  # no token spent on the two 429s
    sim.faults(fail_next=1)
    failed = sim.get(path, token)
    assert failed.status_code == 500 and failed.json()["errors"][0]["code"] == "InternalFailure"
    sim.faults(fail_next=1, fail_status=503)
    assert sim.get(path, token).status_code == 503
    assert sim.get(path, token).status_code == 404
    assert sim.state()["counters"]["injected_failures"] == 2


def test_fault_settings_are_checked(sim):
    for body in ({"nope": 1}, {"fail_status": 404}, {"throttle_next": -1}, {"expire_tokens": "yes"}):
        response = sim.http.post(f"{sim.base}/_sim/faults", json=body, timeout=10)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    assert sim.faults(job_seconds=9)["job_seconds"] == 9
    assert sim.http.delete(f"{sim.base}/_sim/faults", timeout=10).json()["job_seconds"] == JOB_SECONDS


def test_unknown_paths_answer_404_in_the_errors_shape(sim, token):
    for method, path in (("GET", "/orders/v1/orders"), ("PUT", "/orders/v0/orders"), ("GET", "/")):
        response = sim.call(method, path, token)
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "NotFound"


# --- reports --------------------------------------------------------------------------------------------------


def test_inventory_report_lifecycle_to_a_gzip_tsv(sim, token):
    sim.faults(job_seconds=60)  # IN_QUEUE for 15 simulated seconds, IN_PROGRESS for 45 more
    report_id = create_report(sim, token, marketplaceIds=[DE, FR])
    path = f"/reports/2021-06-30/reports/{report_id}"
    queued = sim.ok("GET", path, token)
    assert queued["processingStatus"] == "IN_QUEUE"
    assert "processingStartTime" not in queued and "reportDocumentId" not in queued
    sim.advance(20)
    running = sim.ok("GET", path, token)
    assert running["processingStatus"] == "IN_PROGRESS" and "processingEndTime" not in running
    sim.advance(40)
    report = sim.ok("GET", path, token)
    assert report["processingStatus"] == "DONE"
    assert set(report) == {"reportId", "reportType", "processingStatus", "marketplaceIds", "dataStartTime",
                           "dataEndTime", "createdTime", "processingStartTime", "processingEndTime",
                           "reportDocumentId"}
    document, content = download(sim, token, report["reportDocumentId"])
    assert document["compressionAlgorithm"] == "GZIP" and document["reportDocumentId"] == report["reportDocumentId"]
    assert content.status_code == 200 and "Content-Encoding" not in content.headers
    assert content.headers["Content-Type"] == "text/plain; charset=UTF-8"
    rows = tsv(content.content)
    assert tuple(rows[0]) == INVENTORY_COLUMNS
    store = sim.ctx.stores[DEMO_SELLER_ID]
    assert {r["sku"] for r in rows} == {li.product.sku for mp in (DE, FR) for li in store.listings[mp]}
    row = next(r for r in rows if r["afn-listing-exists"] == "Yes")
    assert int(row["afn-total-quantity"]) == int(row["afn-warehouse-quantity"]) + sum(
        int(row[f"afn-inbound-{k}-quantity"]) for k in ("working", "shipped", "receiving"))
    assert any("ü" in r["product-name"] for r in rows)  # UTF-8 text


def test_document_urls_expire_after_five_simulated_minutes(sim, token):
    report = finished(sim, token, create_report(sim, token))
    document, content = download(sim, token, report["reportDocumentId"])
    assert content.status_code == 200
    tampered = requests.get(document["url"][:-2] + "00", timeout=10)
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text
    unsigned = requests.get(document["url"].split("?")[0], timeout=10)
    assert unsigned.status_code == 403 and "<Code>AccessDenied</Code><Message>Access Denied</Message>" in unsigned.text
    sim.advance(301)
    expired = requests.get(document["url"], timeout=10)
    assert expired.status_code == 403 and expired.headers["Content-Type"].startswith("application/xml")
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    token = sim.token()  # the hour is not over, but tokens are cheap
    _, again = download(sim, token, report["reportDocumentId"])
    assert again.status_code == 200
    sim.faults(expire_document_urls=True)
    assert requests.get(again.url, timeout=10).status_code == 403
    assert sim.state()["counters"]["refused_downloads"] == 4


def test_document_urls_name_the_simulator_whatever_the_host_header_says(sim, token):
    report = finished(sim, token, create_report(sim, token))
    # python-amazon-sp-api sends its endpoint minus 8 characters as Host: "27.0.0.1:8610" for http://127.0.0.1:8610
    response = sim.call("GET", f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token,
                        headers={"Host": "27.0.0.1:1"},
                        params={"enableContentEncodingUrlHeader": "true"})
    url = response.json()["url"]
    assert url.startswith(f"{sim.base}/_documents/{report['reportDocumentId']}?")
    content = requests.get(url, timeout=10)
    assert content.headers["Content-Encoding"] == "gzip"  # asked for: requests decompresses it itself
    assert content.text.startswith("sku\tfnsku\tasin\t")


def test_fatal_and_cancelled_reports_from_faults(sim, token):
    sim.faults(fatal_next_reports=1, cancel_next_reports=1)
    fatal = finished(sim, token, create_report(sim, token))
    cancelled = finished(sim, token, create_report(sim, token))
    assert (fatal["processingStatus"], cancelled["processingStatus"]) == ("FATAL", "CANCELLED")
    assert "reportDocumentId" not in cancelled
    document, content = download(sim, token, fatal["reportDocumentId"])
    assert "compressionAlgorithm" not in document
    assert "errorDetails" in json.loads(content.content)
    started = time.monotonic()
    assert finished(sim, token, create_report(sim, token))["processingStatus"] == "DONE"
    assert time.monotonic() - started < 3  # a 4-second job at speed 20 takes a fifth of a second


def test_only_reports_in_queue_can_be_cancelled(sim, token):
    sim.faults(job_seconds=3600)
    report_id = create_report(sim, token)
    assert sim.call("DELETE", f"/reports/2021-06-30/reports/{report_id}", token).status_code == 200
    report = sim.ok("GET", f"/reports/2021-06-30/reports/{report_id}", token)
    assert report["processingStatus"] == "CANCELLED" and "processingEndTime" in report
    again = sim.call("DELETE", f"/reports/2021-06-30/reports/{report_id}", token)
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "InvalidInput"
    sim.faults(job_seconds=JOB_SECONDS)
    done = finished(sim, token, create_report(sim, token))
    assert sim.call("DELETE", f"/reports/2021-06-30/reports/{done['reportId']}", token).status_code == 400
    assert sim.call("DELETE", "/reports/2021-06-30/reports/404404", token).status_code == 404


def test_orders_report_without_orders_is_cancelled(sim, token):
    now = sim.now()
    report_id = create_report(sim, token, BY_ORDER_DATE, dataStartTime=iso(now - 400 * DAY),
                              dataEndTime=iso(now - 399 * DAY))
    assert finished(sim, token, report_id)["processingStatus"] == "CANCELLED"


@pytest.mark.parametrize(("body", "status"), [
    ({"marketplaceIds": [DE]}, 400),
    ({"reportType": "GET_NONSENSE", "marketplaceIds": [DE]}, 400),
    ({"reportType": INVENTORY}, 400),
    ({"reportType": INVENTORY, "marketplaceIds": []}, 400),
    ({"reportType": INVENTORY, "marketplaceIds": "A1PA6795UKMFR9"}, 400),
    ({"reportType": INVENTORY, "marketplaceIds": ["A1VC38T7YXB528"]}, 400),
    ({"reportType": BY_ORDER_DATE, "marketplaceIds": [DE], "dataStartTime": "last week"}, 400),
    ({"reportType": BY_ORDER_DATE, "marketplaceIds": [DE], "dataEndTime": "2999-01-01T00:00:00Z"}, 400),
    ({"reportType": INVENTORY, "marketplaceIds": [DE], "reportOptions": {"x": 1}}, 400),
])
def test_create_report_refuses_bad_bodies(sim, token, body, status):
    response = sim.call("POST", "/reports/2021-06-30/reports", token, json=body)
    assert response.status_code == status and response.json()["errors"][0]["code"] == "InvalidInput"
    form = sim.call("POST", "/reports/2021-06-30/reports", token, data={"reportType": INVENTORY})
    assert form.status_code == 415


def test_get_reports_filters_and_pages(sim, token):
    ids = [create_report(sim, token) for _ in range(3)]
    page = sim.ok("GET", "/reports/2021-06-30/reports", token, params={"reportTypes": INVENTORY, "pageSize": 2})
    assert [r["reportId"] for r in page["reports"]] == ids[::-1][:2]
    rest = sim.ok("GET", "/reports/2021-06-30/reports", token, params={"nextToken": page["nextToken"]})
    assert [r["reportId"] for r in rest["reports"]] == ids[:1] and "nextToken" not in rest
    mixed = sim.get("/reports/2021-06-30/reports", token, nextToken=page["nextToken"], pageSize=5)
    assert mixed.status_code == 400
    assert sim.get("/reports/2021-06-30/reports", token).status_code == 400
    assert sim.get("/reports/2021-06-30/reports", token, reportTypes=INVENTORY,
                   processingStatuses="BAD_VALUE").status_code == 400
    none = sim.ok("GET", "/reports/2021-06-30/reports", token, params={"reportTypes": BY_ORDER_DATE})
    assert none == {"reports": []}
    other_seller = sim.token(sim.ctx.accounts.sellers["second"].refresh_token)
    assert sim.ok("GET", "/reports/2021-06-30/reports", other_seller, params={"reportTypes": INVENTORY}) == {
        "reports": []}
    assert sim.get(f"/reports/2021-06-30/reports/{ids[0]}", other_seller).status_code == 404


# --- schedules ------------------------------------------------------------------------------------------------


def test_schedules_create_list_replace_cancel(sim, token):
    body = {"reportType": INVENTORY, "marketplaceIds": [DE], "period": "P1D",
            "nextReportCreationTime": iso(sim.now() + DAY)}
    first = sim.ok("POST", "/reports/2021-06-30/schedules", token, status=201, json=body)["reportScheduleId"]
    listed = sim.ok("GET", "/reports/2021-06-30/schedules", token, params={"reportTypes": INVENTORY})
    assert [s["reportScheduleId"] for s in listed["reportSchedules"]] == [first]
    assert listed["reportSchedules"][0]["period"] == "P1D"
    # the same report type and marketplaces: the old schedule is replaced
    second = sim.ok("POST", "/reports/2021-06-30/schedules", token, status=201,
                    json=body | {"period": "PT12H"})["reportScheduleId"]
    assert sim.get(f"/reports/2021-06-30/schedules/{first}", token).status_code == 404
    assert sim.ok("GET", f"/reports/2021-06-30/schedules/{second}", token)["period"] == "PT12H"
    assert sim.call("DELETE", f"/reports/2021-06-30/schedules/{second}", token).status_code == 200
    assert sim.ok("GET", "/reports/2021-06-30/schedules", token, params={"reportTypes": INVENTORY}) == {
        "reportSchedules": []}
    missing = sim.get("/reports/2021-06-30/schedules", token)
    assert missing.status_code == 400 and "reportTypes" in missing.json()["errors"][0]["message"]


def test_schedule_periods_are_the_models(sim, token):
    response = sim.call("POST", "/reports/2021-06-30/schedules", token,
                        json={"reportType": INVENTORY, "marketplaceIds": [DE], "period": "PT24H"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput" and "PT24H" in error["message"]
    assert all(period in error["details"] for period in PERIODS) and "P1M" in error["details"]


def test_a_due_schedule_creates_reports_on_its_own(sim, token):
    sim.ok("POST", "/reports/2021-06-30/schedules", token, status=201, json={
        "reportType": INVENTORY, "marketplaceIds": [UK], "period": "PT5M", "nextReportCreationTime": iso(sim.now())})
    sim.advance(1)
    made = sim.state()["reports"]
    assert len(made) == 1 and made[0]["reportScheduleId"] and made[0]["marketplaceIds"] == [UK]
    sim.advance(5 * 60)

    def both_done():
        reports = sim.ok("GET", "/reports/2021-06-30/reports", token, params={"reportTypes": INVENTORY})["reports"]
        return reports if [r["processingStatus"] for r in reports] == ["DONE", "DONE"] else None

    reports = wait_for(both_done, "two scheduled reports")
    assert {r["reportScheduleId"] for r in reports} == {made[0]["reportScheduleId"]}


# --- the flat file against the Orders API ---------------------------------------------------------------------


def test_orders_flat_file_matches_get_orders_and_get_order_items(sim, token):
    de_orders = sorted((o for o in demo_orders(sim) if o.marketplace.id == DE), key=lambda o: o.purchase_date)
    chosen = de_orders[-60:-40]  # twenty orders of recent weeks, every status
    start, end = chosen[0].purchase_date, chosen[-1].purchase_date
    sim.sim_orders(amazon_order_id=chosen[5].amazon_order_id, status="Canceled")
    sim.sim_orders(amazon_order_id=chosen[6].amazon_order_id, status="PartiallyShipped")
    sim.advance(150)
    report = finished(sim, token, create_report(sim, token, BY_ORDER_DATE, dataStartTime=iso(start),
                                                dataEndTime=iso(end)))
    rows = tsv(download(sim, token, report["reportDocumentId"])[1].content)
    assert tuple(rows[0]) == ORDER_COLUMNS
    api = all_orders(sim, token, MarketplaceIds=DE, CreatedAfter=iso(start), CreatedBefore=iso(end))
    assert [o["AmazonOrderId"] for o in api] == [o.amazon_order_id for o in chosen]
    assert list(dict.fromkeys(r["amazon-order-id"] for r in rows)) == [o["AmazonOrderId"] for o in api]
    statuses = {"Shipped": "Shipped", "Canceled": "Cancelled", "Unshipped": "Unshipped",
                "PartiallyShipped": "Shipping", "InvoiceUnconfirmed": "Shipped", "Pending": "Pending",
                "PendingAvailability": "Pending", "Unfulfillable": "Unfulfillable"}
    seen = set()
    for order in api:
        order_id = order["AmazonOrderId"]
        items = sim.ok("GET", f"/orders/v0/orders/{order_id}/orderItems", token)["payload"]["OrderItems"]
        lines = [r for r in rows if r["amazon-order-id"] == order_id]
        assert [r["sku"] for r in lines] == [i["SellerSKU"] for i in items]
        assert len({r["sku"] for r in lines}) == len(lines)  # SKUs are unique within an order
        seen.add(order["OrderStatus"])
        total = Decimal("0.00")
        for line, item in zip(lines, items, strict=True):
            assert line["order-status"] == statuses[order["OrderStatus"]]
            assert epoch(line["purchase-date"]) == epoch(order["PurchaseDate"])
            assert epoch(line["last-updated-date"]) == epoch(order["LastUpdateDate"])
            assert line["sales-channel"] == order["SalesChannel"] == "Amazon.de"
            assert line["fulfillment-channel"] == {"AFN": "Amazon", "MFN": "Merchant"}[order["FulfillmentChannel"]]
            assert line["ship-service-level"] == order["ShipServiceLevel"]
            assert (line["asin"], line["product-name"]) == (item["ASIN"], item["Title"])
            assert int(line["quantity"]) == item["QuantityOrdered"]
            assert line["is-business-order"] == str(order["IsBusinessOrder"]).lower()
            if "ShippingAddress" in order:
                address = order["ShippingAddress"]
                assert (line["ship-city"], line["ship-state"], line["ship-postal-code"], line["ship-country"]) == (
                    address["City"], address["StateOrRegion"], address["PostalCode"], address["CountryCode"])
            if "ItemPrice" not in item:
                assert line["item-price"] == "" and "OrderTotal" not in order
                continue
            gift = item.get("BuyerInfo", {})
            for column, field in (("item-price", "ItemPrice"), ("item-tax", "ItemTax"),
                                  ("shipping-price", "ShippingPrice"), ("shipping-tax", "ShippingTax"),
                                  ("item-promotion-discount", "PromotionDiscount"),
                                  ("ship-promotion-discount", "ShippingDiscount")):
                assert Decimal(line[column]) == Decimal(item[field]["Amount"]), (order_id, column)
            assert Decimal(line["gift-wrap-price"]) == Decimal(gift.get("GiftWrapPrice", {}).get("Amount", "0"))
            assert Decimal(line["gift-wrap-tax"]) == Decimal(gift.get("GiftWrapTax", {}).get("Amount", "0"))
            assert line["currency"] == item["ItemPrice"]["CurrencyCode"] == order["OrderTotal"]["CurrencyCode"]
            assert line["promotion-ids"] == ",".join(item.get("PromotionIds", []))
            total += sum(Decimal(line[c]) for c in ("item-price", "item-tax", "shipping-price", "shipping-tax",
                                                    "gift-wrap-price", "gift-wrap-tax"))
            total -= Decimal(line["item-promotion-discount"]) + Decimal(line["ship-promotion-discount"])
        if "OrderTotal" in order:
            assert Decimal(order["OrderTotal"]["Amount"]) == total, order_id
    assert {"Shipped", "Canceled", "PartiallyShipped"} <= seen


# --- reproducible data and the command line -------------------------------------------------------------------


def test_same_seed_same_data_and_fast_generation():
    from simulators.spapi.accounts import demo_seller

    anchor = 1_790_000_000.0
    started = time.perf_counter()
    first = SellerStore(demo_seller(), 5, anchor, 3000)
    assert time.perf_counter() - started < 1.0
    assert first.orders() == SellerStore(demo_seller(), 5, anchor, 3000).orders()
    assert first.orders() != SellerStore(demo_seller(), 6, anchor, 3000).orders()
    assert len(first.orders()) == 3000
    assert all(o.purchase_date <= o.last_update <= anchor for o in first.orders())
    assert sum(o.last_update > o.purchase_date + 3 * DAY for o in first.orders()) > 100  # updated later

    def page(app) -> dict:
        client = app.test_client()
        access = client.post("/auth/o2/token", data=GOOD).json["access_token"]
        return client.get("/orders/v0/orders", headers={"x-amz-access-token": access},
                          query_string={"MarketplaceIds": DE, "CreatedAfter": "2026-01-01T00:00:00Z",
                                        "CreatedBefore": "2026-09-01T00:00:00Z"}).json

    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()
    assert page(create_app(seed=3, orders=200, start=start)) == page(create_app(seed=3, orders=200, start=start))


def test_cli_prints_the_demo_credentials_and_serves_until_sigterm(tmp_path):
    log_file = tmp_path / "spapi-sim.log"
    with log_file.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "simulators.spapi.cli", "--port", "0", "--orders", "100",
                                 "--speed", "10", "--seller", "nordic"],
                                stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        banner = proc.stdout.readline()
        assert banner == (f"SP-API simulator: lwa_app_id={DEMO_APP_ID} lwa_client_secret={DEMO_CLIENT_SECRET} "
                          f"refresh_token={DEMO_REFRESH_TOKEN}\n")
        extra = re.fullmatch(r"SP-API simulator: seller=nordic selling_partner_id=(A\w+) refresh_token=(Atzr\|\S+)\n",
                             proc.stdout.readline())
        assert extra, "no line for the extra seller"
        ready = re.fullmatch(r"spapi-sim listening on (http://127\.0\.0\.1:\d+)\n", proc.stdout.readline())
        assert ready, f"log: {log_file.read_text()}"
        base = ready.group(1)
        form = GOOD | {"refresh_token": extra.group(2)}
        access = requests.post(f"{base}/auth/o2/token", data=form, timeout=10).json()["access_token"]
        response = requests.get(f"{base}/orders/v0/orders", headers={"x-amz-access-token": access}, timeout=10,
                                params={"MarketplaceIds": DE, "CreatedAfter": "2020-01-01T00:00:00Z"})
        assert response.status_code == 200 and response.json()["payload"]["Orders"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.strip() == "spapi-sim stopped"
    log = log_file.read_text()
    assert "GET /orders/v0/orders 200" in log and "Atza|" not in log and "Atzr|" not in log


@pytest.mark.parametrize("args", [["--speed", "0"], ["--seller", "demo"], ["--seller", "a", "--seller", "a"],
                                  ["--start", "tomorrow"], ["--job-seconds", "-1"], ["--orders", "0"]])
def test_cli_refuses_bad_arguments(args):
    with pytest.raises(SystemExit) as exited:
        parse_args(args)
    assert exited.value.code == 2
