"""Amazon's tab-separated report documents read into records.

`inventory_rows`: GET_FBA_MYI_ALL_INVENTORY_DATA, one `InventoryRecord` per SKU. `order_rows`: the orders
reports GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL and ..._BY_LAST_UPDATE_GENERAL (one row per
order item) grouped into an `OrderRecord` and its `OrderItemRecord`s, the same records the Orders API gives
(see `orders`). Columns are found by name, so extra columns and a different order do no harm; a missing
optional column reads as empty. Amounts may be written with a decimal comma; an empty cell is None."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

from hub_runtime.errors import PermanentError

from ..marketplaces import MARKETPLACES
from ..records import InventoryRecord, OrderItemRecord, OrderRecord
from .values import decimal, integer, service_level, utc

log = logging.getLogger("amazon_sync.spapi")

INVENTORY_REQUIRED = ("sku",)
ORDERS_REQUIRED = ("amazon-order-id", "purchase-date", "last-updated-date", "order-status", "sku", "asin",
                   "quantity")
# the report's order-status (lower case, spaces and anything after " - " dropped) -> Orders v0's name
ORDER_STATUSES = {"pending": "Pending", "pendingavailability": "PendingAvailability", "unshipped": "Unshipped",
                  "partiallyshipped": "PartiallyShipped", "shipping": "PartiallyShipped", "shipped": "Shipped",
                  "complete": "Shipped", "cancelled": "Canceled", "canceled": "Canceled",
                  "unfulfillable": "Unfulfillable", "invoiceunconfirmed": "InvoiceUnconfirmed"}
FULFILLMENT_CHANNELS = {"amazon": "AFN", "afn": "AFN", "merchant": "MFN", "mfn": "MFN"}
SALES_CHANNELS = {m.sales_channel.casefold(): m.id for m in MARKETPLACES.values()}
CHARGES = ("item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax")
DISCOUNTS = ("item-promotion-discount", "ship-promotion-discount")
ZERO = Decimal(0)


class ReportUnreadable(PermanentError):
    """A report document without the columns it must have, or with a value that is not what its column says."""

    def __init__(self, text: str):
        super().__init__("spapi_report_unreadable", text)


def decode(data: bytes) -> str:
    """A report document's bytes as text: UTF-8 (a BOM dropped), else Windows-1252, which Amazon uses for
    some European marketplaces."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def inventory_rows(text: str, marketplace_id: str, report_date: str) -> list[InventoryRecord]:
    """GET_FBA_MYI_ALL_INVENTORY_DATA's rows for one marketplace and report date (YYYY-MM-DD); rows without
    a SKU are left out."""
    records = []
    for line, row in _rows(text, INVENTORY_REQUIRED):
        sku = row.get("sku")
        if not sku:
            continue
        try:
            records.append(InventoryRecord(
                marketplace_id=marketplace_id,
                report_date=report_date,
                sku=sku,
                fnsku=row.get("fnsku"),
                asin=row.get("asin"),
                product_name=row.get("product-name"),
                condition=row.get("condition"),
                your_price=decimal(row.get("your-price")),
                mfn_fulfillable_quantity=integer(row.get("mfn-fulfillable-quantity")),
                afn_warehouse_quantity=integer(row.get("afn-warehouse-quantity")),
                afn_fulfillable_quantity=integer(row.get("afn-fulfillable-quantity")),
                afn_unsellable_quantity=integer(row.get("afn-unsellable-quantity")),
                afn_reserved_quantity=integer(row.get("afn-reserved-quantity")),
                afn_total_quantity=integer(row.get("afn-total-quantity")),
                afn_inbound_working_quantity=integer(row.get("afn-inbound-working-quantity")),
                afn_inbound_shipped_quantity=integer(row.get("afn-inbound-shipped-quantity")),
                afn_inbound_receiving_quantity=integer(row.get("afn-inbound-receiving-quantity")),
            ))
        except ValueError as exc:
            raise ReportUnreadable(f"inventory report line {line}: {exc}") from None
    return records


def order_rows(text: str) -> Iterator[tuple[OrderRecord, list[OrderItemRecord]]]:
    """The orders report's rows grouped by amazon-order-id (in the order first seen), as the records the
    Orders API gives, with these rules:

    - marketplace_id from sales-channel (Amazon.co.uk -> A1F83G8C2ARO7P); an order of another channel
      (e.g. Non-Amazon) is left out;
    - order-status as Orders v0 names it (Cancelled -> Canceled, Shipped - Delivered to Buyer -> Shipped,
      Shipping -> PartiallyShipped); fulfillment-channel Amazon -> AFN, Merchant -> MFN; ship-service-level
      as its category (Std UK Dom_1 -> Standard); currency, when empty, the marketplace's;
    - an item's promotion_discount = |item-promotion-discount| + |ship-promotion-discount| (Orders v0's
      PromotionDiscount + ShippingDiscount; the report writes discounts with either sign); an item with an
      item-price has its other empty amounts read as 0, one without (Pending, Cancelled) has none;
    - order_total = the sum over its items of item-price + item-tax + shipping-price + shipping-tax +
      gift-wrap-price + gift-wrap-tax - both discounts; None when the report gives no amounts (Pending);
    - an item's quantity_shipped is its quantity when item-status is Shipped, 0 when Unshipped or
      Cancelled, else None; the order's items_shipped / items_unshipped add up the Shipped / Unshipped
      quantities when every item's status is one of those three, else None;
    - order_item_id is None (the report has none); two rows of one SKU in an order make one item (their
      quantities and amounts added)."""
    orders: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row in _rows(text, ORDERS_REQUIRED):
        if row.get("amazon-order-id"):
            orders.setdefault(row["amazon-order-id"], []).append((line, row))
    skipped = 0
    for order_id, rows in orders.items():
        line = rows[0][0]
        try:
            made = _order(order_id, rows)
        except (ValueError, KeyError) as exc:
            raise ReportUnreadable(f"orders report line {line} (order {order_id}): {exc}") from None
        if made is None:
            skipped += 1
            continue
        yield made
    if skipped:
        log.info("orders report: orders of other sales channels left out", extra={"orders": skipped})


