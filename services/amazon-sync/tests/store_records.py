"""Order, item and inventory records for the store's tests."""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from amazon_sync.records import InventoryRecord, OrderItemRecord, OrderRecord

UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def order_id(n: int) -> str:
    return f"203-{n:07d}-{n * 7 % 10_000_000:07d}"


def order(n: int, *, marketplace_id: str = UK, **changes) -> OrderRecord:
    record = OrderRecord(
        amazon_order_id=order_id(n), marketplace_id=marketplace_id, purchase_date=T0 + timedelta(minutes=n),
        last_update_date=T0 + timedelta(minutes=n, hours=1), order_status="Unshipped", fulfillment_channel="MFN",
        sales_channel="Amazon.co.uk", ship_service_level="Std UK Dom_1", order_total=Decimal("128.70"),
        currency="GBP", items_shipped=0, items_unshipped=3, is_business_order=n % 5 == 0, ship_city="LONDON",
        ship_state=None, ship_postal_code="SW1A 1AA", ship_country="GB")
    return replace(record, **changes)


def item(order: OrderRecord | str, sku: str = "SKU-A", **changes) -> OrderItemRecord:
    amazon_order_id = order if isinstance(order, str) else order.amazon_order_id
    record = OrderItemRecord(
        amazon_order_id=amazon_order_id, seller_sku=sku,
        order_item_id=f"{zlib.crc32(f'{amazon_order_id}/{sku}'.encode()):014d}",
        asin="B0" + sku[-8:].rjust(8, "0"), title=f"Widget {sku}", quantity_ordered=1, quantity_shipped=0,
        item_price=Decimal("42.90"), item_tax=Decimal("7.15"), shipping_price=Decimal("0.00"),
        shipping_tax=Decimal("0.00"), promotion_discount=Decimal("0.00"), currency="GBP")
    return replace(record, **changes)


def pairs(numbers, items_per_order: int = 2, **changes) -> list[tuple[OrderRecord, list[OrderItemRecord]]]:
    result = []
    for n in numbers:
        record = order(n, **changes)
        result.append((record, [item(record, f"SKU-{k}") for k in range(items_per_order)]))
    return result


def inventory_row(sku: str, *, marketplace_id: str = UK, report_date: str = "2026-03-01", **changes) -> InventoryRecord:
    record = InventoryRecord(
        marketplace_id=marketplace_id, report_date=report_date, sku=sku, fnsku="X00" + sku[-7:].rjust(7, "0"),
        asin="B0" + sku[-8:].rjust(8, "0"), product_name=f"Widget {sku}", condition="New", your_price=Decimal("19.99"),
        mfn_fulfillable_quantity=None, afn_warehouse_quantity=12, afn_fulfillable_quantity=10,
        afn_unsellable_quantity=1, afn_reserved_quantity=1, afn_total_quantity=14, afn_inbound_working_quantity=0,
        afn_inbound_shipped_quantity=2, afn_inbound_receiving_quantity=0)
    return replace(record, **changes)
