"""SP-API's usage plans kept on our side: one token bucket per operation and seller, so calls go out at the
rate Amazon allows and, in normal running, never meet a 429.

Amazon meters each operation with a token bucket per selling partner and app: `burst` tokens at most, one
taken per call, `rate` tokens added per second. `USAGE_PLANS` holds the default plans Amazon publishes in
the API models; `rate_scale` multiplies rates and bursts (a seller granted a higher plan; bursts rounded
down, at least 1). Against a simulator whose clock runs `time_speed` times faster, the rates are that much
faster in wall time.

Our buckets start full, as Amazon's are for a seller that has been quiet; when that guess is wrong (another
client of the same seller, a restart moments ago), the first 429 empties our bucket and calls continue at
the refill rate. A small reserve (`jitter_seconds` of refill) is held back from each burst, and after a 429,
so that network delays that bunch calls together on the way cannot overdraw Amazon's bucket."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..kind import AmazonCredentials, AmazonSettings
from .lwa import credentials_key
from .waits import Stopped


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # tokens per second
    burst: int  # the bucket's size


# Amazon's default usage plans ("Usage Plan" tables of the Orders v0, Orders 2026-01-01 and Reports
# 2021-06-30 models). Operations named as Amazon does; where two versions share a name, the newer one
# carries its version.
USAGE_PLANS: dict[str, UsagePlan] = {
    "getOrders": UsagePlan(0.0167, 20),
    "getOrder": UsagePlan(0.5, 30),
    "getOrderItems": UsagePlan(0.5, 30),
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrder/2026-01-01": UsagePlan(0.5, 30),
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2.0, 15),
    "getReports": UsagePlan(0.0222, 10),
    "cancelReport": UsagePlan(0.0222, 10),
    "getReportDocument": UsagePlan(0.0167, 15),
    "createReportSchedule": UsagePlan(0.0222, 10),
    "getReportSchedules": UsagePlan(0.0222, 10),
    "getReportSchedule": UsagePlan(0.0222, 10),
    "cancelReportSchedule": UsagePlan(0.0222, 10),
}

JITTER_SECONDS = 0.1  # wall seconds of refill held back against calls bunched up by network delays
EPSILON = 1e-9  # a token short by less than this (float rounding) is a token


@dataclass
class OperationStats:
    """What one operation's bucket has seen: calls that took a token, calls that had to wait for one (and
    how long in all, wall seconds), and the 429s Amazon answered."""

    calls: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    throttled: int = 0


class _Bucket:
    def __init__(self, rate: float, capacity: float, reserve: float, now: float, full: bool):
        self.rate = rate  # tokens per wall second
        self.capacity = capacity
        self.reserve = reserve
        self.tokens = capacity if full else 0.0
        self.updated = now
        self.stats = OperationStats()

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now


class RateLimiter:
    """Token buckets for one seller, one per operation, safe to share between threads. `acquire` blocks
    until the operation's bucket has a token (a set `stop` ends the wait with `Stopped`); `throttled`
    records a 429. `clock` (seconds) and `sleep(stop, seconds) -> stopped` are replaceable for tests."""

    def __init__(self, settings: AmazonSettings, *, plans: dict[str, UsagePlan] | None = None,
                 start_full: bool = True, jitter_seconds: float = JITTER_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[threading.Event | None, float], bool] | None = None):
        self.plans = USAGE_PLANS if plans is None else plans
        self.scale = settings.rate_scale
        self.speed = settings.rate_scale * settings.time_speed
        self.start_full = start_full
        self.jitter_seconds = jitter_seconds
        self.clock = clock
        self.sleep = sleep or _sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def wall_rate(self, operation: str) -> float:
        """Tokens per wall second for `operation`."""
        return self._plan(operation).rate * self.speed

    def acquire(self, operation: str, stop: threading.Event | None = None) -> float:
        """Take one token of `operation`'s bucket, waiting for it if need be; returns the wall seconds
        waited."""
        started = None
        with self._lock:
            bucket = self._bucket(operation)
        while True:
            with self._lock:
                now = self.clock()
                started = now if started is None else started
                bucket.refill(now)
                if bucket.tokens >= 1.0 - EPSILON:
                    bucket.tokens -= 1.0
                    bucket.stats.calls += 1
                    waited = now - started
                    if waited > 0:
                        bucket.stats.waits += 1
                        bucket.stats.waited_seconds += waited
                    return waited
                need = (1.0 - bucket.tokens) / bucket.rate
            if self.sleep(stop, need):
                raise Stopped

    def throttled(self, operation: str) -> None:
        """Amazon answered 429: its bucket is empty whatever ours says, so empty ours (and hold back the
        reserve) and go on at the refill rate."""
        with self._lock:
            bucket = self._bucket(operation)
            bucket.refill(self.clock())
            bucket.tokens = min(bucket.tokens, -bucket.reserve)
            bucket.stats.throttled += 1

    def tokens(self, operation: str) -> float:
        """The tokens `operation`'s bucket holds now (negative: owed after a 429)."""
        with self._lock:
            bucket = self._bucket(operation)
            bucket.refill(self.clock())
            return bucket.tokens

    def stats(self) -> dict[str, OperationStats]:
        """A copy of each used operation's counters."""
        with self._lock:
            return {name: OperationStats(**vars(bucket.stats)) for name, bucket in self._buckets.items()}

    def _plan(self, operation: str) -> UsagePlan:
        try:
            return self.plans[operation]
        except KeyError:
            raise ValueError(f"no usage plan for the operation {operation!r}") from None

    def _bucket(self, operation: str) -> _Bucket:
        bucket = self._buckets.get(operation)
        if bucket is None:
            plan = self._plan(operation)
            rate = plan.rate * self.speed
            burst = max(1, math.floor(plan.burst * self.scale + 1e-9))
            reserve = min(rate * self.jitter_seconds, burst / 2)
            capacity = max(1.0, burst - reserve)
            bucket = self._buckets[operation] = _Bucket(rate, capacity, reserve, self.clock(), self.start_full)
        return bucket


def _sleep(stop: threading.Event | None, seconds: float) -> bool:
    if stop is None:
        time.sleep(seconds)
        return False
    return stop.wait(seconds)


_shared: dict[tuple, RateLimiter] = {}
_shared_lock = threading.Lock()


def for_seller(settings: AmazonSettings, credentials: AmazonCredentials) -> RateLimiter:
    """The process's one limiter for this seller at this endpoint (and these rates): every client of the
    same seller in the process draws from the same buckets, as Amazon meters them."""
    key = (settings.api_url, credentials_key(credentials), settings.rate_scale, settings.time_speed)
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter(settings)
        return limiter
