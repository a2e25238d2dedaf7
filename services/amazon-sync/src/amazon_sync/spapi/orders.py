"""Orders of one seller from the Orders API, as `OrderRecord` and `OrderItemRecord` rows, whichever version
`settings.orders_api` names:

- `2026-01-01`: `searchOrders` with its items included (`includedData` FULFILLMENT, PROCEEDS, RECIPIENT);
  `order_items` is one `getOrder`.
- `v0`: `getOrders`, the items left to `order_items` (`getOrderItems`, one call per order).

Both map to the same records: statuses as Orders v0 names them; `ship_service_level` as v0's shipment
service level category (`Standard`, `Expedited`, ...); `order_total` what the buyer was charged (2026:
the proceeds' grand total without delivery tips, which are charged apart); an item's `promotion_discount`
is every promotion on it, on the item and on its shipping (v0: PromotionDiscount + ShippingDiscount;
2026: the DISCOUNT proceeds), as a positive amount; an amount Amazon leaves out is None (Amazon leaves
prices out while an order is Pending). `...Before` bounds later than 2 minutes before now (upstream time)
are moved back to it, since Amazon refuses them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

from ..kind import AmazonSettings
from ..marketplaces import MARKETPLACES, by_id
from ..records import OrderItemRecord, OrderRecord
from .transport import Transport
from .values import money, utc

log = logging.getLogger("amazon_sync.spapi")

PAGE_SIZE = 100
BEFORE_MARGIN = timedelta(minutes=2)  # upstream time: Amazon's newest allowed `...Before`
INCLUDED_DATA = ("FULFILLMENT", "PROCEEDS", "RECIPIENT")
V0_ORDERS, V0_ORDER = "/orders/v0/orders", "/orders/v0/orders/{}/orderItems"
ORDERS_2026, ORDER_2026 = "/orders/2026-01-01/orders", "/orders/2026-01-01/orders/{}"

STATUSES_2026 = {"PENDING_AVAILABILITY": "PendingAvailability", "PENDING": "Pending", "UNSHIPPED": "Unshipped",
                 "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
                 "UNFULFILLABLE": "Unfulfillable"}
FULFILLED_BY = {"AMAZON": "AFN", "MERCHANT": "MFN"}
SERVICE_LEVELS_2026 = {"EXPEDITED": "Expedited", "FREE_ECONOMY": "FreeEconomy", "NEXT_DAY": "NextDay",
                       "PRIORITY": "Priority", "SAME_DAY": "SameDay", "SECOND_DAY": "SecondDay",
                       "SCHEDULED": "Scheduled", "STANDARD": "Standard"}

OrderWithItems = tuple[OrderRecord, list[OrderItemRecord] | None]


class OrdersClient:
    def __init__(self, settings: AmazonSettings, transport: Transport):
        self.settings = settings
        self.transport = transport

    def search(self, marketplace_id: str, *, created_after: datetime | None = None,
               created_before: datetime | None = None, last_updated_after: datetime | None = None,
               last_updated_before: datetime | None = None) -> Iterator[OrderWithItems]:
        """The marketplace's orders created (or last updated) in the range, page after page, each with its
        items (None with Orders v0: ask `order_items`). Exactly one of `created_after` and
        `last_updated_after`; the created and last-updated bounds are not mixed (ValueError)."""
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("give exactly one of created_after and last_updated_after")
        if (created_after is not None and last_updated_before is not None) or \
                (last_updated_after is not None and created_before is not None):
            raise ValueError("created and last-updated bounds cannot be mixed")
        by_created = created_after is not None
        after = created_after if by_created else last_updated_after
        after = after if after.tzinfo else after.replace(tzinfo=UTC)
        before = self._clamp(created_before if by_created else last_updated_before)
        region = by_id(marketplace_id).region
        if before <= after:
            return iter(())
        if self.settings.orders_api == "v0":
            return self._search_v0(marketplace_id, region, by_created, after, before)
        return self._search_2026(marketplace_id, region, by_created, after, before)

    def order_items(self, order_id: str, *, marketplace_id: str | None = None) -> list[OrderItemRecord]:
        """The order's items (`getOrderItems`, every page, with Orders v0; `getOrder` with 2026-01-01).
        `marketplace_id` picks the region (default: the instance's first marketplace)."""
        region = by_id(marketplace_id or self.settings.marketplace_ids[0]).region
        if self.settings.orders_api != "v0":
            body = self.transport.call("getOrder/2026-01-01", "GET", ORDER_2026.format(quote(order_id, safe="")),
                                       region=region, params={"includedData": list(INCLUDED_DATA)})
            return [_item_2026(order_id, item) for item in body.get("order", {}).get("orderItems") or []]
        items: list[OrderItemRecord] = []
        token: str | None = None
        while True:
            body = self.transport.call("getOrderItems", "GET", V0_ORDER.format(quote(order_id, safe="")),
                                       region=region, params={"NextToken": token})
            payload = body.get("payload") or {}
            items += [_item_v0(order_id, item) for item in payload.get("OrderItems") or []]
            token = payload.get("NextToken") or None
            if token is None:
                return items

    def _clamp(self, before: datetime | None) -> datetime:
        """`before` (aware; default now), no later than 2 minutes before now in upstream time."""
        latest = datetime.now(UTC) - BEFORE_MARGIN / self.settings.time_speed
        if before is None:
            return latest.replace(microsecond=0)
        before = before if before.tzinfo else before.replace(tzinfo=UTC)
        return min(before, latest.replace(microsecond=0))

    def _search_v0(self, marketplace_id: str, region: str, by_created: bool, after: datetime,
                   before: datetime) -> Iterator[OrderWithItems]:
        first = {"MarketplaceIds": [marketplace_id], "MaxResultsPerPage": PAGE_SIZE,
                 "CreatedAfter" if by_created else "LastUpdatedAfter": after,
                 "CreatedBefore" if by_created else "LastUpdatedBefore": before}
        params = first
        while True:
            body = self.transport.call("getOrders", "GET", V0_ORDERS, region=region, params=params)
            payload = body.get("payload") or {}
            for order in payload.get("Orders") or []:
                yield _order_v0(order, marketplace_id), None
            token = payload.get("NextToken") or None
            if token is None:
                return
            params = {"MarketplaceIds": [marketplace_id], "NextToken": token}

    def _search_2026(self, marketplace_id: str, region: str, by_created: bool, after: datetime,
                     before: datetime) -> Iterator[OrderWithItems]:
        params = {"marketplaceIds": [marketplace_id], "maxResultsPerPage": PAGE_SIZE,
                  "includedData": list(INCLUDED_DATA),
                  "createdAfter" if by_created else "lastUpdatedAfter": after,
                  "createdBefore" if by_created else "lastUpdatedBefore": before}
        while True:
            body = self.transport.call("searchOrders", "GET", ORDERS_2026, region=region, params=params)
            for order in body.get("orders") or []:
                yield _order_2026(order, marketplace_id)
            token = (body.get("pagination") or {}).get("nextToken") or None
            if token is None:
                return
            params = {**params, "paginationToken": token}


# -- Orders v0 -----------------------------------------------------------------------------------------


def _order_v0(order: dict, marketplace_id: str) -> OrderRecord:
    total, currency = money(order.get("OrderTotal"))
    address = order.get("ShippingAddress") or {}
    mid = order.get("MarketplaceId") or marketplace_id
    return OrderRecord(
        amazon_order_id=order["AmazonOrderId"],
        marketplace_id=mid,
        purchase_date=utc(order["PurchaseDate"]),
        last_update_date=utc(order["LastUpdateDate"]),
        order_status=order["OrderStatus"],
        fulfillment_channel=order.get("FulfillmentChannel"),
        sales_channel=order.get("SalesChannel") or _sales_channel(mid),
        ship_service_level=order.get("ShipmentServiceLevelCategory") or order.get("ShipServiceLevel"),
        order_total=total,
        currency=currency,
        items_shipped=order.get("NumberOfItemsShipped"),
        items_unshipped=order.get("NumberOfItemsUnshipped"),
        is_business_order=bool(order.get("IsBusinessOrder", False)),
        ship_city=address.get("City"),
        ship_state=address.get("StateOrRegion"),
        ship_postal_code=address.get("PostalCode"),
        ship_country=address.get("CountryCode"),
    )


def _item_v0(order_id: str, item: dict) -> OrderItemRecord:
    price, currency = money(item.get("ItemPrice"))
    tax, tax_currency = money(item.get("ItemTax"))
    shipping, shipping_currency = money(item.get("ShippingPrice"))
    shipping_tax, _ = money(item.get("ShippingTax"))
    promotion, _ = money(item.get("PromotionDiscount"))
    shipping_discount, _ = money(item.get("ShippingDiscount"))
    return OrderItemRecord(
        amazon_order_id=order_id,
        seller_sku=item.get("SellerSKU") or "",
        order_item_id=item.get("OrderItemId"),
        asin=item["ASIN"],
        title=item.get("Title"),
        quantity_ordered=int(item["QuantityOrdered"]),
        quantity_shipped=item.get("QuantityShipped"),
        item_price=price,
        item_tax=tax,
        shipping_price=shipping,
        shipping_tax=shipping_tax,
        promotion_discount=_discount(promotion, shipping_discount),
        currency=currency or tax_currency or shipping_currency,
    )


# -- Orders 2026-01-01 ---------------------------------------------------------------------------------


def _order_2026(order: dict, marketplace_id: str) -> OrderWithItems:
    order_id = order["orderId"]
    channel = order.get("salesChannel") or {}
    fulfillment = order.get("fulfillment") or {}
    address = (order.get("recipient") or {}).get("deliveryAddress") or {}
    items = [_item_2026(order_id, item) for item in order.get("orderItems") or []]
    shipped = [(item.get("fulfillment") or {}).get("quantityFulfilled") for item in order.get("orderItems") or []]
    unshipped = [(item.get("fulfillment") or {}).get("quantityUnfulfilled") for item in order.get("orderItems") or []]
    total, currency = _order_total(order.get("proceeds"))
    mid = channel.get("marketplaceId") or marketplace_id
    status = fulfillment.get("fulfillmentStatus")
    record = OrderRecord(
        amazon_order_id=order_id,
        marketplace_id=mid,
        purchase_date=utc(order["createdTime"]),
        last_update_date=utc(order["lastUpdatedTime"]),
        order_status=STATUSES_2026.get(status, status),
        fulfillment_channel=FULFILLED_BY.get(fulfillment.get("fulfilledBy")),
        sales_channel=channel.get("marketplaceName") or _sales_channel(mid),
        ship_service_level=SERVICE_LEVELS_2026.get(fulfillment.get("fulfillmentServiceLevel"),
                                                   fulfillment.get("fulfillmentServiceLevel")),
        order_total=total,
        currency=currency,
        items_shipped=_sum(shipped),
        items_unshipped=_sum(unshipped),
        is_business_order="AMAZON_BUSINESS" in (order.get("programs") or []),
        ship_city=address.get("city"),
        ship_state=address.get("stateOrRegion"),
        ship_postal_code=address.get("postalCode"),
        ship_country=address.get("countryCode"),
    )
    return record, items


def _item_2026(order_id: str, item: dict) -> OrderItemRecord:
    product = item.get("product") or {}
    proceeds = _breakdowns(item.get("proceeds"))
    price, currency = proceeds.get("ITEM", (None, None))
    shipping, shipping_currency = proceeds.get("SHIPPING", (None, None))
    discount, _ = proceeds.get("DISCOUNT", (None, None))
    tax = _tax_parts(item.get("proceeds"))
    _, unit_currency = money((product.get("price") or {}).get("unitPrice"))
    return OrderItemRecord(
        amazon_order_id=order_id,
        seller_sku=product.get("sellerSku") or "",
        order_item_id=item.get("orderItemId"),
        asin=product.get("asin") or "",
        title=product.get("title"),
        quantity_ordered=int(item["quantityOrdered"]),
        quantity_shipped=(item.get("fulfillment") or {}).get("quantityFulfilled"),
        item_price=price,
        item_tax=tax.get("ITEM"),
        shipping_price=shipping,
        shipping_tax=tax.get("SHIPPING"),
        promotion_discount=abs(discount) if discount is not None else None,
        currency=currency or shipping_currency or unit_currency,
    )


def _breakdowns(proceeds: dict | None) -> dict[str, tuple[Decimal | None, str | None]]:
    """Proceeds breakdowns by type (amounts of one type added up)."""
    found: dict[str, tuple[Decimal | None, str | None]] = {}
    for part in (proceeds or {}).get("breakdowns") or []:
        amount, currency = money(part.get("subtotal"))
        if amount is None:
            continue
        before, _ = found.get(part.get("type"), (None, None))
        found[part.get("type")] = ((before or Decimal(0)) + amount, currency)
    return found


def _tax_parts(proceeds: dict | None) -> dict[str, Decimal]:
    """The TAX proceeds by what they tax (ITEM, SHIPPING, ...); all of it on ITEM when not broken down."""
    parts: dict[str, Decimal] = {}
    for part in (proceeds or {}).get("breakdowns") or []:
        if part.get("type") != "TAX":
            continue
        details = part.get("detailedBreakdowns") or []
        if not details:
            amount, _ = money(part.get("subtotal"))
            if amount is not None:
                parts["ITEM"] = parts.get("ITEM", Decimal(0)) + amount
        for detail in details:
            amount, _ = money(detail.get("value"))
            if amount is not None:
                subtype = detail.get("subtype") or "ITEM"
                parts[subtype] = parts.get(subtype, Decimal(0)) + amount
    return parts


def _order_total(proceeds: dict | None) -> tuple[Decimal | None, str | None]:
    """The grand total without delivery tips (charged apart from the order's items)."""
    total, currency = money((proceeds or {}).get("grandTotal"))
    if total is None:
        return None, None
    tip, _ = _breakdowns(proceeds).get("DELIVERY_TIP", (None, None))
    return (total - tip if tip is not None else total), currency


# -- both ----------------------------------------------------------------------------------------------


def _discount(*amounts: Decimal | None) -> Decimal | None:
    present = [abs(amount) for amount in amounts if amount is not None]
    return sum(present, Decimal(0)) if present else None


def _sum(values: list[int | None]) -> int | None:
    return sum(values) if values and all(value is not None for value in values) else None


def _sales_channel(marketplace_id: str) -> str | None:
    marketplace = MARKETPLACES.get(marketplace_id)
    return marketplace.sales_channel if marketplace else None
