"""What the blueprints share, in `current_app.extensions["spapi_sim"]`: the clock, LWA accounts, each
seller's data, rate limits and counters, faults, reports and documents; and the per-request seller."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g

from .accounts import Accounts, Seller
from .clock import Clock
from .documents import Documents
from .faults import Faults
from .order_search import Pager
from .ratelimit import OperationCounters, RateLimiter
from .report_content import INVENTORY, inventory_tsv, orders_tsv
from .reports import Report, Reports
from .store import SellerStore

EXTENSION_KEY = "spapi_sim"
EVENTS = ("lwa_tokens_issued", "lwa_refused", "unauthorized", "injected_failures", "reports_created",
          "document_urls_issued", "downloads", "refused_downloads")


@dataclass
class SpapiContext:
    clock: Clock
    accounts: Accounts
    stores: dict[str, SellerStore]  # by seller id
    faults: Faults
    limiter: RateLimiter
    operations: OperationCounters
    documents: Documents
    pager: Pager
    seed: int
    reports: Reports = field(init=False)
    _events: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.reports = Reports(self.documents, self.faults.new_report, self.build_report)

    def count(self, event: str) -> None:
        with self._lock:
            self._events[event] += 1

    def events(self) -> dict[str, int]:
        with self._lock:
            return {name: self._events[name] for name in EVENTS}

    def reset_events(self) -> None:
        with self._lock:
            self._events.clear()

    def build_report(self, report: Report) -> str | None:
        store = self.stores[report.seller_id]
        if report.report_type == INVENTORY:
            return inventory_tsv(store.listings, report.marketplace_ids)
        return orders_tsv(store.orders(), report.report_type, report.marketplace_ids, report.data_start,
                          report.data_end)


def sim() -> SpapiContext:
    return current_app.extensions[EXTENSION_KEY]


def seller() -> Seller:
    """The seller whose access token came with this request."""
    return g.spapi_seller


def store() -> SellerStore:
    return sim().stores[seller().seller_id]


def operation(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a view as the SP-API operation `name`: the request pipeline authenticates, rate-limits and
    counts it under that name."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.spapi_operation = name  # type: ignore[attr-defined]
        return view

    return mark
