"""A seller's catalog and FBA inventory: a few hundred car-part products (SKU, ASIN, FNSKU, title with
accents such as "für" and "Škoda") and, per marketplace, which of them are listed, at what price, and how
many units sit where. Seeded: the same seed and seller give the same catalog."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from decimal import Decimal

from .marketplaces import MARKETPLACES, Marketplace

CENT = Decimal("0.01")
PRODUCTS_PER_SELLER = 400
_ALNUM = string.ascii_uppercase + string.digits

# (title, SKU prefix, lowest and highest price in EUR)
_TYPES = (("Bremsbeläge vorne", "BRK", 19, 89), ("Ölfilter", "OIL", 5, 25), ("Luftfilter", "AIR", 8, 35),
          ("Zündkerze", "SPK", 4, 18), ("Scheibenwischer-Set", "WIP", 12, 45), ("Motoröl 5W-30 5 L", "MOT", 29, 69),
          ("Innenraumfilter", "CAB", 9, 32), ("Starterbatterie 12 V 70 Ah", "BAT", 79, 159),
          ("Glühlampe H7 Duo-Pack", "LMP", 6, 24), ("Bremsscheibe", "DSC", 25, 120),
          ("Kühlerfrostschutz 1,5 L", "CLN", 7, 19), ("Keilrippenriemen", "BLT", 11, 39))
_BRANDS = ("Bosch", "Mann-Filter", "Brembo", "ATE", "Valeo", "NGK", "Castrol", "Varta", "Osram", "Febi Bilstein")
_VEHICLES = ("VW Golf VII", "BMW 3er (F30)", "Audi A4 B8", "Škoda Octavia III", "Opel Astra K", "Ford Focus",
             "Renault Clio IV", "Peugeot 308", "Fiat 500", "Toyota Yaris", "Volvo V70", "Mercedes C-Klasse W205")


@dataclass(frozen=True)
class Product:
    sku: str
    asin: str
    fnsku: str
    title: str
    price_eur: Decimal
    unit_volume: Decimal


@dataclass(frozen=True)
class Listing:
    """A product offered in one marketplace, with its FBA (AFN) and own (MFN) stock."""

    product: Product
    marketplace: Marketplace
    price: Decimal
    afn: bool
    mfn: bool
    mfn_fulfillable: int
    afn_fulfillable: int
    afn_unsellable: int
    afn_reserved: int
    afn_researching: int
    inbound_working: int
    inbound_shipped: int
    inbound_receiving: int

    @property
    def afn_warehouse(self) -> int:
        return self.afn_fulfillable + self.afn_unsellable + self.afn_reserved + self.afn_researching

    @property
    def afn_total(self) -> int:
        return self.afn_warehouse + self.inbound_working + self.inbound_shipped + self.inbound_receiving


def local_price(marketplace: Marketplace, eur: Decimal) -> Decimal:
    """A EUR price in the marketplace's currency (whole units for SEK and PLN)."""
    value = eur * marketplace.rate_to_eur
    if marketplace.rate_to_eur >= 4:
        return value.quantize(Decimal(1)).quantize(CENT)
    return value.quantize(CENT)


def _code(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(length))


def make_products(rng: random.Random, count: int = PRODUCTS_PER_SELLER) -> list[Product]:
    combos = [(t, b, v) for t in range(len(_TYPES)) for b in range(len(_BRANDS)) for v in range(len(_VEHICLES))]
    products, asins = [], set()
    for n, (t, b, v) in enumerate(rng.sample(combos, count), start=1):
        title, prefix, low, high = _TYPES[t]
        asin = "B0" + _code(rng, 8)
        while asin in asins:
            asin = "B0" + _code(rng, 8)
        asins.add(asin)
        price = (Decimal(low) + Decimal(rng.randint(0, (high - low) * 100)) / 100).quantize(CENT)
        products.append(Product(sku=f"{prefix}-{n:04d}", asin=asin, fnsku="X00" + _code(rng, 7),
                                title=f"{_BRANDS[b]} {title} für {_VEHICLES[v]}", price_eur=price,
                                unit_volume=Decimal(rng.randint(5, 900)) / 100))
    return products


def make_listings(rng: random.Random, products: list[Product]) -> dict[str, list[Listing]]:
    """Per marketplace id, the listed products (about four in five of the catalog)."""
    listings: dict[str, list[Listing]] = {}
    for marketplace in MARKETPLACES:
        offered = []
        for product in products:
            if rng.random() >= 0.8:
                continue
            afn = rng.random() < 0.7
            mfn = not afn or rng.random() < 0.3
            stocked = afn and rng.random() < 0.9
            offered.append(Listing(
                product, marketplace, local_price(marketplace, product.price_eur), afn, mfn,
                mfn_fulfillable=rng.randint(0, 60) if mfn else 0,
                afn_fulfillable=rng.randint(1, 250) if stocked else 0,
                afn_unsellable=rng.choice((0, 0, 0, 1, 2)) if afn else 0,
                afn_reserved=rng.randint(0, 12) if afn else 0,
                afn_researching=rng.choice((0, 0, 0, 0, 1)) if afn else 0,
                inbound_working=rng.choice((0, 0, 0, 24)) if afn else 0,
                inbound_shipped=rng.choice((0, 0, 0, 0, 48, 96)) if afn else 0,
                inbound_receiving=rng.choice((0, 0, 0, 0, 12)) if afn else 0,
            ))
        listings[marketplace.id] = offered
    return listings
