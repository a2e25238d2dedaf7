"""Orders of one seller from the Orders API, as `OrderRecord` and `OrderItemRecord` rows, whichever version
`settings.orders_api` names:

- `2026-01-01`: `searchOrders` with its items included (`includedData` FULFILLMENT, PROCEEDS, RECIPIENT);
  `order_items` is one `getOrder`.
- `v0`: `getOrders`, the items left to `order_items` (`getOrderItems`, one call per order).

Both map to the same records (and the orders flat file too, see `flat_files`):

- statuses as Orders v0 names them (2026 has no InvoiceUnconfirmed: such orders are SHIPPED there);
- `ship_service_level` is the shipment service level category (`Standard`, `Expedited`, `NextDay`, ...:
  v0's ShipmentServiceLevelCategory, 2026's fulfillmentServiceLevel), see `values.service_level`;
- `order_total` is what the buyer was charged (2026: the proceeds' grand total less delivery tips, which
  are charged apart); `currency` is the marketplace's when Amazon shows no amount;
- an item's amounts are None while Amazon withholds prices (Pending, Canceled); once it shows them, an
  amount it leaves out is 0; `promotion_discount` is every promotion on the item, on its price and its
  shipping (v0: PromotionDiscount + ShippingDiscount; 2026: the DISCOUNT proceeds), as a positive amount.

The search window: Amazon refuses a `...Before` less than 2 minutes before its now, and a simulator's now
runs ahead of ours. A `...Before` that may be too late is not sent: Amazon then ends the window at its
own now - 2 minutes and says so, and the orders after the asked `...Before` are left out here. The
search's `window_end` tells where the results end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

from ..kind import AmazonSettings
from ..marketplaces import MARKETPLACES, by_id
from ..records import OrderItemRecord, OrderRecord
from .transport import Transport
from .values import money, service_level, utc

PAGE_SIZE = 100
BEFORE_MARGIN = timedelta(minutes=2)  # upstream time: Amazon's newest allowed `...Before`
ZERO = Decimal(0)
INCLUDED_DATA = ("FULFILLMENT", "PROCEEDS", "RECIPIENT")
V0_ORDERS, V0_ORDER = "/orders/v0/orders", "/orders/v0/orders/{}/orderItems"
ORDERS_2026, ORDER_2026 = "/orders/2026-01-01/orders", "/orders/2026-01-01/orders/{}"

STATUSES_2026 = {"PENDING_AVAILABILITY": "PendingAvailability", "PENDING": "Pending", "UNSHIPPED": "Unshipped",
                 "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
                 "UNFULFILLABLE": "Unfulfillable"}
FULFILLED_BY = {"AMAZON": "AFN", "MERCHANT": "MFN"}

OrderWithItems = tuple[OrderRecord, list[OrderItemRecord] | None]


class OrdersClient:
    def __init__(self, settings: AmazonSettings, transport: Transport):
        self.settings = settings
        self.transport = transport

    def search(self, marketplace_id: str, *, created_after: datetime | None = None,
               created_before: datetime | None = None, last_updated_after: datetime | None = None,
               last_updated_before: datetime | None = None) -> OrderSearch:
        """The marketplace's orders created (or last updated) in the range, page after page, each with its
        items (None with Orders v0: ask `order_items`), as an `OrderSearch` (its `window_end` says where the
        results end). Exactly one of `created_after` and `last_updated_after`; the created and last-updated
        bounds are not mixed (ValueError)."""
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("give exactly one of created_after and last_updated_after")
        if (created_after is not None and last_updated_before is not None) or \
                (last_updated_after is not None and created_before is not None):
            raise ValueError("created and last-updated bounds cannot be mixed")
        by_created = created_after is not None
        after = _aware(created_after if by_created else last_updated_after)
        before = created_before if by_created else last_updated_before
        before = _aware(before) if before is not None else None
        region = by_id(marketplace_id).region
        search = OrderSearch(before)
        if before is not None and before <= after:
            search.window_end = before
            return search
        latest = self.transport.upstream_clock.floor() - BEFORE_MARGIN
        sent = before if before is not None and before <= latest else None
        fetch = self._search_v0 if self.settings.orders_api == "v0" else self._search_2026
        pages = fetch(marketplace_id, region, by_created, after, sent, search.ended)
        search.source = pages if sent is not None or before is None else _until(pages, before, by_created)
        return search

    def order_items(self, order_id: str, *, marketplace_id: str | None = None) -> list[OrderItemRecord]:
        """The order's items (`getOrderItems`, every page, with Orders v0; `getOrder` with 2026-01-01).
        `marketplace_id` picks the region (default: the instance's first marketplace)."""
        marketplace = marketplace_id or self.settings.marketplace_ids[0]
        region = by_id(marketplace).region
        if self.settings.orders_api != "v0":
            body = self.transport.call("getOrder/2026-01-01", "GET", ORDER_2026.format(quote(order_id, safe="")),
                                       region=region, params={"includedData": list(INCLUDED_DATA)})
            order = body.get("order") or {}
            mid = (order.get("salesChannel") or {}).get("marketplaceId") or marketplace
            return [_item_2026(order_id, item, mid) for item in order.get("orderItems") or []]
        items: list[OrderItemRecord] = []
        token: str | None = None
        while True:
            body = self.transport.call("getOrderItems", "GET", V0_ORDER.format(quote(order_id, safe="")),
                                       region=region, params={"NextToken": token})
            payload = body.get("payload") or {}
            items += [_item_v0(order_id, item, marketplace) for item in payload.get("OrderItems") or []]
            token = payload.get("NextToken") or None
            if token is None:
                return items

    def _search_v0(self, marketplace_id: str, region: str, by_created: bool, after: datetime,
                   before: datetime | None, ended: Callable[[datetime | None], None]) -> Iterator[OrderWithItems]:
        names = ("CreatedAfter", "CreatedBefore") if by_created else ("LastUpdatedAfter", "LastUpdatedBefore")
        params = {"MarketplaceIds": [marketplace_id], "MaxResultsPerPage": PAGE_SIZE, names[0]: after,
                  names[1]: before}
        while True:
            body = self.transport.call("getOrders", "GET", V0_ORDERS, region=region, params=params)
            payload = body.get("payload") or {}
            if "NextToken" not in params:
                self._window_end(payload.get(names[1]), before, ended)
            for order in payload.get("Orders") or []:
                yield _order_v0(order, marketplace_id), None
            token = payload.get("NextToken") or None
            if token is None:
                return
            params = {"MarketplaceIds": [marketplace_id], "NextToken": token}

    def _search_2026(self, marketplace_id: str, region: str, by_created: bool, after: datetime,
                     before: datetime | None, ended: Callable[[datetime | None], None]) -> Iterator[OrderWithItems]:
        names = ("createdAfter", "createdBefore") if by_created else ("lastUpdatedAfter", "lastUpdatedBefore")
        params = {"marketplaceIds": [marketplace_id], "maxResultsPerPage": PAGE_SIZE,
                  "includedData": list(INCLUDED_DATA), names[0]: after, names[1]: before}
        while True:
            body = self.transport.call("searchOrders", "GET", ORDERS_2026, region=region, params=params)
            if "paginationToken" not in params:
                self._window_end(body.get(names[1]), before, ended)
            for order in body.get("orders") or []:
                yield _order_2026(order, marketplace_id)
            token = (body.get("pagination") or {}).get("nextToken") or None
            if token is None:
                return
            params = {**params, "paginationToken": token}

    def _window_end(self, told: str | None, sent: datetime | None,
                    ended: Callable[[datetime | None], None]) -> None:
        """The window's end as the first page names it; when we sent none, it is the upstream's now - 2 min."""
        end = _time_or_none(told)
        if end is not None and sent is None:
            self.transport.upstream_clock.observe(end + BEFORE_MARGIN)
        ended(end if end is not None else sent)


class OrderSearch(Iterator[OrderWithItems]):
    """The orders of one search, page after page. `window_end`, known once the first page is read, is where
    the results end (the asked `...Before`, or Amazon's now - 2 minutes when that is earlier): the next
    search of newer orders starts there."""

    def __init__(self, limit: datetime | None):
        self.limit = limit  # the asked `...Before`
        self.source: Iterator[OrderWithItems] = iter(())
        self.window_end: datetime | None = None

    def ended(self, end: datetime | None) -> None:
        if end is not None and self.limit is not None:
            end = min(end, self.limit)
        self.window_end = end if end is not None else self.limit

    def __iter__(self) -> OrderSearch:
        return self

    def __next__(self) -> OrderWithItems:
        return next(self.source)


def _until(pages: Iterator[OrderWithItems], before: datetime, by_created: bool) -> Iterator[OrderWithItems]:
    """The orders of `pages` up to `before` (purchase or last-update time)."""
    for order, items in pages:
        if (order.purchase_date if by_created else order.last_update_date) <= before:
            yield order, items


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
        sales_channel=_sales_channel(mid) or order.get("SalesChannel"),
        ship_service_level=service_level(order.get("ShipmentServiceLevelCategory") or order.get("ShipServiceLevel")),
        order_total=total,
        currency=currency or _currency(mid),
        items_shipped=order.get("NumberOfItemsShipped"),
        items_unshipped=order.get("NumberOfItemsUnshipped"),
        is_business_order=bool(order.get("IsBusinessOrder", False)),
        ship_city=address.get("City"),
        ship_state=address.get("StateOrRegion"),
        ship_postal_code=address.get("PostalCode"),
        ship_country=address.get("CountryCode"),
    )


