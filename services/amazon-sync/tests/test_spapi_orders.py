"""Orders v0 and 2026-01-01 against a scripted upstream: the same orders written both ways map to the same
records; paging; a `...Before` too late for Amazon not sent (the window then ends where Amazon says, and
later orders are left out), the upstream's clock learnt from its answers; the arguments Amazon would
refuse refused before any call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from spapi_stub import CREDENTIALS

from amazon_sync.records import ORDER_STATUSES, OrderItemRecord, OrderRecord
from amazon_sync.spapi.limits import RateLimiter
from amazon_sync.spapi.lwa import AccessTokens
from amazon_sync.spapi.orders import OrdersClient
from amazon_sync.spapi.transport import Transport
from amazon_sync.spapi.upstream_clock import UpstreamClock
from amazon_sync.spapi.values import service_level

UK = "A1F83G8C2ARO7P"
AFTER = datetime(2026, 11, 1, tzinfo=UTC)
V0, V0_ITEMS = "/orders/v0/orders", "/orders/v0/orders/{}/orderItems"
V2026 = "/orders/2026-01-01/orders"


def orders(upstream, **overrides) -> OrdersClient:
    settings = upstream.settings(**overrides)
    return OrdersClient(settings, Transport(settings, CREDENTIALS, AccessTokens(settings), RateLimiter(settings)))


def gbp(amount: str) -> dict:
    return {"CurrencyCode": "GBP", "Amount": amount}


def money(amount: str) -> dict:
    return {"currencyCode": "GBP", "amount": amount}


# Two orders written as Orders v0 and as 2026-01-01 would write them.
SHIPPED_V0 = {
    "AmazonOrderId": "202-1111111-1111111", "PurchaseDate": "2026-11-02T10:00:00Z",
    "LastUpdateDate": "2026-11-03T08:30:00Z", "OrderStatus": "Shipped", "FulfillmentChannel": "MFN",
    "SalesChannel": "Amazon.co.uk", "ShipServiceLevel": "Std UK Dom_1", "ShipmentServiceLevelCategory": "Standard",
    "OrderTotal": gbp("36.60"), "NumberOfItemsShipped": 3, "NumberOfItemsUnshipped": 0,
    "MarketplaceId": UK, "IsBusinessOrder": True,
    "ShippingAddress": {"City": "LONDON", "StateOrRegion": "Greater London", "PostalCode": "EC1A 1BB",
                        "CountryCode": "GB"},
}
SHIPPED_V0_ITEMS = [
    {"ASIN": "B000000001", "SellerSKU": "SKU-1", "OrderItemId": "11111", "Title": "Widget", "QuantityOrdered": 2,
     "QuantityShipped": 2, "ItemPrice": gbp("20.00"), "ItemTax": gbp("4.00"), "ShippingPrice": gbp("3.00"),
     "ShippingTax": gbp("0.60"), "PromotionDiscount": gbp("2.00"), "ShippingDiscount": gbp("1.00")},
    {"ASIN": "B000000002", "SellerSKU": "SKU-2", "OrderItemId": "22222", "Title": "Gadget", "QuantityOrdered": 1,
     "QuantityShipped": 1, "ItemPrice": gbp("10.00"), "ItemTax": gbp("2.00")},
]
PENDING_V0 = {
    "AmazonOrderId": "202-2222222-2222222", "PurchaseDate": "2026-11-04T12:00:00+01:00",
    "LastUpdateDate": "2026-11-04T11:05:00Z", "OrderStatus": "Pending", "FulfillmentChannel": "AFN",
    "SalesChannel": "Amazon.co.uk", "ShipmentServiceLevelCategory": "Expedited",
    "NumberOfItemsShipped": 0, "NumberOfItemsUnshipped": 1, "MarketplaceId": UK, "IsBusinessOrder": False,
}
PENDING_V0_ITEMS = [{"ASIN": "B000000003", "SellerSKU": "SKU-3", "OrderItemId": "33333", "Title": "Gizmo",
                     "QuantityOrdered": 1, "QuantityShipped": 0}]

SHIPPED_2026 = {
    "orderId": "202-1111111-1111111", "createdTime": "2026-11-02T10:00:00Z", "lastUpdatedTime": "2026-11-03T08:30:00Z",
    "programs": ["AMAZON_BUSINESS"],
    "salesChannel": {"channelName": "AMAZON", "marketplaceId": UK, "marketplaceName": "Amazon.co.uk"},
    "recipient": {"deliveryAddress": {"city": "LONDON", "stateOrRegion": "Greater London", "postalCode": "EC1A 1BB",
                                      "countryCode": "GB"}},
    "proceeds": {"grandTotal": money("41.60"), "breakdowns": [
        {"type": "ITEM", "subtotal": money("30.00")}, {"type": "SHIPPING", "subtotal": money("3.00")},
        {"type": "TAX", "subtotal": money("6.60")}, {"type": "DISCOUNT", "subtotal": money("-3.00")},
        {"type": "DELIVERY_TIP", "status": "FINALIZED", "subtotal": money("5.00")}]},
    "fulfillment": {"fulfillmentStatus": "SHIPPED", "fulfilledBy": "MERCHANT", "fulfillmentServiceLevel": "STANDARD"},
    "orderItems": [
        {"orderItemId": "11111", "quantityOrdered": 2,
         "product": {"asin": "B000000001", "title": "Widget", "sellerSku": "SKU-1",
                     "price": {"unitPrice": money("10.00")}},
         "proceeds": {"proceedsTotal": money("24.60"), "breakdowns": [
             {"type": "ITEM", "subtotal": money("20.00")}, {"type": "SHIPPING", "subtotal": money("3.00")},
             {"type": "TAX", "subtotal": money("4.60"), "detailedBreakdowns": [
                 {"subtype": "ITEM", "value": money("4.00")}, {"subtype": "SHIPPING", "value": money("0.60")}]},
             {"type": "DISCOUNT", "subtotal": money("-3.00"), "detailedBreakdowns": [
                 {"subtype": "ITEM", "value": money("-2.00")}, {"subtype": "SHIPPING", "value": money("-1.00")}]}]},
         "fulfillment": {"quantityFulfilled": 2, "quantityUnfulfilled": 0}},
        {"orderItemId": "22222", "quantityOrdered": 1,
         "product": {"asin": "B000000002", "title": "Gadget", "sellerSku": "SKU-2"},
         "proceeds": {"proceedsTotal": money("12.00"), "breakdowns": [
             {"type": "ITEM", "subtotal": money("10.00")},
             {"type": "TAX", "subtotal": money("2.00"), "detailedBreakdowns": [
                 {"subtype": "ITEM", "value": money("2.00")}]}]},
         "fulfillment": {"quantityFulfilled": 1, "quantityUnfulfilled": 0}},
    ],
}
PENDING_2026 = {
    "orderId": "202-2222222-2222222", "createdTime": "2026-11-04T11:00:00Z", "lastUpdatedTime": "2026-11-04T11:05:00Z",
    "programs": [], "salesChannel": {"channelName": "AMAZON", "marketplaceId": UK, "marketplaceName": "Amazon.co.uk"},
    "fulfillment": {"fulfillmentStatus": "PENDING", "fulfilledBy": "AMAZON", "fulfillmentServiceLevel": "EXPEDITED"},
    "orderItems": [{"orderItemId": "33333", "quantityOrdered": 1,
                    "product": {"asin": "B000000003", "title": "Gizmo", "sellerSku": "SKU-3"},
                    "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 1}}],
}

EXPECTED_SHIPPED = OrderRecord(
    amazon_order_id="202-1111111-1111111", marketplace_id=UK, purchase_date=datetime(2026, 11, 2, 10, tzinfo=UTC),
    last_update_date=datetime(2026, 11, 3, 8, 30, tzinfo=UTC), order_status="Shipped", fulfillment_channel="MFN",
    sales_channel="Amazon.co.uk", ship_service_level="Standard", order_total=Decimal("36.60"), currency="GBP",
    items_shipped=3, items_unshipped=0, is_business_order=True, ship_city="LONDON", ship_state="Greater London",
    ship_postal_code="EC1A 1BB", ship_country="GB")
EXPECTED_ITEMS = [
    OrderItemRecord(amazon_order_id="202-1111111-1111111", seller_sku="SKU-1", order_item_id="11111",
                    asin="B000000001", title="Widget", quantity_ordered=2, quantity_shipped=2,
                    item_price=Decimal("20.00"), item_tax=Decimal("4.00"), shipping_price=Decimal("3.00"),
                    shipping_tax=Decimal("0.60"), promotion_discount=Decimal("3.00"), currency="GBP"),
    OrderItemRecord(amazon_order_id="202-1111111-1111111", seller_sku="SKU-2", order_item_id="22222",
                    asin="B000000002", title="Gadget", quantity_ordered=1, quantity_shipped=1,
                    item_price=Decimal("10.00"), item_tax=Decimal("2.00"), shipping_price=Decimal(0),
                    shipping_tax=Decimal(0), promotion_discount=Decimal(0), currency="GBP"),
]


def echo(seconds_ago: float = 120) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def serve_v0(upstream):
    upstream.queue("GET", V0, (200, {"payload": {"Orders": [SHIPPED_V0], "NextToken": "page-2",
                                                 "CreatedBefore": echo()}}),
                   (200, {"payload": {"Orders": [PENDING_V0], "CreatedBefore": echo()}}))
    upstream.queue("GET", V0_ITEMS.format(SHIPPED_V0["AmazonOrderId"]),
                   (200, {"payload": {"OrderItems": SHIPPED_V0_ITEMS[:1], "NextToken": "items-2"}}),
                   (200, {"payload": {"OrderItems": SHIPPED_V0_ITEMS[1:]}}))
    upstream.queue("GET", V0_ITEMS.format(PENDING_V0["AmazonOrderId"]),
                   (200, {"payload": {"OrderItems": PENDING_V0_ITEMS}}))


def serve_2026(upstream):
    upstream.queue("GET", V2026, (200, {"orders": [SHIPPED_2026], "pagination": {"nextToken": "page-2"},
                                        "createdBefore": echo()}),
                   (200, {"orders": [PENDING_2026], "createdBefore": echo()}))


def test_v0_and_2026_give_the_same_records(upstream):
    serve_v0(upstream)
    client = orders(upstream, orders_api="v0")
    found = list(client.search(UK, created_after=AFTER))
    assert [items for _, items in found] == [None, None]
    v0 = [(order, client.order_items(order.amazon_order_id)) for order, _ in found]

    serve_2026(upstream)
    v2026 = list(orders(upstream).search(UK, created_after=AFTER))

    assert v0 == v2026
    assert v0[0] == (EXPECTED_SHIPPED, EXPECTED_ITEMS)
    pending, pending_items = v0[1]
    assert pending.order_status == "Pending" and pending.order_total is None and pending.fulfillment_channel == "AFN"
    assert pending.currency == "GBP"  # the marketplace's, as Amazon shows no amount yet
    assert pending.purchase_date == datetime(2026, 11, 4, 11, tzinfo=UTC) and pending.ship_service_level == "Expedited"
    assert pending_items[0].item_price is None and pending_items[0].quantity_shipped == 0


def test_v0_pages_with_its_next_token(upstream):
    serve_v0(upstream)
    client = orders(upstream, orders_api="v0")
    list(client.search(UK, created_after=AFTER))
    first, second = upstream.calls("GET", V0)
    assert first.query["MarketplaceIds"] == UK and first.query["CreatedAfter"] == "2026-11-01T00:00:00Z"
    assert first.query["MaxResultsPerPage"] == "100" and "CreatedBefore" not in first.query
    assert second.query == {"MarketplaceIds": UK, "NextToken": "page-2"}
    client.order_items(SHIPPED_V0["AmazonOrderId"])
    items = upstream.calls("GET", V0_ITEMS.format(SHIPPED_V0["AmazonOrderId"]))
    assert [s.query for s in items] == [{}, {"NextToken": "items-2"}]


def test_2026_asks_for_the_data_it_maps_and_pages_with_pagination_token(upstream):
    serve_2026(upstream)
    list(orders(upstream).search(UK, last_updated_after=AFTER))
    first, second = upstream.calls("GET", V2026)
    assert set(first.query["includedData"].split(",")) == {"FULFILLMENT", "PROCEEDS", "RECIPIENT"}
    assert first.query["lastUpdatedAfter"] == "2026-11-01T00:00:00Z" and "lastUpdatedBefore" not in first.query
    assert "createdAfter" not in first.query
    assert second.query == {**first.query, "paginationToken": "page-2"}


def test_the_window_ends_where_amazon_says_when_no_before_is_asked(upstream):
    told = echo()
    upstream.queue("GET", V2026, (200, {"orders": [], "createdBefore": told}))
    search = orders(upstream).search(UK, created_after=AFTER)
    assert list(search) == []
    assert search.window_end == datetime.fromisoformat(told)


def test_a_before_too_late_for_amazon_is_not_sent_and_later_orders_are_left_out(upstream):
    """Asked for orders up to 30 s ago, which Amazon might refuse: none is sent; an upstream an hour ahead
    of us answers up to its now - 2 minutes, and what is after the asked end is left out."""
    asked = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    told = echo(120 - 3600)
    late = {**PENDING_2026, "orderId": "202-9999999-9999999", "createdTime": echo(10)}
    early = {**PENDING_2026, "createdTime": echo(600)}
    upstream.queue("GET", V2026, (200, {"orders": [early, late], "createdBefore": told}))
    search = orders(upstream).search(UK, created_after=AFTER, created_before=asked)
    assert [order.amazon_order_id for order, _ in search] == ["202-2222222-2222222"]
    [seen] = upstream.calls("GET", V2026)
    assert "createdBefore" not in seen.query
    assert search.window_end == asked


def test_an_earlier_before_is_sent_and_ends_the_window(upstream):
    upstream.queue("GET", V0, (200, {"payload": {"Orders": [], "LastUpdatedBefore": "2026-11-02T00:00:00Z"}}))
    search = orders(upstream, orders_api="v0").search(UK, last_updated_after=AFTER,
                                                      last_updated_before=AFTER + timedelta(days=1))
    assert list(search) == []
    [seen] = upstream.calls("GET", V0)
    assert seen.query["LastUpdatedBefore"] == "2026-11-02T00:00:00Z"
    assert search.window_end == datetime(2026, 11, 2, tzinfo=UTC)


def test_the_upstreams_clock_is_learnt_from_its_answers(upstream):
    """A simulator a day ahead of our clock: once it has said so, a Before an hour ago (wall time), which
    is a day and an hour ago for it, is sent as it is."""
    ahead = (datetime.now(UTC) + timedelta(days=1) - timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    upstream.default("GET", V2026, (200, {"orders": [], "createdBefore": ahead}))
    client = orders(upstream, time_speed=60)
    list(client.search(UK, created_after=AFTER))
    floor = client.transport.upstream_clock.floor()
    assert floor >= datetime.fromisoformat(ahead) + timedelta(seconds=120)
    hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    list(client.search(UK, created_after=AFTER, created_before=hour_ago))
    assert upstream.calls("GET", V2026)[-1].query["createdBefore"] == hour_ago.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_range_that_ends_before_it_starts_asks_nothing(upstream):
    search = orders(upstream).search(UK, created_after=AFTER, created_before=AFTER - timedelta(days=1))
    assert list(search) == [] and search.window_end == AFTER - timedelta(days=1)
    assert upstream.api_calls() == []


@pytest.mark.parametrize("arguments", [
    {},
    {"created_after": AFTER, "last_updated_after": AFTER},
    {"created_after": AFTER, "last_updated_before": AFTER},
    {"last_updated_after": AFTER, "created_before": AFTER},
])
def test_arguments_amazon_refuses_are_refused_at_once(upstream, arguments):
    with pytest.raises(ValueError):
        orders(upstream).search(UK, **arguments)
    assert upstream.api_calls() == []


def test_2026_order_items_come_from_get_order(upstream):
    upstream.queue("GET", f"{V2026}/202-1111111-1111111", (200, {"order": SHIPPED_2026}))
    assert orders(upstream).order_items("202-1111111-1111111") == EXPECTED_ITEMS


def test_2026_statuses_map_to_v0_names(upstream):
    statuses = ["PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
                "UNFULFILLABLE"]
    page = [{**PENDING_2026, "orderId": f"202-0000000-00000{i:02d}",
             "fulfillment": {**PENDING_2026["fulfillment"], "fulfillmentStatus": status}}
            for i, status in enumerate(statuses)]
    upstream.queue("GET", V2026, (200, {"orders": page}))
    found = [order.order_status for order, _ in orders(upstream).search(UK, created_after=AFTER)]
    assert found == ["PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled",
                     "Unfulfillable"]
    assert set(found) <= set(ORDER_STATUSES)


@pytest.mark.parametrize(("level", "category"), [
    ("STANDARD", "Standard"), ("NEXT_DAY", "NextDay"), ("FREE_ECONOMY", "FreeEconomy"), ("SAME_DAY", "SameDay"),
    ("Standard", "Standard"), ("Std UK Dom_1", "Standard"), ("Exp UK Dom_1", "Expedited"), (None, None),
])
def test_service_levels_as_their_category(level, category):
    assert service_level(level) == category


def test_the_upstream_clock_floor_moves_at_time_speed_from_what_it_was_told():
    wall, mono = [1_000_000.0], [50.0]
    clock = UpstreamClock(60, skew_seconds=5, wall=lambda: wall[0], monotonic=lambda: mono[0])
    assert clock.floor().timestamp() == 1_000_000 - 5  # nothing told yet: our clock less the skew
    clock.observe(datetime.fromtimestamp(1_086_400, UTC))  # a day ahead
    mono[0] += 2
    wall[0] += 2
    assert clock.floor().timestamp() == 1_086_400 + 2 * 60
    clock.observe(datetime.fromtimestamp(1_000_000, UTC))  # an older answer tells nothing new
    assert clock.floor().timestamp() == 1_086_400 + 2 * 60
