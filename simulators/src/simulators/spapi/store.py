"""One seller's data behind a lock: catalog, listings and orders, made from (seed, seller, anchor time),
plus the changes `/_sim/orders` makes (a new status, new orders)."""

from __future__ import annotations

import random
import threading

from .accounts import Seller
from .catalog import Listing, Product, make_listings, make_products
from .marketplaces import Marketplace
from .orders import Order, OrderMaker, generate_orders


class SellerStore:
    def __init__(self, seller: Seller, seed: int, anchor: float, order_count: int) -> None:
        self.seller = seller
        self.seed = seed
        self.anchor = float(int(anchor))  # whole seconds, as the APIs show times
        self.order_count = order_count
        self._lock = threading.Lock()
        rng = random.Random(f"spapi-sim:{seed}:{seller.index}")
        products = make_products(rng)
        listings = make_listings(rng, products)
        maker = OrderMaker(rng, listings)
        orders = generate_orders(maker, self.anchor, order_count)
        self._initial = (products, listings, orders, rng.getstate(), frozenset(maker.used_ids))
        self.reset()

    def reset(self) -> None:
        """The generated data again (the same seed and anchor give the same data), changes forgotten."""
        products, listings, orders, rng_state, used_ids = self._initial
        rng = random.Random()
        rng.setstate(rng_state)
        with self._lock:
            self.products: list[Product] = products
            self.listings: dict[str, list[Listing]] = listings
            self._maker = OrderMaker(rng, listings, set(used_ids))
            self._orders = {order.amazon_order_id: order for order in orders}

    def get(self, order_id: str) -> Order | None:
        with self._lock:
            return self._orders.get(order_id)

    def orders(self) -> list[Order]:
        with self._lock:
            return list(self._orders.values())

    def set_status(self, order_id: str, status: str, now: float) -> Order | None:
        """The order with a new status, updated now (None if there is no such order)."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return None
            self._orders[order_id] = order = order.with_status(status, now)
            return order

    def add(self, count: int, now: float, status: str | None = None, items: int | None = None,
            marketplace: Marketplace | None = None) -> list[Order]:
        """`count` new orders placed in the minute before `now`."""
        with self._lock:
            made = [self._maker.order(now - self._maker.rng.randint(0, 60), now, status, items, marketplace)
                    for _ in range(count)]
            for order in made:
                self._orders[order.amazon_order_id] = order
            return made