def _item_v0(order_id: str, item: dict, marketplace_id: str) -> OrderItemRecord:
    price, currency = money(item.get("ItemPrice"))
    shown = price is not None  # Amazon shows an item's amounts all together, or none (Pending, Canceled)
    amounts = {name: _shown(money(item.get(name))[0], shown)
               for name in ("ItemTax", "ShippingPrice", "ShippingTax", "PromotionDiscount", "ShippingDiscount")}
    return OrderItemRecord(
        amazon_order_id=order_id,
        seller_sku=item.get("SellerSKU") or "",
        order_item_id=item.get("OrderItemId"),
        asin=item["ASIN"],
        title=item.get("Title"),
        quantity_ordered=int(item["QuantityOrdered"]),
        quantity_shipped=item.get("QuantityShipped"),
        item_price=price,
        item_tax=amounts["ItemTax"],
        shipping_price=amounts["ShippingPrice"],
        shipping_tax=amounts["ShippingTax"],
        promotion_discount=_discount(amounts["PromotionDiscount"], amounts["ShippingDiscount"]),
        currency=currency or _currency(marketplace_id),
    )


# -- Orders 2026-01-01 ---------------------------------------------------------------------------------


def _order_2026(order: dict, marketplace_id: str) -> OrderWithItems:
    order_id = order["orderId"]
    channel = order.get("salesChannel") or {}
    fulfillment = order.get("fulfillment") or {}
    address = (order.get("recipient") or {}).get("deliveryAddress") or {}
    mid = channel.get("marketplaceId") or marketplace_id
    raw_items = order.get("orderItems") or []
    items = [_item_2026(order_id, item, mid) for item in raw_items]
    total, currency = _order_total(order.get("proceeds"))
    status = fulfillment.get("fulfillmentStatus")
    record = OrderRecord(
        amazon_order_id=order_id,
        marketplace_id=mid,
        purchase_date=utc(order["createdTime"]),
        last_update_date=utc(order["lastUpdatedTime"]),
        order_status=STATUSES_2026.get(status, status),
        fulfillment_channel=FULFILLED_BY.get(fulfillment.get("fulfilledBy")),
        sales_channel=_sales_channel(mid) or channel.get("marketplaceName"),
        ship_service_level=service_level(fulfillment.get("fulfillmentServiceLevel")),
        order_total=total,
        currency=currency or _currency(mid),
        items_shipped=_sum([(item.get("fulfillment") or {}).get("quantityFulfilled") for item in raw_items]),
        items_unshipped=_sum([(item.get("fulfillment") or {}).get("quantityUnfulfilled") for item in raw_items]),
        is_business_order="AMAZON_BUSINESS" in (order.get("programs") or []),
        ship_city=address.get("city"),
        ship_state=address.get("stateOrRegion"),
        ship_postal_code=address.get("postalCode"),
        ship_country=address.get("countryCode"),
    )
    return record, items


