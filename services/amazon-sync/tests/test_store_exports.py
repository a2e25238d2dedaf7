"""CSV exports streamed from the tables, on SQLite and PostgreSQL: they read back as the stored rows, filter
by marketplace and purchase date, neutralise formulas unless raw, and stream in bounded memory."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from store_records import DE, T0, UK, inventory_row, item, order, order_id, pairs

from amazon_sync.store import (
    AZURE_COLUMNS,
    INVENTORY_COLUMNS,
    MSSQL_COLUMNS,
    Exports,
    InventoryStore,
    OrderStore,
    tables,
)


def read(chunks) -> list[dict[str, str]]:
    data = b"".join(chunks)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert data.endswith(b"\r\n") and b"\r\n" in data.split(b"\n", 1)[0] + b"\n"  # CRLF line ends
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body], header


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def text(value) -> str:
    return "" if value is None else str(value)


@pytest.fixture
def saved(engine, instance):
    """Orders in two marketplaces, a day apart, with awkward text; one order has no items yet."""
    store = OrderStore(engine, instance)
    awkward = order(1, ship_city='Saint-Denis, "Nord"\nCedex', ship_state=None, order_total=None,
                    is_business_order=True)
    store.save_orders([
        (awkward, [item(awkward, "SKU-B", title="Tasse à café ☕, 2 pcs", promotion_discount=Decimal("-5.10")),
                   item(awkward, "SKU-A", title="=HYPERLINK(\"http://x\")", item_price=None, quantity_shipped=None)]),
        *pairs([2], items_per_order=1),
        (order(3, marketplace_id=DE, purchase_date=T0 + timedelta(days=1)), [item(order(3), "-SKU-C")]),
        (order(4, purchase_date=T0 + timedelta(days=2)), None),
    ], "orders_api")
    return store


def test_the_mssql_export_reads_back_as_the_stored_rows(engine, instance, saved):
    rows, header = read(Exports(engine, instance).orders_csv("mssql"))
    assert tuple(header) == MSSQL_COLUMNS
    assert [(r["AmazonOrderId"], r["SellerSKU"]) for r in rows] == [
        (order_id(1), "SKU-A"), (order_id(1), "SKU-B"), (order_id(2), "SKU-0"), (order_id(3), "'-SKU-C")]
    for row in rows:
        stored = saved.order(row["AmazonOrderId"])
        [stored_item] = [i for i in saved.items(stored.amazon_order_id) if row["SellerSKU"].endswith(i.seller_sku)]
        assert row == {
            "AmazonOrderId": stored.amazon_order_id, "MarketplaceId": stored.marketplace_id,
            "PurchaseDate": stored.purchase_date.strftime("%Y-%m-%d %H:%M:%S"),
            "LastUpdateDate": stored.last_update_date.strftime("%Y-%m-%d %H:%M:%S"),
            "OrderStatus": stored.order_status, "FulfillmentChannel": stored.fulfillment_channel,
            "SalesChannel": stored.sales_channel, "OrderTotal": money(stored.order_total),
            "Currency": stored.currency, "SellerSKU": row["SellerSKU"], "ASIN": stored_item.asin,
            "OrderItemId": stored_item.order_item_id, "Title": row["Title"],
            "QuantityOrdered": str(stored_item.quantity_ordered), "QuantityShipped": text(stored_item.quantity_shipped),
            "ItemPrice": money(stored_item.item_price), "ItemTax": money(stored_item.item_tax),
            "ShippingPrice": money(stored_item.shipping_price), "ShippingTax": money(stored_item.shipping_tax),
            "PromotionDiscount": money(stored_item.promotion_discount), "ShipCity": stored.ship_city,
            "ShipState": text(stored.ship_state), "ShipPostalCode": stored.ship_postal_code,
            "ShipCountry": stored.ship_country, "IsBusinessOrder": "1" if stored.is_business_order else "0"}
    first = rows[0]
    assert first["Title"] == "'=HYPERLINK(\"http://x\")" and first["ItemPrice"] == "" and first["OrderTotal"] == ""
    assert rows[1]["Title"] == "Tasse à café ☕, 2 pcs" and rows[1]["PromotionDiscount"] == "-5.10"
    assert first["ShipCity"] == 'Saint-Denis, "Nord"\nCedex' and rows[2]["ItemPrice"] == "42.90"
    assert rows[2]["OrderTotal"] == "128.70"


def test_raw_writes_text_as_stored(engine, instance, saved):
    rows, _ = read(Exports(engine, instance).orders_csv("mssql", raw=True))
    assert rows[0]["Title"] == '=HYPERLINK("http://x")' and rows[3]["SellerSKU"] == "-SKU-C"


def test_the_azure_export_has_one_row_per_order_with_item_totals(engine, instance, saved):
    rows, header = read(Exports(engine, instance).orders_csv("azure"))
    assert tuple(header) == AZURE_COLUMNS
    assert [r["amazon_order_id"] for r in rows] == [order_id(n) for n in (1, 2, 3, 4)]
    one, two, _, four = rows
    assert (one["item_count"], one["units"], one["items_total"]) == ("2", "2", "42.90")  # one item has no price
    assert (two["item_count"], two["units"], two["items_total"]) == ("1", "1", "42.90")
    assert (four["item_count"], four["units"], four["items_total"]) == ("0", "", "")  # items not fetched
    stored = saved.order(order_id(2))
    assert two["purchase_date"] == stored.purchase_date.strftime("%Y-%m-%dT%H:%M:%SZ") == "2026-03-01T12:02:00Z"
    assert (two["order_total"], two["is_business_order"], one["is_business_order"]) == ("128.70", "false", "true")
    assert (two["source"], two["ship_state"], two["items_unshipped"]) == ("orders_api", "", "3")
    assert datetime.fromisoformat(two["synced_at"].replace("Z", "+00:00")).tzinfo is not None
    assert {name: two[name] for name in ("marketplace_id", "order_status", "sales_channel", "currency")} == {
        "marketplace_id": UK, "order_status": "Unshipped", "sales_channel": "Amazon.co.uk", "currency": "GBP"}


@pytest.mark.parametrize("data_type", ["mssql", "azure"])
def test_exports_filter_by_marketplace_and_purchase_date(engine, instance, saved, data_type):
    exports = Exports(engine, instance)

    def ids(**filters) -> list[str]:
        rows, _ = read(exports.orders_csv(data_type, **filters))
        return sorted({r.get("AmazonOrderId") or r.get("amazon_order_id") for r in rows})

    with_items = [order_id(1), order_id(2), order_id(3)]
    everything = with_items if data_type == "mssql" else [*with_items, order_id(4)]
    assert ids() == everything
    assert ids(marketplace_id=DE) == [order_id(3)]
    assert ids(purchased_from=date(2026, 3, 2)) == everything[2:]
    assert ids(purchased_to=date(2026, 3, 1)) == [order_id(1), order_id(2)]  # a date includes its day
    assert ids(purchased_from=T0 + timedelta(minutes=2), purchased_to=T0 + timedelta(days=1)) == [order_id(2)]
    assert ids(marketplace_id=UK, purchased_from=datetime(2026, 3, 2, tzinfo=UTC)) == everything[3:]
    assert ids(marketplace_id="ATVPDKIKX0DER") == []
    assert ids(purchased_from=date(2026, 3, 2), purchased_to=date(2026, 3, 2)) == [order_id(3)]


def test_an_empty_export_is_its_header_and_a_bad_shape_is_refused_at_once(engine, instance):
    assert b"".join(Exports(engine, instance).orders_csv("mssql")) == (",".join(MSSQL_COLUMNS) + "\r\n").encode()
    with pytest.raises(ValueError, match="unknown data_type 'excel'; valid: mssql, azure"):
        Exports(engine, instance).orders_csv("excel")


def test_the_inventory_export_reads_back_as_the_stored_rows(engine, instance):
    store = InventoryStore(engine, instance)
    store.save([inventory_row("SKU-2"), inventory_row("SKU-1", product_name="@risky"),
                inventory_row("SKU-1", report_date="2026-03-02"), inventory_row("SKU-9", marketplace_id=DE)])
    exports = Exports(engine, instance)
    rows, header = read(exports.inventory_csv())
    assert tuple(header) == INVENTORY_COLUMNS
    assert [(r["marketplace_id"], r["report_date"], r["sku"]) for r in rows] == [  # UK's id sorts before DE's
        (UK, "2026-03-01", "SKU-1"), (UK, "2026-03-01", "SKU-2"), (UK, "2026-03-02", "SKU-1"),
        (DE, "2026-03-01", "SKU-9")]
    first = rows[0]
    stored = store.rows(UK, "2026-03-01")[0]
    assert {name: first[name] for name in INVENTORY_COLUMNS if name != "synced_at"} == {
        name: "'@risky" if name == "product_name" else money(value) if isinstance(value, Decimal) else text(value)
        for name, value in vars(stored).items()}
    assert first["your_price"] == "19.99" and first["mfn_fulfillable_quantity"] == ""
    assert [r["sku"] for r in read(exports.inventory_csv(UK, "2026-03-02"))[0]] == ["SKU-1"]
    assert [r["sku"] for r in read(exports.inventory_csv(DE))[0]] == ["SKU-9"]
    assert read(exports.inventory_csv(report_date=date(2026, 3, 1), raw=True))[0][0]["product_name"] == "@risky"


def test_an_export_being_read_does_not_block_a_save(engine, instance):
    """A long export must not hold SQLite's write lock (the hub's engines begin with BEGIN IMMEDIATE)."""
    insert_orders(engine, instance, 2500)
    export = Exports(engine, instance).orders_csv("azure")
    next(export)  # reading: its connection is open mid-result
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=2000")  # fail fast, not after 30 s
        started = time.monotonic()
        with conn.begin():
            conn.execute(sa.update(tables.orders).where(tables.orders.c.instance == instance)
                         .values(order_status="Shipped"))
        assert time.monotonic() - started < 2
    assert sum(chunk.count(b"\r\n") for chunk in export) > 0
    export.close()


def insert_orders(engine, instance, count: int, items_per_order: int = 1) -> None:
    """`count` orders of `items_per_order` items each, written straight into the tables."""
    now = datetime(2026, 3, 1)
    order_rows = [{"instance": instance, "amazon_order_id": order_id(n), "marketplace_id": UK,
                   "purchase_date": now + timedelta(seconds=n), "last_update_date": now + timedelta(seconds=n),
                   "order_status": "Shipped", "fulfillment_channel": "AFN", "sales_channel": "Amazon.co.uk",
                   "ship_service_level": "Expedited", "order_total": Decimal("128.70"), "currency": "GBP",
                   "items_shipped": 1, "items_unshipped": 0, "is_business_order": False, "ship_city": "LEEDS",
                   "ship_state": "West Yorkshire", "ship_postal_code": "LS1 4AP", "ship_country": "GB",
                   "first_seen_at": now, "synced_at": now, "source": "flat_file"} for n in range(count)]
    item_rows = [{"instance": instance, "amazon_order_id": row["amazon_order_id"], "seller_sku": f"SKU-{k}",
                  "order_item_id": f"{n:07d}{k:07d}", "asin": "B000000001", "title": "Widget, large (blue)",
                  "quantity_ordered": 1, "quantity_shipped": 1, "item_price": Decimal("110.00"),
                  "item_tax": Decimal("18.70"), "shipping_price": Decimal("0.00"), "shipping_tax": Decimal("0.00"),
                  "promotion_discount": Decimal("0.00"), "currency": "GBP", "synced_at": now}
                 for n, row in enumerate(order_rows) for k in range(items_per_order)]
    with engine.begin() as conn:
        conn.execute(sa.insert(tables.orders), order_rows)
        conn.execute(sa.insert(tables.order_items), item_rows)


def test_a_large_export_streams_in_bounded_memory(engine, instance):
    """40,000 item rows (4,000 orders): the export's traced peak stays well under the size of its output (the
    rows as Python objects would be several times that): they are fetched and written a batch at a time."""
    insert_orders(engine, instance, 4_000, items_per_order=10)

    tracemalloc.start()
    try:
        size = lines = 0
        for chunk in Exports(engine, instance).orders_csv("mssql"):
            size += len(chunk)
            lines += chunk.count(b"\r\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lines == 40_001 and size > 8_000_000
    assert peak < size / 2, f"peak {peak:,} bytes for an export of {size:,}"
