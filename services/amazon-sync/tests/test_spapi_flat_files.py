"""Report documents read into records: the FBA inventory report (extra, missing and reordered columns,
decimal commas, empty cells) and the all-orders reports (rows grouped into orders, the order total and
discount rules, statuses and channels as Orders v0 names them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from amazon_sync.records import InventoryRecord, OrderItemRecord, OrderRecord
from amazon_sync.spapi.flat_files import ReportUnreadable, decode, inventory_rows, order_rows
from hub_runtime.errors import PermanentError

UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"

INVENTORY_HEADER = ("sku\tfnsku\tasin\tproduct-name\tcondition\tyour-price\tmfn-listing-exists\t"
                    "mfn-fulfillable-quantity\tafn-listing-exists\tafn-warehouse-quantity\tafn-fulfillable-quantity\t"
                    "afn-unsellable-quantity\tafn-reserved-quantity\tafn-total-quantity\tper-unit-volume\t"
                    "afn-inbound-working-quantity\tafn-inbound-shipped-quantity\tafn-inbound-receiving-quantity\t"
                    "afn-researching-quantity\tafn-reserved-future-supply\tafn-future-supply-buyable\n")
INVENTORY = INVENTORY_HEADER + (
    "SKU-1\tX00001\tB000000001\tWidget \"Pro\", blue\tNew\t19.99\tNo\t\tYes\t12\t10\t1\t1\t12\t0.05\t0\t5\t0\t0\t0\t0\n"
    "SKU-2\tX00002\tB000000002\tGadget\tNew\t\tYes\t3\tNo\t\t\t\t\t\t\t\t\t\t\t\t\n"
    "\n"
)

ORDERS_HEADER = ("amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\t"
                 "fulfillment-channel\tsales-channel\torder-channel\turl\tship-service-level\tproduct-name\tsku\tasin\t"
                 "item-status\tquantity\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\tgift-wrap-price\t"
                 "gift-wrap-tax\titem-promotion-discount\tship-promotion-discount\tship-city\tship-state\t"
                 "ship-postal-code\tship-country\tpromotion-ids\tis-business-order\tpurchase-order-number\t"
                 "price-designation\n")


def order_line(order_id, status, channel, sku, asin, title, item_status, quantity, prices, *, fulfillment="Merchant",
               level="Standard", purchased="2026-11-02T10:00:00+00:00", updated="2026-11-03T08:30:00+00:00",
               business="true", city="LONDON"):
    item_price, item_tax, ship, ship_tax, wrap, wrap_tax, promo, ship_promo = prices
    return "\t".join([order_id, "", purchased, updated, status, fulfillment, channel, "", "", level, title, sku, asin,
                      item_status, str(quantity), "GBP" if prices[0] else "", item_price, item_tax, ship, ship_tax,
                      wrap, wrap_tax, promo, ship_promo, city, "Greater London", "EC1A 1BB", "GB", "", business, "",
                      ""]) + "\n"


ORDERS = ORDERS_HEADER + (
    order_line("202-1111111-1111111", "Shipped", "Amazon.co.uk", "SKU-1", "B000000001", "Widget", "Shipped", 2,
               ("20.00", "4.00", "3.00", "0.60", "", "", "-2.00", "-1.00"))
    + order_line("202-2222222-2222222", "Pending", "Amazon.co.uk", "SKU-3", "B000000003", "Gizmo", "Unshipped", 1,
                 ("", "", "", "", "", "", "", ""), fulfillment="Amazon", level="Expedited",
                 purchased="2026-11-04T11:00:00+00:00", updated="2026-11-04T11:05:00+00:00", business="false",
                 city="")
    + order_line("202-1111111-1111111", "Shipped", "Amazon.co.uk", "SKU-2", "B000000002", "Gadget", "Shipped", 1,
                 ("10.00", "2.00", "", "", "", "", "", ""))
    + order_line("171-3333333-3333333", "Shipped", "Non-Amazon", "SKU-9", "B000000009", "Elsewhere", "Shipped", 1,
                 ("5.00", "", "", "", "", "", "", ""))
)

EXPECTED_SHIPPED = OrderRecord(
    amazon_order_id="202-1111111-1111111", marketplace_id=UK, purchase_date=datetime(2026, 11, 2, 10, tzinfo=UTC),
    last_update_date=datetime(2026, 11, 3, 8, 30, tzinfo=UTC), order_status="Shipped", fulfillment_channel="MFN",
    sales_channel="Amazon.co.uk", ship_service_level="Standard", order_total=Decimal("36.60"), currency="GBP",
    items_shipped=3, items_unshipped=0, is_business_order=True, ship_city="LONDON", ship_state="Greater London",
    ship_postal_code="EC1A 1BB", ship_country="GB")
EXPECTED_ITEMS = [
    OrderItemRecord(amazon_order_id="202-1111111-1111111", seller_sku="SKU-1", order_item_id=None,
                    asin="B000000001", title="Widget", quantity_ordered=2, quantity_shipped=2,
                    item_price=Decimal("20.00"), item_tax=Decimal("4.00"), shipping_price=Decimal("3.00"),
                    shipping_tax=Decimal("0.60"), promotion_discount=Decimal("3.00"), currency="GBP"),
    OrderItemRecord(amazon_order_id="202-1111111-1111111", seller_sku="SKU-2", order_item_id=None,
                    asin="B000000002", title="Gadget", quantity_ordered=1, quantity_shipped=1,
                    item_price=Decimal("10.00"), item_tax=Decimal("2.00"), shipping_price=Decimal(0),
                    shipping_tax=Decimal(0), promotion_discount=Decimal(0), currency="GBP"),
]


def test_inventory_rows():
    first, second = inventory_rows(INVENTORY, UK, "2026-11-05")
    assert first == InventoryRecord(
        marketplace_id=UK, report_date="2026-11-05", sku="SKU-1", fnsku="X00001", asin="B000000001",
        product_name='Widget "Pro", blue', condition="New", your_price=Decimal("19.99"), mfn_fulfillable_quantity=None,
        afn_warehouse_quantity=12, afn_fulfillable_quantity=10, afn_unsellable_quantity=1, afn_reserved_quantity=1,
        afn_total_quantity=12, afn_inbound_working_quantity=0, afn_inbound_shipped_quantity=5,
        afn_inbound_receiving_quantity=0)
    assert second.your_price is None and second.mfn_fulfillable_quantity == 3 and second.afn_total_quantity is None


def test_inventory_columns_may_be_missing_reordered_and_use_decimal_commas():
    text = "asin\tSKU\tyour-price\tafn-total-quantity\r\nB1\tSKU-1\t12,50\t4\r\n\tno-asin\t\t\r\n"
    first, second = inventory_rows(text, DE, "2026-11-05")
    assert (first.sku, first.asin, first.your_price, first.afn_total_quantity) == ("SKU-1", "B1", Decimal("12.50"), 4)
    assert first.fnsku is None and first.afn_inbound_working_quantity is None
    assert second.sku == "no-asin" and second.asin is None


def test_an_inventory_report_without_a_sku_column_is_unreadable():
    with pytest.raises(ReportUnreadable, match="no column sku") as caught:
        inventory_rows("asin\tfnsku\nB1\tX1\n", UK, "2026-11-05")
    assert isinstance(caught.value, PermanentError) and caught.value.reason_code == "spapi_report_unreadable"


def test_a_quantity_that_is_not_a_number_names_its_line():
    with pytest.raises(ReportUnreadable, match="line 3"):
        inventory_rows("sku\tafn-total-quantity\nA\t1\nB\tmany\n", UK, "2026-11-05")


def test_an_empty_document_has_no_rows():
    assert inventory_rows("", UK, "2026-11-05") == []
    assert list(order_rows("")) == []


def test_order_rows_group_items_by_order_as_the_orders_api_would():
    found = list(order_rows(ORDERS))
    assert [order.amazon_order_id for order, _ in found] == ["202-1111111-1111111", "202-2222222-2222222"]
    (shipped, items), (pending, pending_items) = found
    assert shipped == EXPECTED_SHIPPED
    assert items == EXPECTED_ITEMS
    assert pending == OrderRecord(
        amazon_order_id="202-2222222-2222222", marketplace_id=UK, purchase_date=datetime(2026, 11, 4, 11, tzinfo=UTC),
        last_update_date=datetime(2026, 11, 4, 11, 5, tzinfo=UTC), order_status="Pending", fulfillment_channel="AFN",
        sales_channel="Amazon.co.uk", ship_service_level="Expedited", order_total=None, currency="GBP",
        items_shipped=0, items_unshipped=1, is_business_order=False, ship_city=None, ship_state="Greater London",
        ship_postal_code="EC1A 1BB", ship_country="GB")
    assert pending_items[0].item_price is None and pending_items[0].quantity_shipped == 0
    assert pending_items[0].promotion_discount is None and pending_items[0].currency == "GBP"


def test_gift_wrap_counts_in_the_total_and_positive_discounts_are_discounts():
    text = ORDERS_HEADER + order_line("202-4444444-4444444", "Shipped", "Amazon.de", "SKU-1", "B1", "Widget", "Shipped",
                                      1, ("10,00", "1,90", "", "", "2,00", "0,38", "1,00", "0,50"))
    [(order, [item])] = list(order_rows(text))
    assert order.marketplace_id == DE
    assert order.order_total == Decimal("12.78")  # 10 + 1.90 + 2 + 0.38 - 1 - 0.50
    assert item.promotion_discount == Decimal("1.50")


@pytest.mark.parametrize(("status", "expected"), [
    ("Cancelled", "Canceled"), ("Shipped - Delivered to Buyer", "Shipped"),
    ("Pending - Waiting for Pick Up", "Pending"),
    ("Unshipped", "Unshipped"), ("PartiallyShipped", "PartiallyShipped"), ("Shipping", "PartiallyShipped"),
])
def test_report_statuses_map_to_v0_names(status, expected):
    text = ORDERS_HEADER + order_line("202-5555555-5555555", status, "Amazon.co.uk", "SKU-1", "B1", "Widget",
                                      "Unshipped", 1, ("1.00", "", "", "", "", "", "", ""))
    [(order, _)] = list(order_rows(text))
    assert order.order_status == expected


def test_an_unknown_status_is_unreadable():
    text = ORDERS_HEADER + order_line("202-5555555-5555555", "Teleported", "Amazon.co.uk", "SKU-1", "B1", "Widget",
                                      "Shipped", 1, ("1.00", "", "", "", "", "", "", ""))
    with pytest.raises(ReportUnreadable, match="Teleported"):
        list(order_rows(text))


def test_items_shipped_is_unknown_when_an_item_status_says_nothing():
    text = ORDERS_HEADER + order_line("202-6666666-6666666", "Shipped", "Amazon.co.uk", "SKU-1", "B1", "Widget", "",
                                      2, ("1.00", "", "", "", "", "", "", ""))
    [(order, [item])] = list(order_rows(text))
    assert (order.items_shipped, order.items_unshipped, item.quantity_shipped) == (None, None, None)


def test_two_rows_of_one_sku_make_one_item():
    row = order_line("202-7777777-7777777", "Shipped", "Amazon.co.uk", "SKU-1", "B1", "Widget", "Shipped", 1,
                     ("5.00", "1.00", "", "", "", "", "", ""))
    [(order, [item])] = list(order_rows(ORDERS_HEADER + row + row))
    assert replace(item, title=None) == OrderItemRecord(
        amazon_order_id="202-7777777-7777777", seller_sku="SKU-1", order_item_id=None, asin="B1", title=None,
        quantity_ordered=2, quantity_shipped=2, item_price=Decimal("10.00"), item_tax=Decimal("2.00"),
        shipping_price=Decimal(0), shipping_tax=Decimal(0), promotion_discount=Decimal(0), currency="GBP")
    assert order.order_total == Decimal("12.00") and order.items_shipped == 2


@pytest.mark.parametrize(("level", "category"), [("Std UK Dom_1", "Standard"), ("Exp DE Dom_1", "Expedited"),
                                                ("NextDay", "NextDay"), ("SecondDay", "SecondDay"),
                                                ("Some Courier", "Some Courier")])
def test_ship_service_levels_read_as_their_category(level, category):
    text = ORDERS_HEADER + order_line("202-8888888-8888888", "Shipped", "Amazon.co.uk", "SKU-1", "B1", "Widget",
                                      "Shipped", 1, ("1.00", "", "", "", "", "", "", ""), level=level)
    [(order, _)] = list(order_rows(text))
    assert order.ship_service_level == category


def test_decode_reads_utf8_and_windows_1252():
    assert decode("\ufeffsku\tproduct-name\nA\tCafé\n".encode()) == "sku\tproduct-name\nA\tCafé\n"
    assert decode("sku\tproduct-name\nA\tCafé €5\n".encode("cp1252")) == "sku\tproduct-name\nA\tCafé €5\n"
