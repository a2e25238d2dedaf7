"""The simulator's one clock: simulated time that runs `speed` times faster than wall time.

Every time-dependent thing (token lifetimes, rate-limit refills, report processing, document URL expiry,
report schedules, the orders' two-minute rule) reads `Clock.now()`. Tests and benchmarks may also move it
forward (`advance`) or change its speed; it never goes back.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable


class Clock:
    """Simulated epoch seconds: `start` (default: wall time now) plus elapsed wall time times `speed`."""

    def __init__(self, speed: float = 1.0, start: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._speed = speed
        self._anchor_sim = time.time() if start is None else start
        self._anchor_wall = monotonic()

    def now(self) -> float:
        with self._lock:
            return self._anchor_sim + (self._monotonic() - self._anchor_wall) * self._speed

    def now_dt(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    @property
    def speed(self) -> float:
        with self._lock:
            return self._speed

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        with self._lock:
            self._rebase()
            self._speed = speed

    def advance(self, seconds: float) -> float:
        """Jump `seconds` of simulated time forward (never back); the new simulated time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._rebase()
            self._anchor_sim += seconds
            return self._anchor_sim

    def _rebase(self) -> None:
        wall = self._monotonic()
        self._anchor_sim += (wall - self._anchor_wall) * self._speed
        self._anchor_wall = wall


def iso_z(epoch: float) -> str:
    """Orders API timestamps: `2024-05-01T12:34:56Z` (whole seconds, UTC)."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(epoch: float) -> str:
    """Reports API and flat-file timestamps: `2024-05-01T12:34:56+00:00`."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
