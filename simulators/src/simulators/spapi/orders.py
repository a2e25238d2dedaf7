"""A seller's orders: the model both Orders API versions and the orders flat-file report are views of,
and their seeded generation.

Amounts are Decimals with two places. An item's `item_price` is unit price times quantity (as v0's
`ItemPrice`); tax comes on top of the price, and an order's total is, over its items,
item price + item tax + shipping + shipping tax + gift wrap + gift wrap tax - promotion discount -
shipping discount. Amazon withholds amounts in two states, and so do all views here: a `Pending` order
has no prices yet (getOrderItems' note), a `Canceled` one has quantity 0 and no prices. Orders are placed
over the `DAYS` days before the anchor time; older ones are mostly shipped, recent ones pending or
unshipped, and some get updated days after purchase, so `LastUpdatedAfter` syncs have work to do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

from .catalog import CENT, Listing, local_price
from .marketplaces import MARKETPLACES, Marketplace

DAYS = 90
STATUSES = ("PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed",
            "Canceled", "Unfulfillable")
WITHOUT_PRICES = ("Pending", "PendingAvailability", "Canceled")
WITH_ADDRESS = ("Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed")
ZERO = Decimal("0.00")
_HOUR, _DAY = 3600, 86400


@dataclass(frozen=True)
class OrderItem:
    order_item_id: str
    listing: Listing
    quantity: int
    item_price: Decimal
    item_tax: Decimal
    shipping_price: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    gift_wrap_price: Decimal = ZERO
    gift_wrap_tax: Decimal = ZERO
    promotion_discount: Decimal = ZERO
    shipping_discount: Decimal = ZERO
    promotion_ids: tuple[str, ...] = ()
    business_price: bool = False

    @property
    def sku(self) -> str:
        return self.listing.product.sku

    @property
    def asin(self) -> str:
        return self.listing.product.asin

    @property
    def title(self) -> str:
        return self.listing.product.title

    @property
    def total(self) -> Decimal:
        return (self.item_price + self.item_tax + self.shipping_price + self.shipping_tax + self.gift_wrap_price
                + self.gift_wrap_tax - self.promotion_discount - self.shipping_discount)


@dataclass(frozen=True)
class Order:
    amazon_order_id: str
    marketplace: Marketplace
    purchase_date: float
    last_update: float
    status: str
    channel: str  # "AFN" or "MFN"
    ship_service_level: str
    ship_category: str  # v0 ShipmentServiceLevelCategory
    is_business: bool
    is_prime: bool
    place: tuple[str, str, str, str]  # city, state or region, postal code, country code
    items: tuple[OrderItem, ...]
    purchase_order_number: str | None = None

    @property
    def prices_visible(self) -> bool:
        return self.status not in WITHOUT_PRICES

    @property
    def address_visible(self) -> bool:
        return self.status in WITH_ADDRESS

    @property
    def currency(self) -> str:
        return self.marketplace.currency

    def quantity(self, item: OrderItem) -> int:
        """Quantity ordered as the APIs show it: 0 once the order is canceled."""
        return 0 if self.status == "Canceled" else item.quantity

    def shipped(self, index: int) -> int:
        """Units of the `index`-th item shipped: all when shipped, the first half of the items when partially."""
        item = self.items[index]
        if self.status in ("Shipped", "InvoiceUnconfirmed"):
            return item.quantity
        if self.status == "PartiallyShipped":
            return item.quantity if index < max(1, len(self.items) // 2) else 0
        return 0

    def item_status(self, index: int) -> str:
        """The flat file's item-status."""
        if self.status == "Canceled":
            return "Cancelled"
        return "Shipped" if self.shipped(index) else "Unshipped"

    @property
    def total(self) -> Decimal | None:
        if not self.prices_visible:
            return None
        return sum((item.total for item in self.items), ZERO)

    def with_status(self, status: str, when: float) -> Order:
        return replace(self, status=status, last_update=max(when, self.last_update))


