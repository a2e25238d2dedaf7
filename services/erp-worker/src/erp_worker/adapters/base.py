"""The ERP adapter interface. A new ERP system is one module implementing `ErpAdapter` with a `make`
factory, plus its line under `[project.entry-points."hub.erp_adapters"]` (see `erp_worker.registry`).

Adapters raise `hub_runtime.errors.PermanentError` for what retrying cannot fix (with one of the stable
reason codes below) and `TransientError` for what it may (timeouts, 5xx, 429, a lost browser). They keep a
logged-in session between orders and log in again only when the ERP says it has expired.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from hub_runtime.errors import PermanentError

# Stable reason codes shown in the order status.
LOGIN_FAILED = "erp_login_failed"
WORKSHEET_NOT_FOUND = "worksheet_not_found"
WORKSHEET_CLOSED = "worksheet_closed"
PRODUCT_NOT_FOUND = "product_not_found"
INVALID_LINE = "erp_rejected_line"
ERP_UNAVAILABLE = "erp_unavailable"
ERP_PROTOCOL = "erp_protocol_error"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class Worksheet:
    number: str
    status: str
    customer: str | None = None


@dataclass(frozen=True)
class OrderLine:
    id: str
    product_nr: str
    quantity: str
    reference: str


class ErpAdapter(ABC):
    @abstractmethod
    def login(self, credentials: Credentials) -> None:
        """Make sure a session for these credentials is open (reuse a warm one)."""

    @abstractmethod
    def find_worksheet(self, number: str) -> Worksheet:
        """The worksheet, or PermanentError(WORKSHEET_NOT_FOUND)."""

    @abstractmethod
    def find_line(self, worksheet: Worksheet, reference: str) -> OrderLine | None:
        """The order line carrying this reference (the order's uniqueid), if one exists."""

    @abstractmethod
    def add_line(self, worksheet: Worksheet, product_nr: str, quantity: str, reference: str) -> OrderLine:
        """Add the line to a worksheet found open, and return it as the ERP lists it."""

    def add_new_line(self, number: str, product_nr: str, quantity: str, reference: str) -> tuple[Worksheet, OrderLine]:
        """Add a line that cannot exist yet (the task's first attempt: see `handlers.line_may_exist`) to
        worksheet `number`, without looking for it first. Raises WORKSHEET_NOT_FOUND / WORKSHEET_CLOSED like
        the look-up path. This default opens the worksheet and checks it is open; an adapter may go
        straight to the ERP's add-line form when the ERP itself refuses lines on closed worksheets."""
        worksheet = self.find_worksheet(number)
        if worksheet.status != "open":
            raise PermanentError(WORKSHEET_CLOSED, f"worksheet {worksheet.number} is {worksheet.status}")
        return worksheet, self.add_line(worksheet, product_nr, quantity, reference)

    # Optional hooks; adapters without a browser or session to look after need none of them.
    def order_done(self) -> None:  # noqa: B027
        """One order is finished (either way): e.g. count it towards a browser restart."""

    def idle(self) -> None:  # noqa: B027
        """Called while the worker waits for orders or is paused: e.g. close an idle browser."""

    def evidence(self) -> dict[str, bytes]:
        """What the adapter sees now (screenshot, page HTML) for an operator, after a failure."""
        return {}

    def close(self) -> None:  # noqa: B027
        """Release sessions, browsers, connections."""
