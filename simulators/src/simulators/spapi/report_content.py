"""The contents of the reports the simulator makes, as tab-separated text with a header line.

`GET_FBA_MYI_ALL_INVENTORY_DATA`: one row per SKU listed in the requested marketplaces (the first one
listing it sets the price).

`GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL` / `..._BY_LAST_UPDATE_GENERAL`: one row per order
item of the orders placed (or last updated) in the data range, the same orders, items and amounts that
getOrders/getOrderItems and searchOrders give. Where the flat file differs from the Orders API, it is
written as Amazon writes it:

- dates as `2024-05-01T12:34:56+00:00`; fulfillment-channel `Amazon` / `Merchant` (v0: AFN / MFN);
- order-status: v0 `Pending` and `PendingAvailability` -> `Pending`, `Unshipped` -> `Unshipped`,
  `PartiallyShipped` -> `Shipping`, `Shipped` and `InvoiceUnconfirmed` -> `Shipped`, `Canceled` ->
  `Cancelled` (two l's), `Unfulfillable` -> `Unfulfillable`;
- item-status `Shipped`, `Unshipped` or `Cancelled`; quantity 0 and empty amounts for canceled orders,
  empty amounts for pending ones (as the API withholds them); ship-city/-state/-postal-code/-country for
  every order, where the API shows a ShippingAddress only once an order is unshipped or later.
"""

from __future__ import annotations

from collections.abc import Iterable

from .catalog import Listing
from .clock import iso_offset
from .orders import Order

INVENTORY_COLUMNS = (
    "sku", "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
    "mfn-fulfillable-quantity", "afn-listing-exists", "afn-warehouse-quantity", "afn-fulfillable-quantity",
    "afn-unsellable-quantity", "afn-reserved-quantity", "afn-total-quantity", "per-unit-volume",
    "afn-inbound-working-quantity", "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity",
    "afn-researching-quantity", "afn-reserved-future-supply", "afn-future-supply-buyable")
ORDER_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "order-channel", "url", "ship-service-level", "product-name", "sku",
    "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
    "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order", "purchase-order-number",
    "price-designation")
FLAT_FILE_STATUS = {"Pending": "Pending", "PendingAvailability": "Pending", "Unshipped": "Unshipped",
                    "PartiallyShipped": "Shipping", "Shipped": "Shipped", "InvoiceUnconfirmed": "Shipped",
                    "Canceled": "Cancelled", "Unfulfillable": "Unfulfillable"}
BY_ORDER_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
BY_LAST_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
INVENTORY = "GET_FBA_MYI_ALL_INVENTORY_DATA"


def _tsv(columns: tuple[str, ...], rows: Iterable[Iterable[object]]) -> str:
    lines = ["\t".join(columns)]
    lines.extend("\t".join("" if value is None else str(value) for value in row) for row in rows)
    return "\n".join(lines) + "\n"


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def inventory_tsv(listings: dict[str, list[Listing]], marketplace_ids: Iterable[str]) -> str:
    rows, seen = [], set()
    for marketplace_id in marketplace_ids:
        for li in listings.get(marketplace_id, []):
            if li.product.sku in seen:
                continue
            seen.add(li.product.sku)
            rows.append((li.product.sku, li.product.fnsku, li.product.asin, li.product.title, "New", li.price,
                         _yes_no(li.mfn), li.mfn_fulfillable if li.mfn else "", _yes_no(li.afn), li.afn_warehouse,
                         li.afn_fulfillable, li.afn_unsellable, li.afn_reserved, li.afn_total, li.product.unit_volume,
                         li.inbound_working, li.inbound_shipped, li.inbound_receiving, li.afn_researching, 0, 0))
    return _tsv(INVENTORY_COLUMNS, rows)


def order_rows(order: Order) -> list[tuple]:
    """The flat-file rows of one order, one per item."""
    rows = []
    prices = order.prices_visible
    for index, item in enumerate(order.items):
        def money(value, _prices=prices):
            return value if _prices else ""

        city, state, postal_code, country = order.place
        rows.append((
            order.amazon_order_id, order.amazon_order_id, iso_offset(order.purchase_date),
            iso_offset(order.last_update), FLAT_FILE_STATUS[order.status],
            "Amazon" if order.channel == "AFN" else "Merchant", order.marketplace.sales_channel, "", "",
            order.ship_service_level, item.title, item.sku, item.asin, order.item_status(index),
            order.quantity(item), order.currency, money(item.item_price), money(item.item_tax),
            money(item.shipping_price), money(item.shipping_tax), money(item.gift_wrap_price),
            money(item.gift_wrap_tax), money(item.promotion_discount), money(item.shipping_discount), city, state,
            postal_code, country, ",".join(item.promotion_ids) if prices else "",
            "true" if order.is_business else "false", order.purchase_order_number or "",
            "BusinessPrice" if item.business_price else "",
        ))
    return rows


def orders_tsv(orders: Iterable[Order], report_type: str, marketplace_ids: Iterable[str], start: float,
               end: float) -> str | None:
    """The flat file of the orders placed (or last updated) between start and end; None when there are none
    (Amazon cancels such a report)."""
    wanted = set(marketplace_ids)
    by_update = report_type == BY_LAST_UPDATE
    chosen = sorted((o for o in orders if o.marketplace.id in wanted
                     and start <= (o.last_update if by_update else o.purchase_date) <= end),
                    key=lambda o: (o.purchase_date, o.amazon_order_id))
    if not chosen:
        return None
    return _tsv(ORDER_COLUMNS, (row for order in chosen for row in order_rows(order)))
