"""What getOrders (v0) and searchOrders (2026-01-01) share: the time-window rules, filtering, and paging
by an opaque token that carries the whole query, so a later page ignores the filters sent with it.

The rules, from the models: exactly one of created-after and last-updated-after; a before only with its
own after, not before it; and any before at least two minutes before now (simulated). Without a before,
the window ends two minutes before now: orders newer than that are not visible yet (Amazon's data delay),
and the answer names that end (`CreatedBefore` / `LastUpdatedBefore`) so a client can sync on from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from .errors import invalid_input
from .orders import Order
from .params import Signer

DATA_DELAY = 120
TWO_MINUTES = ("The input you have submitted is not valid. Note that the error may be due to a systematic delay in "
               "data retrieval. The most updated data is 2 minutes after an order is created or last updated. If you "
               "set the CreatedBefore or LastUpdatedBefore parameters, please provide a date that is at least 2 "
               "minutes before current time and try again.")


@dataclass(frozen=True)
class Names:
    """The parameter names of one API version (for messages)."""

    created_after: str
    created_before: str
    updated_after: str
    updated_before: str


V0_NAMES = Names("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore")
V2026_NAMES = Names("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")


@dataclass(frozen=True)
class OrderQuery:
    by: str  # "created" or "updated"
    after: float
    before: float
    marketplaces: tuple[str, ...]
    statuses: tuple[str, ...] | None = None  # v0 OrderStatus values
    channels: tuple[str, ...] | None = None  # "AFN" / "MFN"
    order_ids: tuple[str, ...] | None = None
    page_size: int = 100

    def matches(self, order: Order) -> bool:
        key = order.purchase_date if self.by == "created" else order.last_update
        return (self.after <= key <= self.before and order.marketplace.id in self.marketplaces
                and (self.statuses is None or order.status in self.statuses)
                and (self.channels is None or order.channel in self.channels)
                and (self.order_ids is None or order.amazon_order_id in self.order_ids))

    def sort_key(self, order: Order) -> tuple[float, str]:
        return (order.purchase_date if self.by == "created" else order.last_update, order.amazon_order_id)


def window(names: Names, created_after: float | None, created_before: float | None, updated_after: float | None,
           updated_before: float | None, now: float) -> tuple[str, float, float]:
    """(by, after, before) of a search, or the 400 Amazon answers."""
    if created_after is None and updated_after is None:
        raise invalid_input(f"Either the {names.created_after} parameter or the {names.updated_after} parameter is "
                            "required. Both cannot be empty.")
    if created_after is not None and (updated_after is not None or updated_before is not None):
        raise invalid_input(f"{names.updated_after} and {names.updated_before} cannot be set when "
                            f"{names.created_after} is set.")
    if updated_after is not None and created_before is not None:
        raise invalid_input(f"{names.created_after} or {names.created_before} cannot be set when "
                            f"{names.updated_after} is set.")
    by, after, before, before_name = (
        ("created", created_after, created_before, names.created_before) if created_after is not None
        else ("updated", updated_after, updated_before, names.updated_before))
    if after > now:
        after_name = names.created_after if by == "created" else names.updated_after
        raise invalid_input(f"{after_name} must be a date in the past.")
    if before is None:
        return by, after, now - DATA_DELAY
    if before < after:
        raise invalid_input(f"{before_name} must be equal to or after the "
                            f"{names.created_after if by == 'created' else names.updated_after} date.")
    if before > now - DATA_DELAY:
        raise invalid_input(TWO_MINUTES)
    return by, after, before


class Pager:
    """Pages of a query; the next-page token is signed and bound to the seller and the API version."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def resume(self, token: str, seller_id: str, api: str,
               bad_token: Callable[[], Exception]) -> tuple[OrderQuery, tuple[float, str] | None]:
        payload = self.signer.loads(token)
        if not payload or payload.get("s") != seller_id or payload.get("a") != api:
            raise bad_token()
        fields = payload["q"]
        for name in ("marketplaces", "statuses", "channels", "order_ids"):
            if fields[name] is not None:
                fields[name] = tuple(fields[name])
        return OrderQuery(**fields), (payload["c"][0], payload["c"][1])

    def page(self, orders: Iterable[Order], query: OrderQuery, cursor: tuple[float, str] | None, seller_id: str,
             api: str) -> tuple[list[Order], str | None]:
        """One page after `cursor`, and the token of the next (None on the last page)."""
        chosen = sorted((o for o in orders if query.matches(o) and (cursor is None or query.sort_key(o) > cursor)),
                        key=query.sort_key)
        page = chosen[:query.page_size]
        if len(chosen) <= query.page_size:
            return page, None
        last = query.sort_key(page[-1])
        token = self.signer.dumps({"s": seller_id, "a": api, "q": asdict(query), "c": list(last)})
        return page, token
