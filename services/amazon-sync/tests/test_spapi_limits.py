"""The per-operation token buckets on a fake clock: the burst at once, then the refill rate (scaled by
rate_scale and time_speed), a 429 emptying the bucket, stop, counters; and, against a model of Amazon's
own bucket with network delays, a whole burst-and-refill run without one 429."""

from __future__ import annotations

import random
import threading

import pytest
from spapi_stub import CREDENTIALS

from amazon_sync.kind import AmazonCredentials, AmazonSettings
from amazon_sync.spapi import limits
from amazon_sync.spapi.limits import USAGE_PLANS, RateLimiter, UsagePlan
from amazon_sync.spapi.waits import Stopped


class FakeTime:
    """A clock that a sleep moves on; `sleep(stop, seconds)` returns True (stopped) when `stop` is set."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, stop, seconds: float) -> bool:
        if stop is not None and stop.is_set():
            return True
        self.sleeps.append(seconds)
        self.now += seconds
        return False


def limiter(fake: FakeTime, **settings) -> RateLimiter:
    return RateLimiter(AmazonSettings(**settings), clock=fake.clock, sleep=fake.sleep, jitter_seconds=0.0)


def test_the_documented_plans():
    assert USAGE_PLANS["getOrders"] == UsagePlan(0.0167, 20)
    assert USAGE_PLANS["searchOrders"] == UsagePlan(0.0056, 20)
    assert USAGE_PLANS["getOrderItems"] == UsagePlan(0.5, 30)
    assert USAGE_PLANS["getReport"] == UsagePlan(2.0, 15)
    assert USAGE_PLANS["createReport"] == UsagePlan(0.0167, 15)
    assert USAGE_PLANS["getReportDocument"] == UsagePlan(0.0167, 15)
    assert {USAGE_PLANS[op] for op in ("getReports", "cancelReport", "createReportSchedule",
                                       "getReportSchedules", "cancelReportSchedule")} == {UsagePlan(0.0222, 10)}


def test_the_burst_goes_at_once_then_one_call_per_refill():
    fake = FakeTime()
    buckets = limiter(fake)
    for _ in range(30):
        assert buckets.acquire("getOrderItems") == 0
    assert fake.sleeps == []
    waits = [buckets.acquire("getOrderItems") for _ in range(5)]
    assert waits == pytest.approx([2.0] * 5)  # 0.5 per second
    stats = buckets.stats()["getOrderItems"]
    assert (stats.calls, stats.waits, stats.throttled) == (35, 5, 0)
    assert stats.waited_seconds == pytest.approx(10.0)


@pytest.mark.parametrize(("speed", "scale", "burst", "interval"), [
    (60, 1, 20, 1 / (0.0167 * 60)), (1, 2, 40, 1 / (0.0167 * 2)), (100, 0.5, 10, 1 / (0.0167 * 50)),
    (1, 0.33, 6, 1 / (0.0167 * 0.33)), (1, 0.01, 1, 1 / 0.0167 / 0.01),
])
def test_rates_and_bursts_scale_with_rate_scale_and_rates_with_time_speed(speed, scale, burst, interval):
    fake = FakeTime()
    buckets = limiter(fake, time_speed=speed, rate_scale=scale)
    for _ in range(burst):
        assert buckets.acquire("getOrders") == 0
    assert buckets.acquire("getOrders") == pytest.approx(interval)


def test_buckets_are_per_operation():
    fake = FakeTime()
    buckets = limiter(fake)
    for _ in range(15):
        buckets.acquire("createReport")
    assert buckets.acquire("getReport") == 0
    assert buckets.acquire("createReport") > 0


def test_a_429_empties_the_bucket_and_calls_go_on_at_the_refill_rate():
    fake = FakeTime()
    buckets = limiter(fake)
    buckets.acquire("getReport")
    buckets.throttled("getReport")
    assert buckets.tokens("getReport") == 0
    assert buckets.acquire("getReport") == pytest.approx(0.5)
    assert buckets.acquire("getReport") == pytest.approx(0.5)
    assert buckets.stats()["getReport"].throttled == 1


def test_a_429_keeps_the_jitter_reserve_back():
    fake = FakeTime()
    buckets = RateLimiter(AmazonSettings(), clock=fake.clock, sleep=fake.sleep, jitter_seconds=0.1)
    assert buckets.tokens("getReport") == pytest.approx(15 - 0.2)  # 2/s * 0.1 s held back from the burst
    buckets.throttled("getReport")
    assert buckets.tokens("getReport") == pytest.approx(-0.2)


def test_starting_empty():
    fake = FakeTime()
    buckets = RateLimiter(AmazonSettings(), clock=fake.clock, sleep=fake.sleep, start_full=False)
    assert buckets.acquire("getReport") == pytest.approx(0.5)


def test_a_stop_ends_the_wait():
    fake = FakeTime()
    buckets = limiter(fake)
    for _ in range(10):
        buckets.acquire("getReports")
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        buckets.acquire("getReports", stop)


def test_a_real_wait_is_cut_short_by_stop():
    buckets = RateLimiter(AmazonSettings(), start_full=False)  # the first getOrders token comes in 60 s
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    with pytest.raises(Stopped):
        buckets.acquire("getOrders", stop)


def test_an_unknown_operation_is_refused():
    with pytest.raises(ValueError, match="no usage plan"):
        RateLimiter(AmazonSettings()).acquire("getEverything")


def test_one_limiter_per_seller_and_endpoint():
    settings = AmazonSettings(api_url="http://127.0.0.1:1")
    other = AmazonCredentials(lwa_app_id=CREDENTIALS.lwa_app_id, lwa_client_secret="x",
                              refresh_token="Atzr|someone-else")
    assert limits.for_seller(settings, CREDENTIALS) is limits.for_seller(settings, CREDENTIALS)
    assert limits.for_seller(settings, other) is not limits.for_seller(settings, CREDENTIALS)
    assert limits.for_seller(AmazonSettings(), CREDENTIALS) is not limits.for_seller(settings, CREDENTIALS)


class AmazonBucket:
    """Amazon's side: a continuous token bucket, full at first, charged when a request arrives."""

    def __init__(self, plan: UsagePlan):
        self.rate, self.burst = plan.rate, plan.burst
        self.tokens, self.updated = float(plan.burst), 0.0

    def arrive(self, at: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (at - self.updated) * self.rate)
        self.updated = at
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@pytest.mark.parametrize("operation", ["getOrderItems", "searchOrders", "getReport"])
def test_burst_and_refill_meet_no_429_despite_network_delays(operation):
    """Calls leave when our bucket allows; each reaches Amazon 0 to 80 ms later (in any order). Over a run
    spending the burst and then three bursts' worth at the refill rate, Amazon never throttles, and the
    run takes no longer than the documented budget allows."""
    fake = FakeTime()
    speed = 50.0
    buckets = RateLimiter(AmazonSettings(time_speed=speed), clock=fake.clock, sleep=fake.sleep, jitter_seconds=0.1)
    plan = USAGE_PLANS[operation]
    amazon = AmazonBucket(UsagePlan(plan.rate * speed, plan.burst))
    rng = random.Random(7)
    calls = plan.burst * 4
    arrivals = []
    for _ in range(calls):
        buckets.acquire(operation)
        arrivals.append(fake.now + rng.uniform(0.0, 0.08))
    assert all(amazon.arrive(at) for at in sorted(arrivals))
    ideal = (calls - plan.burst) / (plan.rate * speed)  # the fastest any client could go
    assert fake.now <= ideal + 0.1 + 1 / (plan.rate * speed)
