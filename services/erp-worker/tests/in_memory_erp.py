"""An ERP held in dicts, for fast tests of the use case: worksheets by number, their lines by reference,
the adapter calls made, and failures on demand."""

from __future__ import annotations

from erp_worker.adapters.base import (
    LOGIN_FAILED,
    WORKSHEET_CLOSED,
    WORKSHEET_NOT_FOUND,
    Credentials,
    ErpAdapter,
    OrderLine,
    Worksheet,
)
from hub_runtime.errors import PermanentError


class InMemoryErp(ErpAdapter):
    """`worksheets`: number -> status (by default worksheet 558, open). Refuses a wrong password and lines
    on a worksheet that is not open, as the demo ERP does."""

    def __init__(self, worksheets: dict[str, str] | None = None, password: str = "gygag") -> None:
        statuses = worksheets or {"558": "open"}
        self.worksheets = {number: Worksheet(number, status) for number, status in statuses.items()}
        self.lines: dict[str, dict[str, OrderLine]] = {number: {} for number in self.worksheets}  # by reference
        self.password = password
        self.calls: list[str] = []
        self.orders_done = 0
        self._failures: dict[str, list[tuple[Exception, bool]]] = {}
        self._last_id = 0

    def fail(self, call: str, error: Exception, *, after: bool = False, times: int = 1) -> None:
        """Make the next `times` calls of `call` (an adapter method's name) raise `error`: before doing
        anything, or `after` doing their work (e.g. the ERP saved the line, then its answer was lost)."""
        self._failures.setdefault(call, []).extend([(error, after)] * times)

    def all_lines(self) -> list[OrderLine]:
        return [line for lines in self.lines.values() for line in lines.values()]

    def _enter(self, call: str) -> Exception | None:
        """Record the call; raise its failure now, or return the one to raise once its work is done."""
        self.calls.append(call)
        failures = self._failures.get(call)
        if not failures:
            return None
        error, after = failures.pop(0)
        if not after:
            raise error
        return error

    @staticmethod
    def _leave(late: Exception | None) -> None:
        if late is not None:
            raise late

    def login(self, credentials: Credentials) -> None:
        late = self._enter("login")
        if credentials.password != self.password:
            raise PermanentError(LOGIN_FAILED, "Wrong user name or password")
        self._leave(late)

    def find_worksheet(self, number: str) -> Worksheet:
        late = self._enter("find_worksheet")
        if number not in self.worksheets:
            raise PermanentError(WORKSHEET_NOT_FOUND, f"Worksheet {number} not found")
        self._leave(late)
        return self.worksheets[number]

    def find_line(self, worksheet: Worksheet, reference: str) -> OrderLine | None:
        late = self._enter("find_line")
        self._leave(late)
        return self.lines[worksheet.number].get(reference)

    def add_line(self, worksheet: Worksheet, product_nr: str, quantity: str, reference: str) -> OrderLine:
        late = self._enter("add_line")
        if self.worksheets[worksheet.number].status != "open":
            raise PermanentError(WORKSHEET_CLOSED, f"worksheet {worksheet.number} is closed")
        self._last_id += 1
        line = self.lines[worksheet.number][reference] = OrderLine(str(self._last_id), product_nr, quantity, reference)
        self._leave(late)
        return line

    def order_done(self) -> None:
        self.orders_done += 1

    def evidence(self) -> dict[str, bytes]:
        late = self._enter("evidence")
        self._leave(late)
        return {"page.html": f"<html>after {self.calls[-2] if len(self.calls) > 1 else 'nothing'}</html>".encode()}
