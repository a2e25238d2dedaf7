"""SP-API usage plans: a token bucket per (seller, operation) with the models' default rate and burst (times
`scale`, as for a seller with a higher plan), refilled in simulated time, and per-operation counters
(calls, 429s) for `/_sim/state`."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .clock import Clock


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int

    def scaled(self, scale: float) -> UsagePlan:
        return UsagePlan(self.rate * scale, max(1, round(self.burst * scale)))

    @property
    def header(self) -> str:
        """The `x-amzn-RateLimit-Limit` value."""
        return f"{self.rate:.4g}"


# The usage-plan tables of ordersV0.json, orders_2026-01-01.json and reports_2021-06-30.json.
USAGE_PLANS = {
    "getOrders": UsagePlan(0.0167, 20),
    "getOrder": UsagePlan(0.5, 30),
    "getOrderItems": UsagePlan(0.5, 30),
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrder_2026-01-01": UsagePlan(0.5, 30),
    "getReports": UsagePlan(0.0222, 10),
    "createReport": UsagePlan(0.0167, 15),
    "cancelReport": UsagePlan(0.0222, 10),
    "getReport": UsagePlan(2.0, 15),
    "getReportSchedules": UsagePlan(0.0222, 10),
    "createReportSchedule": UsagePlan(0.0222, 10),
    "cancelReportSchedule": UsagePlan(0.0222, 10),
    "getReportSchedule": UsagePlan(0.0222, 10),
    "getReportDocument": UsagePlan(0.0167, 15),
}


class RateLimiter:
    """Token buckets, full at first; `take` spends one token if there is one. Thread-safe."""

    def __init__(self, clock: Clock, scale: float = 1.0) -> None:
        self._clock = clock
        self.plans = {name: plan.scaled(scale) for name, plan in USAGE_PLANS.items()}
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (tokens, simulated time)

    def take(self, seller_id: str, operation: str) -> bool:
        plan = self.plans[operation]
        now = self._clock.now()
        with self._lock:
            tokens, updated = self._buckets.get((seller_id, operation), (float(plan.burst), now))
            tokens = min(float(plan.burst), tokens + max(0.0, now - updated) * plan.rate)
            allowed = tokens >= 1.0
            self._buckets[(seller_id, operation)] = (tokens - 1.0 if allowed else tokens, now)
            return allowed

    def snapshot(self) -> dict[str, dict[str, float]]:
        """Tokens left per seller and operation (as of their last call)."""
        with self._lock:
            result: dict[str, dict[str, float]] = {}
            for (seller_id, operation), (tokens, _) in sorted(self._buckets.items()):
                result.setdefault(seller_id, {})[operation] = round(tokens, 3)
            return result

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


class OperationCounters:
    """Per operation: `calls` (every request routed to it), `throttled` (429s), `succeeded` (2xx)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}

    def count(self, operation: str, what: str) -> int:
        """Add one; the new count."""
        with self._lock:
            counts = self._counts.setdefault(operation, {"calls": 0, "throttled": 0, "succeeded": 0})
            counts[what] += 1
            return counts[what]

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {operation: dict(counts) for operation, counts in sorted(self._counts.items())}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
