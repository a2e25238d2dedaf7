"""The fault switches of the simulators' `/_sim/faults`: parsing a posted body, and settings behind a lock whose
countdowns are taken atomically. (The server loop, access log and CLI types are in `simulators.serving`.)"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any


class FaultConfigError(ValueError):
    """The body posted to `/_sim/faults` is not a valid fault configuration."""


def parse_switches(body: object, int_limits: Mapping[str, tuple[int, int]], bool_settings: tuple[str, ...] = (),
                   actions: tuple[str, ...] = ()) -> tuple[dict[str, int | bool], dict[str, bool]]:
    """Split a `/_sim/faults` body into (settings, actions); raise `FaultConfigError` if invalid."""
    if not isinstance(body, dict):
        raise FaultConfigError("body must be a JSON object")
    unknown = sorted(set(body) - set(int_limits) - set(bool_settings) - set(actions))
    if unknown:
        raise FaultConfigError(f"unknown keys: {', '.join(unknown)}")
    settings: dict[str, int | bool] = {}
    taken: dict[str, bool] = {}
    for key, value in body.items():
        if key in actions or key in bool_settings:
            if not isinstance(value, bool):
                raise FaultConfigError(f"{key} must be true or false")
            (taken if key in actions else settings)[key] = value
            continue
        low, high = int_limits[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise FaultConfigError(f"{key} must be an integer between {low} and {high}")
        settings[key] = value
    return settings, taken


class Switches:
    """Fault settings (a dataclass instance) behind a lock; countdowns are consumed atomically."""

    def __init__(self, defaults: Any) -> None:
        self._lock = threading.Lock()
        self._defaults = defaults
        self._settings = replace(defaults)

    def update(self, **settings: int | bool) -> dict[str, Any]:
        with self._lock:
            for key, value in settings.items():
                setattr(self._settings, key, value)
            return self._snapshot()

    def clear(self) -> None:
        with self._lock:
            self._settings = replace(self._defaults)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        return asdict(self._settings)

    def _take(self, countdown: str) -> bool:
        with self._lock:
            remaining = getattr(self._settings, countdown)
            if remaining <= 0:
                return False
            setattr(self._settings, countdown, remaining - 1)
            return True
