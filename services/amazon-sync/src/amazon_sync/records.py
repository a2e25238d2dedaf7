"""The rows amazon-sync keeps, whichever way they were fetched: Orders v0 (getOrders + getOrderItems),
Orders v2026-01-01 (searchOrders, items included) or the orders flat-file report (bulk backfill) all map to
the same `OrderRecord` and `OrderItemRecord` values, and inventory reports to `InventoryRecord`.

Keys: an order is `amazon_order_id`; an item is `(amazon_order_id, seller_sku)`, since the flat-file report
has no OrderItemId (`order_item_id` is kept when an Orders call gave it). Money is `Decimal`, exact as
Amazon sends it; times are timezone-aware UTC. Statuses use Orders v0's names (`ORDER_STATUSES`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

ORDER_STATUSES = ("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
                  "InvoiceUnconfirmed", "PendingAvailability")
FULFILLMENT_CHANNELS = ("AFN", "MFN")  # fulfilled by Amazon | by the merchant


@dataclass(frozen=True)
class OrderRecord:
    amazon_order_id: str
    marketplace_id: str
    purchase_date: datetime
    last_update_date: datetime
    order_status: str  # one of ORDER_STATUSES
    fulfillment_channel: str | None  # AFN | MFN
    sales_channel: str | None  # e.g. Amazon.co.uk
    ship_service_level: str | None
    order_total: Decimal | None  # the amount charged: items + shipping + gift wrap + taxes - promotions
    currency: str | None
    items_shipped: int | None
    items_unshipped: int | None
    is_business_order: bool
    ship_city: str | None
    ship_state: str | None
    ship_postal_code: str | None
    ship_country: str | None


@dataclass(frozen=True)
class OrderItemRecord:
    amazon_order_id: str
    seller_sku: str
    order_item_id: str | None  # None when only the flat-file report was read
    asin: str
    title: str | None
    quantity_ordered: int
    quantity_shipped: int | None
    item_price: Decimal | None  # for the whole quantity, as Amazon gives it
    item_tax: Decimal | None
    shipping_price: Decimal | None
    shipping_tax: Decimal | None
    promotion_discount: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class InventoryRecord:
    """One row of GET_FBA_MYI_ALL_INVENTORY_DATA for one marketplace and report date."""

    marketplace_id: str
    report_date: str  # YYYY-MM-DD: the day the report describes
    sku: str
    fnsku: str | None
    asin: str | None
    product_name: str | None
    condition: str | None
    your_price: Decimal | None
    mfn_fulfillable_quantity: int | None
    afn_warehouse_quantity: int | None
    afn_fulfillable_quantity: int | None
    afn_unsellable_quantity: int | None
    afn_reserved_quantity: int | None
    afn_total_quantity: int | None
    afn_inbound_working_quantity: int | None
    afn_inbound_shipped_quantity: int | None
    afn_inbound_receiving_quantity: int | None


def field_names(record_type) -> list[str]:
    return [f.name for f in fields(record_type)]