def _order(order_id: str, rows: list[tuple[int, dict[str, str]]]) -> tuple[OrderRecord, list[OrderItemRecord]] | None:
    first = rows[0][1]
    channel = first.get("sales-channel") or ""
    marketplace_id = SALES_CHANNELS.get(channel.casefold())
    if marketplace_id is None:
        return None
    items: dict[str, OrderItemRecord] = {}
    totals: list[Decimal] = []
    statuses = []
    for _, row in rows:
        item = _item(order_id, row, MARKETPLACES[marketplace_id].currency)
        statuses.append(((row.get("item-status") or "").casefold(), item.quantity_ordered))
        charged = [decimal(row.get(name)) for name in CHARGES]
        discounts = [decimal(row.get(name)) for name in DISCOUNTS]
        if any(value is not None for value in charged + discounts):
            totals.append(sum((value for value in charged if value is not None), Decimal(0))
                          - sum((abs(value) for value in discounts if value is not None), Decimal(0)))
        items[item.seller_sku] = _merge(items[item.seller_sku], item) if item.seller_sku in items else item
    shipped = unshipped = None
    if statuses and all(status in ("shipped", "unshipped", "cancelled") for status, _ in statuses):
        shipped = sum(quantity for status, quantity in statuses if status == "shipped")
        unshipped = sum(quantity for status, quantity in statuses if status == "unshipped")
    order = OrderRecord(
        amazon_order_id=order_id,
        marketplace_id=marketplace_id,
        purchase_date=utc(first["purchase-date"]),
        last_update_date=utc(first["last-updated-date"]),
        order_status=_status(first["order-status"]),
        fulfillment_channel=FULFILLMENT_CHANNELS.get((first.get("fulfillment-channel") or "").casefold()),
        sales_channel=channel,
        ship_service_level=service_level(first.get("ship-service-level")),
        order_total=sum(totals, Decimal(0)) if totals else None,
        currency=next((row["currency"] for _, row in rows if row.get("currency")), None)
        or MARKETPLACES[marketplace_id].currency,
        items_shipped=shipped,
        items_unshipped=unshipped,
        is_business_order=(first.get("is-business-order") or "").casefold() == "true",
        ship_city=first.get("ship-city"),
        ship_state=first.get("ship-state"),
        ship_postal_code=first.get("ship-postal-code"),
        ship_country=first.get("ship-country"),
    )
    return order, list(items.values())


def _item(order_id: str, row: dict[str, str], currency: str) -> OrderItemRecord:
    quantity = integer(row.get("quantity")) or 0
    status = (row.get("item-status") or "").casefold()
    shipped = integer(row.get("quantity-shipped"))
    if shipped is None:
        shipped = quantity if status == "shipped" else 0 if status in ("unshipped", "cancelled") else None
    price = decimal(row.get("item-price"))

    def amount(name: str) -> Decimal | None:
        value = decimal(row.get(name))
        return None if price is None else value if value is not None else ZERO

    discounts = [amount(name) for name in DISCOUNTS]
    return OrderItemRecord(
        amazon_order_id=order_id,
        seller_sku=row["sku"],
        order_item_id=None,
        asin=row["asin"],
        title=row.get("product-name"),
        quantity_ordered=quantity,
        quantity_shipped=shipped,
        item_price=price,
        item_tax=amount("item-tax"),
        shipping_price=amount("shipping-price"),
        shipping_tax=amount("shipping-tax"),
        promotion_discount=None if price is None else sum((abs(d) for d in discounts if d is not None), ZERO),
        currency=row.get("currency") or currency,
    )


def _merge(one: OrderItemRecord, other: OrderItemRecord) -> OrderItemRecord:
    def add(a, b):
        return b if a is None else a if b is None else a + b

    return OrderItemRecord(
        amazon_order_id=one.amazon_order_id, seller_sku=one.seller_sku, order_item_id=None, asin=one.asin,
        title=one.title, quantity_ordered=one.quantity_ordered + other.quantity_ordered,
        quantity_shipped=add(one.quantity_shipped, other.quantity_shipped),
        item_price=add(one.item_price, other.item_price), item_tax=add(one.item_tax, other.item_tax),
        shipping_price=add(one.shipping_price, other.shipping_price),
        shipping_tax=add(one.shipping_tax, other.shipping_tax),
        promotion_discount=add(one.promotion_discount, other.promotion_discount),
        currency=one.currency or other.currency,
    )


def _status(text: str) -> str:
    key = text.split(" - ")[0].replace(" ", "").replace("_", "").casefold()
    try:
        return ORDER_STATUSES[key]
    except KeyError:
        raise ValueError(f"unknown order-status {text!r}") from None


def _rows(text: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) for each data row; column names lower case and trimmed, values
    trimmed, empty cells left out."""
    lines = [line.rstrip("\r") for line in text.lstrip("\ufeff").split("\n")]
    if not lines or not lines[0].strip():
        return
    header = [name.strip().casefold() for name in lines[0].split("\t")]
    missing = [name for name in required if name not in header]
    if missing:
        raise ReportUnreadable(f"the report has no column {', '.join(missing)} (columns: {', '.join(header)})")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        yield number, {name: cell.strip() for name, cell in zip(header, cells, strict=False) if cell.strip()}