def _item_2026(order_id: str, item: dict, marketplace_id: str) -> OrderItemRecord:
    product = item.get("product") or {}
    proceeds = _breakdowns(item.get("proceeds"))
    price, currency = proceeds.get("ITEM", (None, None))
    shown = price is not None
    tax = _tax_parts(item.get("proceeds"))
    discount = proceeds.get("DISCOUNT", (None, None))[0]
    return OrderItemRecord(
        amazon_order_id=order_id,
        seller_sku=product.get("sellerSku") or "",
        order_item_id=item.get("orderItemId"),
        asin=product.get("asin") or "",
        title=product.get("title"),
        quantity_ordered=int(item["quantityOrdered"]),
        quantity_shipped=(item.get("fulfillment") or {}).get("quantityFulfilled"),
        item_price=price,
        item_tax=_shown(tax.get("ITEM"), shown),
        shipping_price=_shown(proceeds.get("SHIPPING", (None, None))[0], shown),
        shipping_tax=_shown(tax.get("SHIPPING"), shown),
        promotion_discount=_discount(_shown(discount, shown)),
        currency=currency or money((product.get("price") or {}).get("unitPrice"))[1] or _currency(marketplace_id),
    )


def _breakdowns(proceeds: dict | None) -> dict[str, tuple[Decimal | None, str | None]]:
    """Proceeds breakdowns by type (amounts of one type added up)."""
    found: dict[str, tuple[Decimal | None, str | None]] = {}
    for part in (proceeds or {}).get("breakdowns") or []:
        amount, currency = money(part.get("subtotal"))
        if amount is None:
            continue
        before, _ = found.get(part.get("type"), (None, None))
        found[part.get("type")] = ((before or ZERO) + amount, currency)
    return found


