"""Fault injection for the demo ERP, switched through `/_sim/faults`.

JSON API (`/api/*`):

- `latency_ms`: every `/api` request waits this long before it is handled (stays until cleared).
- `fail_next`: the next N `/api` requests answer `fail_status` without doing anything.
- `fail_status`: the status of injected failures, 400-599 (default 500; e.g. 503 or 429).
- `fail_after_write`: the next N successful line POSTs store the line, then answer `fail_status`
  (a timeout after the write, from the client's point of view).
- `expire_sessions: true`: a one-shot action, every API session expires now (applied by the API layer).

Web UI (`web.py`):

- `ui_slow_ms`: every UI page and late-loaded fragment waits this long (stays until cleared).
- `ui_expire_sessions: true`: a one-shot action, every UI session expires now.
- `ui_changed_ids`: while true, the add-line form's element ids change (field names stay).
- `ui_error_banner`: the next N add-line POSTs re-render the form with a "Temporary error" banner, unsaved.
- `ui_fail_next`: the next N UI requests answer a 500 HTML page without doing anything.
- `ui_fail_after_save`: the next N saved add-line POSTs store the line, then answer a 500 page.

`POST` merges: omitted keys keep their current value. `DELETE` clears everything. Snapshots always list
the API keys and list a `ui_*` key only while it differs from its default, so API-only clients see the
same document as before the web UI existed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ..switches import FaultConfigError, Switches, parse_switches

MAX_LATENCY_MS = 60_000
_INT_LIMITS = {
    "latency_ms": (0, MAX_LATENCY_MS),
    "fail_next": (0, 1_000_000),
    "fail_status": (400, 599),
    "fail_after_write": (0, 1_000_000),
    "ui_slow_ms": (0, MAX_LATENCY_MS),
    "ui_error_banner": (0, 1_000_000),
    "ui_fail_next": (0, 1_000_000),
    "ui_fail_after_save": (0, 1_000_000),
}
_BOOL_SETTINGS = ("ui_changed_ids",)
ACTIONS = ("expire_sessions", "ui_expire_sessions")

__all__ = ["ACTIONS", "FaultConfigError", "FaultSettings", "Faults", "parse_fault_body"]


@dataclass
class FaultSettings:
    latency_ms: int = 0
    fail_next: int = 0
    fail_status: int = 500
    fail_after_write: int = 0
    ui_slow_ms: int = 0
    ui_changed_ids: bool = False
    ui_error_banner: int = 0
    ui_fail_next: int = 0
    ui_fail_after_save: int = 0


_UI_DEFAULTS = {f.name: f.default for f in fields(FaultSettings) if f.name.startswith("ui_")}


def parse_fault_body(body: object) -> tuple[dict[str, int | bool], dict[str, bool]]:
    """Split a `/_sim/faults` body into (settings, actions); raise `FaultConfigError` if invalid."""
    return parse_switches(body, _INT_LIMITS, _BOOL_SETTINGS, ACTIONS)


class Faults(Switches):
    """The current fault settings; the countdowns are consumed atomically."""

    def __init__(self) -> None:
        super().__init__(FaultSettings())

    def _snapshot(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self._settings).items()
                if key not in _UI_DEFAULTS or value != _UI_DEFAULTS[key]}

    # JSON API

    @property
    def latency_seconds(self) -> float:
        return self._settings.latency_ms / 1000

    def take_failure(self) -> int | None:
        """The status to fail this request with, if `fail_next` is still counting down."""
        return self._settings.fail_status if self._take("fail_next") else None

    def take_write_failure(self) -> int | None:
        """The status to answer a stored line with, if `fail_after_write` is still counting down."""
        return self._settings.fail_status if self._take("fail_after_write") else None

    # web UI

    @property
    def ui_slow_seconds(self) -> float:
        return self._settings.ui_slow_ms / 1000

    @property
    def ui_changed_ids(self) -> bool:
        return self._settings.ui_changed_ids

    def take_ui_failure(self) -> bool:
        """Whether this UI request fails (`ui_fail_next` still counting down)."""
        return self._take("ui_fail_next")

    def take_ui_error_banner(self) -> bool:
        """Whether this add-line POST gets the temporary-error banner (`ui_error_banner` counting down)."""
        return self._take("ui_error_banner")

    def take_ui_failure_after_save(self) -> bool:
        """Whether this saved line is answered with a 500 page (`ui_fail_after_save` counting down)."""
        return self._take("ui_fail_after_save")
