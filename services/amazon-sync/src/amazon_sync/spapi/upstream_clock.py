"""What we know of the upstream's clock: a time it has certainly reached (upstream time).

Amazon refuses an orders search whose `...Before` is less than 2 minutes before *its* now. Our wall clock
is a fair guess for Amazon (less a few seconds of skew), but a simulator's clock runs `time_speed` times
faster than ours (from our wall time at its start, moved on at will), so it is ahead by an amount only the
upstream knows. Whenever the upstream tells its time (an orders search without a `...Before` answers with
its own now - 2 minutes), the floor rises to it, and moves on from there `time_speed` times faster than
the wall clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

SKEW_SECONDS = 5.0  # our wall clock may be this far ahead of Amazon's


class UpstreamClock:
    def __init__(self, time_speed: float = 1.0, *, skew_seconds: float = SKEW_SECONDS,
                 wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic):
        self.time_speed = time_speed
        self.skew_seconds = skew_seconds
        self.wall = wall
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._told: tuple[float, float] | None = None  # (upstream epoch seconds, our monotonic then)

    def floor(self) -> datetime:
        """A time the upstream's clock has reached by now (aware UTC)."""
        guess = self.wall() - self.skew_seconds
        with self._lock:
            told = self._told
        if told is not None:
            upstream, then = told
            guess = max(guess, upstream + (self.monotonic() - then) * self.time_speed)
        return datetime.fromtimestamp(guess, UTC)

    def observe(self, upstream_now: datetime) -> None:
        """The upstream said its clock was at least `upstream_now` (as it answered, which was before now)."""
        seconds = upstream_now.timestamp()
        now = self.monotonic()
        with self._lock:
            if self._told is None or seconds > self._told[0] + (now - self._told[1]) * self.time_speed:
                self._told = (seconds, now)