def _tax_parts(proceeds: dict | None) -> dict[str, Decimal]:
    """The TAX proceeds by what they tax (ITEM, SHIPPING, GIFT_WRAP); all of it on ITEM when not broken down."""
    parts: dict[str, Decimal] = {}
    for part in (proceeds or {}).get("breakdowns") or []:
        if part.get("type") != "TAX":
            continue
        details = part.get("detailedBreakdowns") or [{"subtype": "ITEM", "value": part.get("subtotal")}]
        for detail in details:
            amount, _ = money(detail.get("value"))
            if amount is not None:
                subtype = detail.get("subtype") or "ITEM"
                parts[subtype] = parts.get(subtype, ZERO) + amount
    return parts


def _order_total(proceeds: dict | None) -> tuple[Decimal | None, str | None]:
    """The grand total without delivery tips (charged apart from the order's items)."""
    total, currency = money((proceeds or {}).get("grandTotal"))
    if total is None:
        return None, None
    tip, _ = _breakdowns(proceeds).get("DELIVERY_TIP", (None, None))
    return (total - tip if tip is not None else total), currency


# -- both ----------------------------------------------------------------------------------------------


def _shown(amount: Decimal | None, shown: bool) -> Decimal | None:
    """An amount of an item whose prices Amazon shows (absent: 0), or None while it withholds them."""
    if not shown:
        return None
    return amount if amount is not None else ZERO


def _discount(*amounts: Decimal | None) -> Decimal | None:
    present = [abs(amount) for amount in amounts if amount is not None]
    return sum(present, ZERO) if present else None


def _sum(values: list[int | None]) -> int | None:
    return sum(values) if values and all(value is not None for value in values) else None


def _sales_channel(marketplace_id: str) -> str | None:
    marketplace = MARKETPLACES.get(marketplace_id)
    return marketplace.sales_channel if marketplace else None


def _currency(marketplace_id: str) -> str | None:
    marketplace = MARKETPLACES.get(marketplace_id)
    return marketplace.currency if marketplace else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _time_or_none(text: str | None) -> datetime | None:
    try:
        return utc(text) if text else None
    except ValueError:
        return None
