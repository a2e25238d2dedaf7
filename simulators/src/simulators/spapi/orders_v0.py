"""Orders API v0: getOrders, getOrder and getOrderItems, with ordersV0.json's parameter names and shapes
(`{"payload": ...}`, PascalCase, money as `{"CurrencyCode", "Amount"}`).

What the API withholds, it withholds here too: no OrderTotal and no item amounts for Pending and
Canceled orders (Canceled items show QuantityOrdered 0), and a ShippingAddress (city, region, postal
code, country; the rest is restricted data) only for Unshipped, PartiallyShipped, Shipped and
InvoiceUnconfirmed orders. getOrders filters on OrderStatuses, FulfillmentChannels and AmazonOrderIds;
its other optional filters are checked where they have fixed values and otherwise ignored.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

from flask import Blueprint, Response, jsonify, request

from .clock import iso_z
from .context import operation, seller, sim, store
from .errors import invalid_input, not_found
from .order_search import V0_NAMES, OrderQuery, window
from .orders import STATUSES, ZERO, Order
from .params import check_count, check_enum, int_param, list_param, marketplace_ids, optional_datetime

orders_v0 = Blueprint("spapi_orders_v0", __name__, url_prefix="/orders/v0")

ITEMS_PER_PAGE = 100
_ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}")
_DAY = 86400


def money(currency: str, amount: Decimal) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": f"{amount:.2f}"}


def v0_order(order: Order) -> dict:
    """An `Order` of ordersV0.json."""
    shipped = sum(order.shipped(i) for i in range(len(order.items)))
    ordered = sum(order.quantity(item) for item in order.items)
    body: dict = {"AmazonOrderId": order.amazon_order_id, "SellerOrderId": order.amazon_order_id,
                  "PurchaseDate": iso_z(order.purchase_date), "LastUpdateDate": iso_z(order.last_update),
                  "OrderStatus": order.status, "FulfillmentChannel": order.channel,
                  "SalesChannel": order.marketplace.sales_channel, "ShipServiceLevel": order.ship_service_level}
    if order.total is not None:
        body["OrderTotal"] = money(order.currency, order.total)
    body |= {"NumberOfItemsShipped": shipped, "NumberOfItemsUnshipped": ordered - shipped, "PaymentMethod": "Other",
             "PaymentMethodDetails": ["Standard"], "IsReplacementOrder": False,
             "MarketplaceId": order.marketplace.id, "ShipmentServiceLevelCategory": order.ship_category,
             "OrderType": "StandardOrder", "EarliestShipDate": iso_z(order.purchase_date),
             "LatestShipDate": iso_z(order.purchase_date + 2 * _DAY)}
    if order.channel == "MFN":
        body |= {"EarliestDeliveryDate": iso_z(order.purchase_date + 3 * _DAY),
                 "LatestDeliveryDate": iso_z(order.purchase_date + 6 * _DAY)}
    body |= {"IsBusinessOrder": order.is_business, "IsPrime": order.is_prime, "IsPremiumOrder": False,
             "IsGlobalExpressEnabled": False, "IsSoldByAB": False, "IsIBA": False, "IsISPU": False,
             "IsAccessPointOrder": False, "HasRegulatedItems": False}
    if order.address_visible:
        city, state, postal_code, country = order.place
        body["ShippingAddress"] = {"City": city, "StateOrRegion": state, "PostalCode": postal_code,
                                   "CountryCode": country}
    buyer: dict = {}
    if order.channel == "MFN":
        digest = hashlib.sha1(order.amazon_order_id.encode()).hexdigest()[:16]
        buyer["BuyerEmail"] = f"{digest}@marketplace.{order.marketplace.sales_channel.lower()}"
        body["AutomatedShippingSettings"] = {"HasAutomatedShippingSettings": False}
    if order.purchase_order_number:
        buyer["PurchaseOrderNumber"] = order.purchase_order_number
    body["BuyerInfo"] = buyer
    return body


def v0_item(order: Order, index: int) -> dict:
    """An `OrderItem` of ordersV0.json."""
    item = order.items[index]
    currency = order.currency
    body: dict = {"ASIN": item.asin, "SellerSKU": item.sku, "OrderItemId": item.order_item_id, "Title": item.title,
                  "QuantityOrdered": order.quantity(item), "QuantityShipped": order.shipped(index),
                  "ProductInfo": {"NumberOfItems": "1"}}
    if order.prices_visible:
        body |= {"ItemPrice": money(currency, item.item_price), "ShippingPrice": money(currency, item.shipping_price),
                 "ItemTax": money(currency, item.item_tax), "ShippingTax": money(currency, item.shipping_tax),
                 "ShippingDiscount": money(currency, item.shipping_discount),
                 "ShippingDiscountTax": money(currency, ZERO),
                 "PromotionDiscount": money(currency, item.promotion_discount),
                 "PromotionDiscountTax": money(currency, ZERO)}
        if item.promotion_ids:
            body["PromotionIds"] = list(item.promotion_ids)
        body["IsGift"] = "true" if item.gift_wrap_price else "false"
    body |= {"ConditionId": "New", "ConditionSubtypeId": "New", "IsTransparency": False,
             "SerialNumberRequired": False}
    if item.business_price:
        body["PriceDesignation"] = "BusinessPrice"
    if order.prices_visible and item.gift_wrap_price:
        body["BuyerInfo"] = {"GiftWrapPrice": money(currency, item.gift_wrap_price),
                             "GiftWrapTax": money(currency, item.gift_wrap_tax), "GiftWrapLevel": "Classic"}
    return body


def _order(order_id: str) -> Order:
    if not _ORDER_ID.fullmatch(order_id):
        raise invalid_input(f"Invalid order ID: {order_id}.", "An AmazonOrderId has the 3-7-7 format.")
    order = store().get(order_id)
    if order is None:
        raise not_found(f"Order {order_id} not found.")
    return order


@orders_v0.get("/orders")
@operation("getOrders")
def get_orders() -> Response:
    ctx, args = sim(), request.args
    marketplaces = list_param(args, "MarketplaceIds")
    if not marketplaces:
        raise invalid_input("Missing required parameter MarketplaceIds.")
    marketplaces = marketplace_ids(check_count(marketplaces, "MarketplaceIds", 1, 50), store().listings,
                                   "MarketplaceIds")
    token = args.get("NextToken")
    if token is not None:
        query, cursor = ctx.pager.resume(token, seller().seller_id, "v0", lambda: invalid_input("Invalid NextToken."))
    else:
        query, cursor = _query(args, marketplaces, ctx.clock.now()), None
    page, next_token = ctx.pager.page(store().orders(), query, cursor, seller().seller_id, "v0")
    payload: dict = {"Orders": [v0_order(order) for order in page]}
    if next_token:
        payload["NextToken"] = next_token
    payload["CreatedBefore" if query.by == "created" else "LastUpdatedBefore"] = iso_z(query.before)
    return jsonify(payload=payload)


def _query(args, marketplaces: list[str], now: float) -> OrderQuery:
    by, after, before = window(
        V0_NAMES, optional_datetime(args, "CreatedAfter"), optional_datetime(args, "CreatedBefore"),
        optional_datetime(args, "LastUpdatedAfter"), optional_datetime(args, "LastUpdatedBefore"), now)
    statuses = list_param(args, "OrderStatuses")
    channels = list_param(args, "FulfillmentChannels")
    order_ids = list_param(args, "AmazonOrderIds")
    payment_methods = list_param(args, "PaymentMethods")
    if payment_methods is not None:  # every simulated order is paid by "Other" means
        check_enum(payment_methods, ("COD", "CVS", "Other"), "PaymentMethods")
        if "Other" not in payment_methods:
            order_ids = []
    return OrderQuery(
        by=by, after=after, before=before, marketplaces=tuple(marketplaces),
        statuses=None if statuses is None else tuple(check_enum(statuses, STATUSES, "OrderStatuses")),
        channels=None if channels is None else tuple(check_enum(channels, ("AFN", "MFN"), "FulfillmentChannels")),
        order_ids=None if order_ids is None else tuple(check_count(order_ids, "AmazonOrderIds", 0, 50)),
        page_size=int_param(args, "MaxResultsPerPage", 1, 100, 100))


@orders_v0.get("/orders/<order_id>")
@operation("getOrder")
def get_order(order_id: str) -> Response:
    return jsonify(payload=v0_order(_order(order_id)))


@orders_v0.get("/orders/<order_id>/orderItems")
@operation("getOrderItems")
def get_order_items(order_id: str) -> Response:
    ctx = sim()
    order = _order(order_id)
    start = 0
    token = request.args.get("NextToken")
    if token is not None:
        payload = ctx.pager.signer.loads(token)
        if not payload or payload.get("s") != seller().seller_id or payload.get("o") != order_id:
            raise invalid_input("Invalid NextToken.")
        start = payload["i"]
    end = start + ITEMS_PER_PAGE
    body: dict = {"OrderItems": [v0_item(order, i) for i in range(start, min(end, len(order.items)))]}
    if end < len(order.items):
        body["NextToken"] = ctx.pager.signer.dumps({"s": seller().seller_id, "o": order_id, "i": end})
    body["AmazonOrderId"] = order_id
    return jsonify(payload=body)
