"""The SP-API transport against a scripted upstream over real HTTP: the headers of a call, retries of 429, 5xx
and timeouts with backoff (counted, bounded, stoppable), one token refresh on 403, Amazon's errors as
reason codes, endpoints by region, and presigned downloads without the access token."""

from __future__ import annotations

import threading

import pytest
from spapi_stub import CREDENTIALS, LWA_PATH, error

from amazon_sync.spapi.limits import RateLimiter
from amazon_sync.spapi.lwa import AccessTokens
from amazon_sync.spapi.transport import USER_AGENT, SpApiError, Transport
from amazon_sync.spapi.waits import Stopped
from hub_runtime.errors import PermanentError, TransientError

ORDERS = "/orders/v0/orders"


def transport(upstream, stop=None, **overrides) -> Transport:
    settings = upstream.settings(**overrides)
    return Transport(settings, CREDENTIALS, AccessTokens(settings), RateLimiter(settings), stop=stop)


def test_a_call_carries_the_token_agent_and_date_and_csv_arrays(upstream):
    upstream.queue("GET", ORDERS, (200, {"payload": {"Orders": []}}))
    body = transport(upstream).call("getOrders", "GET", ORDERS, region="eu",
                                    params={"MarketplaceIds": ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"], "X": None})
    assert body == {"payload": {"Orders": []}}
    [seen] = upstream.calls("GET", ORDERS)
    assert seen.headers["X-Amz-Access-Token"] == "Atza|token-1"
    assert seen.headers["User-Agent"] == USER_AGENT == "ilx-hub-amazon-sync/0.1 (Language=Python)"
    assert len(seen.headers["X-Amz-Date"]) == 16 and seen.headers["X-Amz-Date"].endswith("Z")
    assert seen.query == {"MarketplaceIds": "A1F83G8C2ARO7P,A1PA6795UKMFR9"}


def test_429_and_5xx_are_tried_again_and_counted(upstream):
    upstream.queue("GET", ORDERS, (429, error("QuotaExceeded", "You exceeded your quota")), (503, {}),
                   (200, {"payload": {}}))
    t = transport(upstream, time_speed=10000)
    assert t.call("getOrders", "GET", ORDERS, region="eu") == {"payload": {}}
    assert len(upstream.calls("GET", ORDERS)) == 3
    assert t.counts == {"throttled": 1, "server_error": 1}
    assert t.limiter.stats()["getOrders"].throttled == 1
    assert t.limiter.stats()["getOrders"].calls == 3


def test_a_429_storm_ends_in_a_transient_throttled_error(upstream):
    upstream.default("GET", ORDERS, (429, error("QuotaExceeded")))
    with pytest.raises(TransientError) as caught:
        transport(upstream, request_attempts=4, time_speed=10000).call("getOrders", "GET", ORDERS, region="eu")
    assert caught.value.reason_code == "spapi_throttled"
    assert len(upstream.calls("GET", ORDERS)) == 4


def test_server_errors_end_in_a_transient_unavailable_error(upstream):
    upstream.default("GET", ORDERS, (500, {}))
    with pytest.raises(TransientError, match="spapi_unavailable: getOrders: HTTP 500 .after 3 tries"):
        transport(upstream).call("getOrders", "GET", ORDERS, region="eu")


def test_a_timeout_is_tried_again(upstream):
    release = threading.Event()

    def slow(seen):
        release.wait(5)
        return 200, {}

    upstream.queue("GET", ORDERS, slow, (200, {"payload": {"ok": True}}))
    try:
        t = transport(upstream, request_timeout_seconds=0.1)
        assert t.call("getOrders", "GET", ORDERS, region="eu") == {"payload": {"ok": True}}
        assert t.counts["timeout"] == 1
    finally:
        release.set()


def test_a_403_gets_one_fresh_token_and_one_more_try(upstream):
    expired = error("Unauthorized", "Access to requested resource is denied.",
                    "The access token you provided has expired.")
    upstream.queue("GET", ORDERS, (403, expired), (200, {"payload": {}}))
    t = transport(upstream)
    assert t.call("getOrders", "GET", ORDERS, region="eu") == {"payload": {}}
    first, second = upstream.calls("GET", ORDERS)
    assert first.headers["X-Amz-Access-Token"] == "Atza|token-1"
    assert second.headers["X-Amz-Access-Token"] == "Atza|token-2"
    assert t.counts["token_refused"] == 1


def test_a_403_with_a_fresh_token_is_permanent(upstream):
    upstream.default("GET", ORDERS, (403, error("Unauthorized", "Access to requested resource is denied.")))
    with pytest.raises(SpApiError) as caught:
        transport(upstream).call("getOrders", "GET", ORDERS, region="eu")
    assert caught.value.reason_code == "spapi_unauthorized" and caught.value.code == "Unauthorized"
    assert len(upstream.calls("GET", ORDERS)) == 2
    assert len(upstream.calls("POST", LWA_PATH)) == 2


@pytest.mark.parametrize(("status", "code", "reason"), [
    (400, "InvalidInput", "spapi_invalid_input"),
    (404, "NotFound", "spapi_not_found"),
    (401, "Unauthorized", "spapi_unauthorized"),
    (409, "Conflict", "spapi_rejected"),
])
def test_other_4xx_are_permanent_with_amazons_code_and_message(upstream, status, code, reason):
    upstream.queue("GET", ORDERS, (status, error(code, "CreatedBefore must be at least 2 minutes ago", "why")))
    with pytest.raises(SpApiError) as caught:
        transport(upstream).call("getOrders", "GET", ORDERS, region="eu")
    assert isinstance(caught.value, PermanentError)
    assert caught.value.reason_code == reason
    assert (caught.value.status, caught.value.code) == (status, code)
    assert "CreatedBefore must be at least 2 minutes ago (why)" in caught.value.reason_text
    assert len(upstream.calls("GET", ORDERS)) == 1


def test_an_error_without_a_body_is_still_named(upstream):
    upstream.queue("GET", ORDERS, (400, None))
    with pytest.raises(SpApiError, match="HTTP 400 no error code"):
        transport(upstream).call("getOrders", "GET", ORDERS, region="eu")


def test_a_stop_ends_the_backoff(upstream):
    upstream.default("GET", ORDERS, (503, {}))
    stop = threading.Event()
    t = transport(upstream, stop=stop, retry_base_seconds=30, retry_max_seconds=60, request_attempts=5, time_speed=1)
    t.rng.seed(1)  # a first wait of several seconds

    def stop_when_called():
        while not upstream.calls("GET", ORDERS):
            stop.wait(0.005)
        stop.set()

    threading.Thread(target=stop_when_called, daemon=True).start()
    with pytest.raises(Stopped):
        t.call("getOrders", "GET", ORDERS, region="eu")
    assert len(upstream.calls("GET", ORDERS)) == 1


@pytest.mark.parametrize("speed", [1, 100])
def test_backoff_doubles_up_to_the_cap_with_full_jitter_in_upstream_time(upstream, speed):
    t = transport(upstream, retry_base_seconds=1, retry_max_seconds=8, request_attempts=7, time_speed=speed)
    waits: list[float] = []
    t.wait = waits.append
    t.rng.seed(3)
    upstream.default("GET", ORDERS, (500, {}))
    with pytest.raises(TransientError):
        t.call("getOrders", "GET", ORDERS, region="eu")
    ceilings = [c / speed for c in (1, 2, 4, 8, 8, 8)]
    assert len(waits) == 6 and all(0 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert max(waits) > 1 / speed  # the ceiling grew


def test_the_endpoint_is_the_regions_unless_an_api_url_is_set(upstream):
    t = transport(upstream, api_url=None)
    assert t.endpoint("eu") == "https://sellingpartnerapi-eu.amazon.com"
    assert t.endpoint("na") == "https://sellingpartnerapi-na.amazon.com"
    assert transport(upstream).endpoint("fe") == upstream.url
    with pytest.raises(ValueError, match="unknown SP-API region"):
        t.endpoint("mars")


def test_a_presigned_download_carries_no_access_token(upstream):
    upstream.queue("GET", "/documents/doc-1", (503, {}), (200, b"raw bytes"))
    t = transport(upstream)
    response = t.fetch(upstream.url + "/documents/doc-1?X-Amz-Signature=abc")
    assert response.status_code == 200 and response.content == b"raw bytes"
    seen = upstream.calls("GET", "/documents/doc-1")
    assert len(seen) == 2 and all("X-Amz-Access-Token" not in s.headers for s in seen)
    assert upstream.calls("POST", LWA_PATH) == []
