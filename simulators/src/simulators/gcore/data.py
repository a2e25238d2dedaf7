"""The simulated Gcore account: products, report features, client companies, regions, resources, and the
usage rows of a report, all fixed lists except the metric values, which come from the seed.

A report row is one client's use of one feature (split by region and by resource when the report groups
by them) over the report's dates. Values are reproducible: the same seed, features, grouping and dates give
the same rows, byte for byte. About a third of the rows have a zero metric value, as in real reports, and
one client (`200106`) has no usage at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

# The usage report's columns, in the order Gcore sends them.
COLUMNS = ("Client ID", "Company name", "Feature ID", "Feature name", "Metric value", "Region ID", "Region name",
           "Resource ID", "Resource name", "Unit name")
GROUP_BY_CHOICES = ("client", "region", "resource")
FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Product:
    id: int
    name: str  # `product_name` in filters, `product_name_en` in answers
    internal_name: str


@dataclass(frozen=True)
class Feature:
    id: int
    name: str
    product: Product
    unit_id: int
    unit_name: str
    daily_max: int  # the largest metric value per day (per month for units that do not grow with time)

    def to_dict(self) -> dict:
        """The `ReportFeature` of billing_api.yaml."""
        return {"id": self.id, "name_en": self.name, "product_id": self.product.id,
                "product_name_en": self.product.name,
                "report_statistics_unit_id": self.unit_id, "report_statistics_unit_name_en": self.unit_name}


@dataclass(frozen=True)
class Client:
    id: int
    company: str


CDN = Product(1, "CDN", "CDN")
WAAP = Product(3, "Web Security", "DDOS")
CLOUD = Product(5, "Cloud", "CLOUD")
PRODUCTS = (CDN, WAAP, CLOUD)

# (unit id, unit name); "pcs" units do not grow with the number of days
_GB, _MBPS, _REQ, _H, _GBM, _PCS = (1, "GB"), (2, "Mbps"), (3, "10K requests"), (4, "H"), (5, "GBM"), (6, "pcs")
_FLAT_UNITS = {_MBPS[1], _PCS[1]}


def _feature(fid: int, name: str, product: Product, unit: tuple[int, str], daily_max: int) -> Feature:
    return Feature(fid, name, product, unit[0], unit[1], daily_max)


FEATURES = (
    _feature(101, "CDN-HTTP/HTTPS Delivery (GB)", CDN, _GB, 800),
    _feature(102, "CDN - 95th percentile bandwidth (Mbps)", CDN, _MBPS, 2000),
    _feature(103, "CDN - Requests", CDN, _REQ, 900),
    _feature(104, "CDN - Origin Shielding (GB)", CDN, _GB, 120),
    _feature(105, "CDN - Image Stack requests", CDN, _REQ, 60),
    _feature(106, "CDN - Live streaming delivery (GB)", CDN, _GB, 400),
    _feature(107, "CDN - Log Uploader (GB)", CDN, _GB, 5),
    _feature(108, "CDN - Free SSL certificates", CDN, _PCS, 12),
    _feature(301, "WAAP - Protected domains", WAAP, _PCS, 20),
    _feature(302, "WAAP - Legitimate requests", WAAP, _REQ, 700),
    _feature(303, "WAAP - Pro plan", WAAP, _PCS, 1),
    _feature(304, "WAAP - Enterprise plan", WAAP, _PCS, 1),
    _feature(305, "WAAP - Advanced API protection", WAAP, _PCS, 3),
    _feature(306, "WAAP - Bot protection requests", WAAP, _REQ, 150),
    _feature(2362, "Block Storage (Standard) - Gb", CLOUD, _GBM, 40),
    _feature(2363, "Block Storage (High-IOPS SSD) - Gb", CLOUD, _GBM, 25),
    _feature(2372, "Public IP address", CLOUD, _H, 72),
    _feature(2380, "Load Balancer: lb1-1-2", CLOUD, _H, 24),
    _feature(2395, "Snapshot storage - Gb", CLOUD, _GBM, 10),
    _feature(13107, "Instance Type: g2-standard-1-2 (1vCPU/2GB RAM)", CLOUD, _H, 48),
    _feature(13108, "Instance Type: g2-standard-2-4 (2vCPU/4GB RAM)", CLOUD, _H, 48),
    _feature(13115, "Instance Type: g2-gpu-1-8 (1 GPU/8vCPU/32GB RAM)", CLOUD, _H, 24),
)
FEATURES_BY_ID = {feature.id: feature for feature in FEATURES}

CLIENTS = (
    Client(200101, "Nordlys Media ApS"),
    Client(200102, "Fjordline Streaming AS"),
    Client(200103, "Baltic Retail OU"),
    Client(200104, "Helvetia Games AG"),
    Client(200105, "Iberia Cloudworks SL"),
    Client(200106, "Quiet Holdings GmbH"),  # no usage at all: every row is zero
)
QUIET_CLIENT = 200106
LOAD_CLIENT_BASE = 900000  # `rows_per_report` adds clients 900001, 900002, ...

REGIONS = {
    CDN.id: ((1, "Europe"), (2, "North America"), (3, "Asia"), (4, "Latin America")),
    WAAP.id: ((10, "Global"),),
    CLOUD.id: ((38, "Frankfurt"), (76, "Luxembourg-2"), (116, "Amsterdam-2")),
}
_RESOURCES_PER_CLIENT = 2


def features(product_name: str | None = None) -> list[Feature]:
    return [f for f in FEATURES if product_name is None or f.product.name == product_name]


def _resources(client: Client, product: Product) -> list[tuple[int, str]]:
    slug = client.company.split()[0].lower()
    kind = {CDN.id: "cdn.{slug}{n}.example", WAAP.id: "www.{slug}{n}.example", CLOUD.id: "vm-{slug}-{n}"}
    return [(client.id * 10 + product.id * 1000 + n, kind[product.id].format(slug=slug, n=n))
            for n in range(1, _RESOURCES_PER_CLIENT + 1)]


@dataclass(frozen=True)
class UsageReport:
    """The rows of one report: which features, grouped by what, over which dates (inclusive)."""

    seed: int
    feature_ids: tuple[int, ...]
    group_by: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date
    min_rows: int = 0  # add load-test clients until the report has at least this many rows

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def rows(self) -> Iterator[list]:
        """The rows (values in `COLUMNS` order, JSON types), one at a time: reports can be large."""
        count = 0
        for client in CLIENTS:
            for row in self._client_rows(client):
                count += 1
                yield row
        extra = 0
        while count < self.min_rows:
            extra += 1
            client = Client(LOAD_CLIENT_BASE + extra, f"Load Test Client {extra:05d}")
            for row in self._client_rows(client):
                count += 1
                yield row
                if count >= self.min_rows:
                    return

    def _client_rows(self, client: Client) -> Iterator[list]:
        by_client = "client" in self.group_by
        for feature_id in self.feature_ids:
            feature = FEATURES_BY_ID[feature_id]
            regions = REGIONS[feature.product.id] if "region" in self.group_by else [(None, None)]
            resources = _resources(client, feature.product) if "resource" in self.group_by else [(None, None)]
            for region_id, region_name in regions:
                for resource_id, resource_name in resources:
                    value = self._metric(client.id, feature, region_id, resource_id)
                    yield [str(client.id) if by_client else None, client.company if by_client else None,
                           feature.id, feature.name, f"{value:.4f}", region_id, region_name,
                           resource_id, resource_name, feature.unit_name]

    def _metric(self, client_id: int, feature: Feature, region_id: int | None, resource_id: int | None) -> Decimal:
        if client_id == QUIET_CLIENT:
            return Decimal(0)
        key = f"{self.seed}|{client_id}|{feature.id}|{region_id}|{resource_id}".encode()
        draw = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
        if draw < 0.35:  # a third of the rows: no use of this feature
            return Decimal(0)
        per_day = Decimal(feature.daily_max) * Decimal((draw - 0.35) / 0.65)
        days = 1 if feature.unit_name in _FLAT_UNITS else self.days
        value = (per_day * days).quantize(FOUR_PLACES)
        return value if value else FOUR_PLACES  # a used feature never rounds down to zero


def products_of(feature_ids: Sequence[int]) -> set[str]:
    """The product names (`CDN`, `Web Security`, `Cloud`) of these features."""
    return {FEATURES_BY_ID[fid].product.name for fid in feature_ids}
