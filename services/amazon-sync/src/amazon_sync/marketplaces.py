"""The marketplaces an amazon-sync instance serves: their ids, short codes and SP-API regions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Marketplace:
    id: str
    code: str  # the seed's short code (UK, DE, ...)
    country: str  # ISO country code as Amazon writes it (GB for the UK)
    region: str  # SP-API region: na | eu | fe
    sales_channel: str  # as orders name it, e.g. Amazon.co.uk
    currency: str


MARKETPLACES = {m.id: m for m in (
    Marketplace("ATVPDKIKX0DER", "US", "US", "na", "Amazon.com", "USD"),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "CA", "na", "Amazon.ca", "CAD"),
    Marketplace("A1F83G8C2ARO7P", "UK", "GB", "eu", "Amazon.co.uk", "GBP"),
    Marketplace("A1PA6795UKMFR9", "DE", "DE", "eu", "Amazon.de", "EUR"),
    Marketplace("A13V1IB3VIYZZH", "FR", "FR", "eu", "Amazon.fr", "EUR"),
    Marketplace("APJ6JRA9NG5V4", "IT", "IT", "eu", "Amazon.it", "EUR"),
    Marketplace("A1RKKUPIHCS9HS", "ES", "ES", "eu", "Amazon.es", "EUR"),
)}
BY_CODE = {m.code: m for m in MARKETPLACES.values()}
INVENTORY_CODES = ("IT", "DE", "UK")  # the seed's inventory-report marketplaces (and their default)

# SP-API's regional endpoints (https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints)
REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}


class UnknownMarketplace(ValueError):
    pass


def by_id(marketplace_id: str) -> Marketplace:
    try:
        return MARKETPLACES[marketplace_id]
    except KeyError:
        raise UnknownMarketplace(f"unknown marketplace_id {marketplace_id!r}; valid: "
                                 + ", ".join(f"{m.id} ({m.code})" for m in MARKETPLACES.values())) from None


def by_code(code: str, allowed: tuple[str, ...] | None = None) -> Marketplace:
    allowed = allowed or tuple(BY_CODE)
    if code not in allowed:
        raise UnknownMarketplace(f"unknown marketplace {code!r}; valid: {', '.join(allowed)}")
    return BY_CODE[code]
