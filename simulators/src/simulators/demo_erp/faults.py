"""Fault injection for the demo ERP's JSON API, switched through `/_sim/faults`.

- `latency_ms`: every `/api` request waits this long before it is handled (stays until cleared).
- `fail_next`: the next N `/api` requests answer `fail_status` without doing anything.
- `fail_status`: the status of injected failures, 400-599 (default 500; e.g. 503 or 429).
- `fail_after_write`: the next N successful line POSTs store the line, then answer `fail_status`
  (a timeout after the write, from the client's point of view).
- `expire_sessions: true`: a one-shot action, every session expires now (applied by the API layer).

`POST` merges: omitted keys keep their current value. `DELETE` clears everything.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

MAX_LATENCY_MS = 60_000
_INT_LIMITS = {
    "latency_ms": (0, MAX_LATENCY_MS),
    "fail_next": (0, 1_000_000),
    "fail_status": (400, 599),
    "fail_after_write": (0, 1_000_000),
}
ACTIONS = ("expire_sessions",)


class FaultConfigError(ValueError):
    """The body posted to `/_sim/faults` is not a valid fault configuration."""


@dataclass
class FaultSettings:
    latency_ms: int = 0
    fail_next: int = 0
    fail_status: int = 500
    fail_after_write: int = 0


def parse_fault_body(body: object) -> tuple[dict[str, int], dict[str, bool]]:
    """Split a `/_sim/faults` body into (settings, actions); raise `FaultConfigError` if invalid."""
    if not isinstance(body, dict):
        raise FaultConfigError("body must be a JSON object")
    unknown = sorted(set(body) - set(_INT_LIMITS) - set(ACTIONS))
    if unknown:
        raise FaultConfigError(f"unknown keys: {', '.join(unknown)}")
    settings: dict[str, int] = {}
    actions: dict[str, bool] = {}
    for key, value in body.items():
        if key in ACTIONS:
            if not isinstance(value, bool):
                raise FaultConfigError(f"{key} must be true or false")
            actions[key] = value
            continue
        low, high = _INT_LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise FaultConfigError(f"{key} must be an integer between {low} and {high}")
        settings[key] = value
    return settings, actions


class Faults:
    """The current fault settings; the countdowns are consumed atomically."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()

    def update(self, **settings: int) -> dict[str, int]:
        with self._lock:
            for key, value in settings.items():
                setattr(self._settings, key, value)
            return asdict(self._settings)

    def clear(self) -> None:
        with self._lock:
            self._settings = FaultSettings()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._settings)

    @property
    def latency_seconds(self) -> float:
        return self._settings.latency_ms / 1000

    def take_failure(self) -> int | None:
        """The status to fail this request with, if `fail_next` is still counting down."""
        return self._take("fail_next")

    def take_write_failure(self) -> int | None:
        """The status to answer a stored line with, if `fail_after_write` is still counting down."""
        return self._take("fail_after_write")

    def _take(self, countdown: str) -> int | None:
        with self._lock:
            remaining = getattr(self._settings, countdown)
            if remaining <= 0:
                return None
            setattr(self._settings, countdown, remaining - 1)
            return self._settings.fail_status