@dataclass
class OrderMaker:
    """Makes orders from a seller's listings with one random stream (so a seed gives the same orders)."""

    rng: random.Random
    listings: dict[str, list[Listing]]
    used_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._weights = [m.weight for m in MARKETPLACES]
        self._afn = {mid: [li for li in ls if li.afn] for mid, ls in self.listings.items()}
        self._mfn = {mid: [li for li in ls if li.mfn] for mid, ls in self.listings.items()}

    def order(self, purchase: float, anchor: float, status: str | None = None, items: int | None = None,
              marketplace: Marketplace | None = None) -> Order:
        rng = self.rng
        marketplace = marketplace or rng.choices(MARKETPLACES, self._weights)[0]
        channel = "AFN" if rng.random() < 0.65 else "MFN"
        count = items or rng.choices((1, 2, 3, 4), (55, 25, 12, 8))[0]
        status = status or self._status(anchor - purchase, channel, count)
        business = rng.random() < 0.08
        pool = (self._afn if channel == "AFN" else self._mfn)[marketplace.id]
        chosen = rng.sample(pool, min(count, len(pool)))  # SKUs are unique within an order
        order_items = tuple(self._item(marketplace, channel, listing, business) for listing in chosen)
        level, category = self._service_level(marketplace, channel)
        return Order(
            amazon_order_id=self._order_id(marketplace), marketplace=marketplace, purchase_date=purchase,
            last_update=self._last_update(purchase, anchor, status), status=status, channel=channel,
            ship_service_level=level, ship_category=category, is_business=business,
            is_prime=channel == "MFN" and rng.random() < 0.15, place=self._place(marketplace), items=order_items,
            purchase_order_number=f"PO-{rng.randint(10000, 99999)}" if business and rng.random() < 0.5 else None,
        )

    def _status(self, age: float, channel: str, items: int) -> str:
        rng = self.rng
        if age < _HOUR:
            return rng.choices(("Pending", "Unshipped", "Canceled"), (45, 45, 10))[0]
        if age < 2 * _DAY:
            status = rng.choices(("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled"),
                                 (5, 40, 8, 40, 7))[0]
            return "Unshipped" if status == "PartiallyShipped" and items < 2 else status
        status = rng.choices(("Shipped", "Canceled", "InvoiceUnconfirmed", "Unshipped"), (87, 8, 3, 2))[0]
        return "Shipped" if status == "InvoiceUnconfirmed" and channel == "AFN" else status

    def _last_update(self, purchase: float, anchor: float, status: str) -> float:
        rng = self.rng
        if status in ("Pending", "PendingAvailability"):
            return purchase
        later = {"Unshipped": rng.randint(60, 1800), "Canceled": rng.randint(300, _DAY),
                 "PartiallyShipped": rng.randint(2 * _HOUR, _DAY)}.get(status, rng.randint(4 * _HOUR, 3 * _DAY))
        if status == "Shipped" and rng.random() < 0.12:  # touched again long after shipping
            later += rng.randint(3 * _DAY, 40 * _DAY)
        return float(max(purchase, min(anchor - 1, purchase + later)))

    def _item(self, marketplace: Marketplace, channel: str, listing: Listing, business: bool) -> OrderItem:
        rng = self.rng
        rate = marketplace.tax_rate
        quantity = rng.choices((1, 2, 3), (75, 18, 7))[0]
        business_price = business and rng.random() < 0.5
        unit = (listing.price * Decimal("0.95")).quantize(CENT) if business_price else listing.price
        item_price = unit * quantity
        shipping = local_price(marketplace, Decimal("4.99")) if channel == "MFN" else ZERO
        promotions: list[str] = []
        promotion_discount = shipping_discount = ZERO
        if rng.random() < 0.10:
            promotion_discount = (item_price * Decimal("0.10")).quantize(CENT)
            promotions.append(f"SAVE10-{marketplace.country}-{rng.randint(1, 9)}")
        if shipping and rng.random() < 0.25:
            shipping_discount = shipping
            promotions.append(f"FREESHIP-{marketplace.country}")
        gift_wrap = local_price(marketplace, Decimal("3.99")) if rng.random() < 0.03 else ZERO
        return OrderItem(
            order_item_id=str(rng.randrange(10**13, 10**14)), listing=listing, quantity=quantity,
            item_price=item_price, item_tax=(item_price * rate).quantize(CENT), shipping_price=shipping,
            shipping_tax=(shipping * rate).quantize(CENT), gift_wrap_price=gift_wrap,
            gift_wrap_tax=(gift_wrap * rate).quantize(CENT), promotion_discount=promotion_discount,
            shipping_discount=shipping_discount, promotion_ids=tuple(promotions), business_price=business_price,
        )

    def _service_level(self, marketplace: Marketplace, channel: str) -> tuple[str, str]:
        rng = self.rng
        if channel == "AFN":
            category = rng.choices(("Standard", "Expedited", "NextDay"), (70, 20, 10))[0]
            return category, category
        if rng.random() < 0.8:
            return f"Std {marketplace.country} Dom_{rng.randint(1, 3)}", "Standard"
        return f"Exp {marketplace.country} Dom_1", "Expedited"

    def _place(self, marketplace: Marketplace) -> tuple[str, str, str, str]:
        return self.rng.choice(marketplace.places)

    def _order_id(self, marketplace: Marketplace) -> str:
        while True:
            order_id = (f"{self.rng.choice(marketplace.order_prefixes)}-{self.rng.randint(0, 9_999_999):07d}-"
                        f"{self.rng.randint(0, 9_999_999):07d}")
            if order_id not in self.used_ids:
                self.used_ids.add(order_id)
                return order_id


def generate_orders(maker: OrderMaker, anchor: float, count: int) -> list[Order]:
    """`count` orders placed over the `DAYS` days before `anchor`, oldest first."""
    rng = maker.rng
    purchases = sorted(anchor - rng.randint(1, DAYS * _DAY) for _ in range(count))
    return [maker.order(float(purchase), anchor) for purchase in purchases]
