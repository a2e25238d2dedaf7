"""The Gcore simulator's fault switches and time settings, changed through `/_sim/faults`.

Every switch touches only the Gcore API (`/iam`, `/billing`), never `/_sim` or `/health`. A `*_path`
setting narrows its switch to requests whose path starts with it ("" = every API request). `POST` merges
(omitted keys keep their value), `DELETE` and `/_sim/reset` go back to the defaults (the time settings to
the command line's). See the README for what each key does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .data import PRODUCTS

MAX_COUNT = 1_000_000
ACTIONS = ("expire_tokens", "expire_refresh_tokens")


class FaultConfigError(ValueError):
    """The body posted to `/_sim/faults` is not a valid fault configuration."""


@dataclass
class FaultSettings:
    latency_ms: int = 0
    latency_path: str = ""
    fail_next: int = 0
    fail_status: int = 500
    fail_path: str = ""
    rate_limit_next: int = 0
    retry_after: int = 1
    rate_limit_path: str = ""
    fail_next_report: int = 0
    fail_report_product: str | None = None
    cancel_next_report: int = 0
    stall_next_download: int = 0
    stall_ms: int = 30_000
    job_seconds: float = 20.0
    speed: float = 1.0


def _int(low: int, high: int) -> Callable[[str, Any], int]:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise FaultConfigError(f"{key} must be an integer between {low} and {high}")
        return value
    return check


def _positive_number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86_400:
        raise FaultConfigError(f"{key} must be a number above 0 (at most 86400)")
    return float(value)


def _path(key: str, value: Any) -> str:
    if not isinstance(value, str) or (value and not value.startswith("/")):
        raise FaultConfigError(f'{key} must be a path prefix starting with "/", or "" for every request')
    return value


def _product(key: str, value: Any) -> str | None:
    names = [product.name for product in PRODUCTS]
    if value is not None and value not in names:
        raise FaultConfigError(f"{key} must be null or one of {', '.join(names)}")
    return value


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "latency_ms": _int(0, 60_000), "latency_path": _path,
    "fail_next": _int(0, MAX_COUNT), "fail_status": _int(500, 599), "fail_path": _path,
    "rate_limit_next": _int(0, MAX_COUNT), "retry_after": _int(1, 3600), "rate_limit_path": _path,
    "fail_next_report": _int(0, MAX_COUNT), "fail_report_product": _product, "cancel_next_report": _int(0, MAX_COUNT),
    "stall_next_download": _int(0, MAX_COUNT), "stall_ms": _int(1, 600_000),
    "job_seconds": _positive_number, "speed": _positive_number,
}
assert set(_CHECKS) == {f.name for f in fields(FaultSettings)}


def parse_fault_body(body: object) -> tuple[dict[str, Any], set[str]]:
    """Split a `/_sim/faults` body into (settings, actions); raise `FaultConfigError` if invalid."""
    if not isinstance(body, dict):
        raise FaultConfigError("body must be a JSON object")
    unknown = sorted(set(body) - set(_CHECKS) - set(ACTIONS))
    if unknown:
        raise FaultConfigError(f"unknown keys: {', '.join(unknown)}")
    actions = set()
    for key in ACTIONS:
        if key in body:
            if not isinstance(body[key], bool):
                raise FaultConfigError(f"{key} must be true or false")
            if body[key]:
                actions.add(key)
    settings = {key: _CHECKS[key](key, value) for key, value in body.items() if key in _CHECKS}
    return settings, actions


class Faults:
    """The current settings; countdowns are consumed atomically. `release()` ends stalled downloads."""

    def __init__(self, job_seconds: float = 20.0, speed: float = 1.0) -> None:
        self._defaults = FaultSettings(job_seconds=job_seconds, speed=speed)
        self._lock = threading.Lock()
        self._settings = replace(self._defaults)
        self._release = threading.Event()

    def update(self, **settings: Any) -> dict[str, Any]:
        with self._lock:
            self._settings = replace(self._settings, **settings)
            if self._settings.stall_next_download:
                self._release.clear()
            return asdict(self._settings)

    def clear(self) -> None:
        with self._lock:
            self._settings = replace(self._defaults)
        self._release.set()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._settings)

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return replace(self._settings)

    def job_duration(self) -> float:
        """Seconds a report job takes now: `job_seconds / speed`."""
        with self._lock:
            return self._settings.job_seconds / self._settings.speed

    def take(self, countdown: str, path: str | None = None, path_setting: str | None = None) -> bool:
        """Whether this request is hit by `countdown` (then it counts down); with `path`, only when the path
        starts with the `path_setting` prefix."""
        with self._lock:
            if path is not None and path_setting and not path.startswith(getattr(self._settings, path_setting)):
                return False
            remaining = getattr(self._settings, countdown)
            if remaining <= 0:
                return False
            setattr(self._settings, countdown, remaining - 1)
            return True

    def take_report_outcome(self, products: set[str]) -> str:
        """How a new report job ends: `Failed`, `Cancelled` or `Completed` (consumes the countdowns)."""
        with self._lock:
            wanted = self._settings.fail_report_product
            if self._settings.fail_next_report > 0 and (wanted is None or wanted in products):
                self._settings.fail_next_report -= 1
                return "Failed"
            if self._settings.cancel_next_report > 0:
                self._settings.cancel_next_report -= 1
                return "Cancelled"
            return "Completed"

    def wait_stall(self) -> None:
        """Hold a stalled download for `stall_ms`, or until the faults are cleared."""
        self._release.wait(self.settings.stall_ms / 1000)
