"""Orders API 2026-01-01: searchOrders and getOrder, with orders_2026-01-01.json's names and shapes (no
payload wrapper, camelCase, money as `{"amount", "currencyCode"}`), over the same orders as v0.

An order always has its id, times, sales channel and items (product, quantity); `includedData` adds the
optional blocks: BUYER, RECIPIENT (the delivery address, when v0 shows a ShippingAddress), PROCEEDS (the
money: `grandTotal` equals v0's OrderTotal, item proceeds broken down into ITEM, SHIPPING, GIFT_WRAP,
TAX and a negative DISCOUNT), PROMOTION, CANCELLATION, FULFILLMENT (status, who fulfils, service level,
ship-by window; per item the quantities fulfilled). EXPENSE, PACKAGES, TAX, PAYMENT and
FULFILLMENT_ORDERS are accepted and add nothing. Statuses: v0 `Canceled` is `CANCELLED`,
`InvoiceUnconfirmed` is `SHIPPED`, the others upper snake case.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, jsonify, request

from .clock import iso_z
from .context import operation, seller, sim, store
from .errors import invalid_input, not_found
from .order_search import V2026_NAMES, OrderQuery, window
from .orders import ZERO, Order
from .params import check_count, check_enum, int_param, list_param, marketplace_ids, optional_datetime

orders_v2026 = Blueprint("spapi_orders_v2026", __name__, url_prefix="/orders/2026-01-01")

INCLUDED_DATA = ("BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                 "TAX", "PAYMENT", "FULFILLMENT_ORDERS")
FULFILLMENT_STATUS = {"PendingAvailability": "PENDING_AVAILABILITY", "Pending": "PENDING", "Unshipped": "UNSHIPPED",
                      "PartiallyShipped": "PARTIALLY_SHIPPED", "Shipped": "SHIPPED", "InvoiceUnconfirmed": "SHIPPED",
                      "Canceled": "CANCELLED", "Unfulfillable": "UNFULFILLABLE"}
_V0_STATUSES = {v2026: tuple(v0 for v0, v in FULFILLMENT_STATUS.items() if v == v2026)
                for v2026 in FULFILLMENT_STATUS.values()}
_SERVICE_LEVEL = {"Standard": "STANDARD", "Expedited": "EXPEDITED", "NextDay": "NEXT_DAY"}
_DAY = 86400


def money(currency: str, amount: Decimal) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "currencyCode": currency}


def v2026_order(order: Order, included: set[str]) -> dict:
    """An `Order` of orders_2026-01-01.json with the blocks `included` asks for."""
    mp = order.marketplace
    programs = [name for name, on in (("AMAZON_BUSINESS", order.is_business), ("PRIME", order.is_prime)) if on]
    body: dict = {"orderId": order.amazon_order_id, "orderAliases": [
        {"aliasId": order.amazon_order_id, "aliasType": "SELLER_ORDER_ID"}],
        "createdTime": iso_z(order.purchase_date), "lastUpdatedTime": iso_z(order.last_update),
        "programs": programs,
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": mp.id, "marketplaceName": mp.name}}
    if "BUYER" in included:
        buyer = {}
        if order.purchase_order_number:
            buyer["buyerPurchaseOrderNumber"] = order.purchase_order_number
        body["buyer"] = buyer
    if "RECIPIENT" in included and order.address_visible:
        city, state, postal_code, country = order.place
        body["recipient"] = {"deliveryAddress": {"city": city, "stateOrRegion": state, "postalCode": postal_code,
                                                 "countryCode": country, "addressType": "RESIDENTIAL"}}
    if "PROCEEDS" in included and order.total is not None:
        body["proceeds"] = _order_proceeds(order)
    if "FULFILLMENT" in included:
        body["fulfillment"] = {
            "fulfillmentStatus": FULFILLMENT_STATUS[order.status],
            "fulfilledBy": "AMAZON" if order.channel == "AFN" else "MERCHANT",
            "fulfillmentServiceLevel": _SERVICE_LEVEL.get(order.ship_category, "STANDARD"),
            "shipByWindow": {"earliestDateTime": iso_z(order.purchase_date),
                             "latestDateTime": iso_z(order.purchase_date + 2 * _DAY)}}
    body["orderItems"] = [_item(order, index, included) for index in range(len(order.items))]
    return body


def _order_proceeds(order: Order) -> dict:
    currency = order.currency
    sums = {"ITEM": ZERO, "SHIPPING": ZERO, "GIFT_WRAP": ZERO, "TAX": ZERO, "DISCOUNT": ZERO}
    for item in order.items:
        sums["ITEM"] += item.item_price
        sums["SHIPPING"] += item.shipping_price
        sums["GIFT_WRAP"] += item.gift_wrap_price
        sums["TAX"] += item.item_tax + item.shipping_tax + item.gift_wrap_tax
        sums["DISCOUNT"] -= item.promotion_discount + item.shipping_discount
    return {"grandTotal": money(currency, order.total),
            "breakdowns": [{"type": kind, "subtotal": money(currency, amount)} for kind, amount in sums.items()
                           if amount or kind == "ITEM"]}


def _item(order: Order, index: int, included: set[str]) -> dict:
    item = order.items[index]
    currency = order.currency
    product: dict = {"asin": item.asin, "title": item.title, "sellerSku": item.sku,
                     "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"}}
    if order.prices_visible:
        unit = item.item_price / item.quantity
        product["price"] = {"unitPrice": money(currency, unit)}
        if item.business_price:
            product["price"]["priceDesignation"] = "BUSINESS_PRICE"
    body: dict = {"orderItemId": item.order_item_id, "quantityOrdered": order.quantity(item), "product": product}
    if "PROCEEDS" in included and order.prices_visible:
        body["proceeds"] = _item_proceeds(item, currency)
    if "PROMOTION" in included and item.promotion_ids and order.prices_visible:
        body["promotion"] = {"breakdowns": [{"promotionId": promotion} for promotion in item.promotion_ids]}
    if "CANCELLATION" in included and order.status == "Canceled":
        body["cancellation"] = {"cancellationExecution": {"cancelledBy": "BUYER",
                                                          "cancelReason": "Order cancelled by the buyer"}}
    if "FULFILLMENT" in included:
        shipped = order.shipped(index)
        fulfillment: dict = {"quantityFulfilled": shipped, "quantityUnfulfilled": order.quantity(item) - shipped}
        if item.gift_wrap_price:
            fulfillment["packing"] = {"giftOption": {"giftWrapLevel": "Classic"}}
        body["fulfillment"] = fulfillment
    return body


def _item_proceeds(item, currency: str) -> dict:
    breakdowns = [{"type": "ITEM", "subtotal": money(currency, item.item_price)}]
    if item.shipping_price:
        breakdowns.append({"type": "SHIPPING", "subtotal": money(currency, item.shipping_price)})
    if item.gift_wrap_price:
        breakdowns.append({"type": "GIFT_WRAP", "subtotal": money(currency, item.gift_wrap_price)})
    taxes = [(kind, amount) for kind, amount in (("ITEM", item.item_tax), ("SHIPPING", item.shipping_tax),
                                                 ("GIFT_WRAP", item.gift_wrap_tax)) if amount]
    if taxes:
        breakdowns.append({"type": "TAX", "subtotal": money(currency, sum((a for _, a in taxes), ZERO)),
                           "detailedBreakdowns": [{"subtype": k, "value": money(currency, a)} for k, a in taxes]})
    discounts = [(kind, -amount) for kind, amount in (("ITEM", item.promotion_discount),
                                                      ("SHIPPING", item.shipping_discount)) if amount]
    if discounts:
        breakdowns.append({"type": "DISCOUNT", "subtotal": money(currency, sum((a for _, a in discounts), ZERO)),
                           "detailedBreakdowns": [{"subtype": k, "value": money(currency, a)} for k, a in discounts]})
    return {"proceedsTotal": money(currency, item.total), "breakdowns": breakdowns}


def _included() -> set[str]:
    values = list_param(request.args, "includedData")
    return set(check_enum(values, INCLUDED_DATA, "includedData")) if values else set()


@orders_v2026.get("/orders")
@operation("searchOrders")
def search_orders() -> Response:
    ctx, args = sim(), request.args
    included = _included()
    token = args.get("paginationToken")
    if token is not None:
        query, cursor = ctx.pager.resume(token, seller().seller_id, "2026-01-01",
                                         lambda: invalid_input("Invalid paginationToken."))
    else:
        query, cursor = _query(args, ctx.clock.now()), None
    page, next_token = ctx.pager.page(store().orders(), query, cursor, seller().seller_id, "2026-01-01")
    body: dict = {"orders": [v2026_order(order, included) for order in page]}
    if next_token:
        body["pagination"] = {"nextToken": next_token}
    body["createdBefore" if query.by == "created" else "lastUpdatedBefore"] = iso_z(query.before)
    return jsonify(body)


def _query(args, now: float) -> OrderQuery:
    by, after, before = window(
        V2026_NAMES, optional_datetime(args, "createdAfter"), optional_datetime(args, "createdBefore"),
        optional_datetime(args, "lastUpdatedAfter"), optional_datetime(args, "lastUpdatedBefore"), now)
    wanted = list_param(args, "marketplaceIds")
    marketplaces = (marketplace_ids(check_count(wanted, "marketplaceIds", 1, 50), store().listings, "marketplaceIds")
                    if wanted is not None else list(store().listings))
    statuses = list_param(args, "fulfillmentStatuses")
    fulfilled_by = list_param(args, "fulfilledBy")
    return OrderQuery(
        by=by, after=after, before=before, marketplaces=tuple(marketplaces),
        statuses=None if statuses is None else tuple(
            v0 for status in check_enum(statuses, _V0_STATUSES, "fulfillmentStatuses") for v0 in _V0_STATUSES[status]),
        channels=None if fulfilled_by is None else tuple(
            "AFN" if who == "AMAZON" else "MFN" for who in check_enum(fulfilled_by, ("MERCHANT", "AMAZON"),
                                                                      "fulfilledBy")),
        page_size=int_param(args, "maxResultsPerPage", 1, 100, 100))


@orders_v2026.get("/orders/<order_id>")
@operation("getOrder_2026-01-01")
def get_order(order_id: str) -> Response:
    included = _included()
    order = store().get(order_id)
    if order is None:
        raise not_found(f"Order {order_id} not found.")
    return jsonify(order=v2026_order(order, included))
