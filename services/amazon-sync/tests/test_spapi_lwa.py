"""LWA: the refresh-token exchange and its refusals, and the per-seller token cache (refresh margin in upstream
time, one exchange at a time, invalidation), against a scripted LWA over real HTTP."""

from __future__ import annotations

import threading

import pytest
import requests
from spapi_stub import CREDENTIALS, LWA_PATH

from amazon_sync.kind import AmazonCredentials
from amazon_sync.spapi.lwa import AccessToken, AccessTokens, LwaRejected, exchange
from hub_runtime.errors import PermanentError, TransientError

SECRETS = ("client-s3cret", "Atzr|refresh-s3cret")


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_exchange_posts_the_refresh_grant_and_scales_the_lifetime(upstream):
    token = exchange(requests.Session(), upstream.url + LWA_PATH, CREDENTIALS, time_speed=60, clock=Clock(500.0))
    assert token.value == "Atza|token-1"
    assert token.expires_at == pytest.approx(500.0 + 3600 / 60)
    [seen] = upstream.calls("POST", LWA_PATH)
    assert seen.body == {"grant_type": "refresh_token", "refresh_token": "Atzr|refresh-s3cret",
                         "client_id": CREDENTIALS.lwa_app_id, "client_secret": "client-s3cret"}
    assert "Atza|token-1" not in repr(token) and "Atza" not in str(token)


@pytest.mark.parametrize(("status", "error", "reason"), [
    (400, "invalid_grant", "lwa_invalid_grant"),
    (401, "invalid_client", "lwa_invalid_client"),
    (400, "unsupported_grant_type", "lwa_rejected"),
])
def test_refusals_are_permanent_with_their_reason(upstream, status, error, reason):
    upstream.lwa_answers.append((status, {"error": error, "error_description": "The request has an invalid grant"}))
    with pytest.raises(LwaRejected) as caught:
        exchange(requests.Session(), upstream.url + LWA_PATH, CREDENTIALS)
    assert isinstance(caught.value, PermanentError)
    assert caught.value.reason_code == reason and caught.value.status == status
    assert not any(secret in str(caught.value) for secret in SECRETS)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(upstream, status):
    upstream.lwa_answers.append((status, {"error": "server_error"}))
    with pytest.raises(TransientError, match="lwa_unavailable"):
        exchange(requests.Session(), upstream.url + LWA_PATH, CREDENTIALS)


def test_a_timeout_is_transient(upstream):
    release = threading.Event()

    def slow(seen):
        release.wait(5)
        return 200, {"access_token": "late", "expires_in": 3600}

    upstream.lwa_answers.append(slow)
    try:
        with pytest.raises(TransientError, match="lwa_unavailable: .*Timeout"):
            exchange(requests.Session(), upstream.url + LWA_PATH, CREDENTIALS, timeout=0.1)
    finally:
        release.set()


def test_the_cache_reuses_a_token_until_the_margin_before_expiry(upstream):
    clock = Clock()
    # speed 60: 3600 s of lifetime are 60 wall seconds, the 300 s margin 5
    tokens = AccessTokens(upstream.settings(time_speed=60, token_refresh_margin_seconds=300), clock=clock)
    first = tokens.get(CREDENTIALS)
    clock.now += 54.9
    assert tokens.get(CREDENTIALS) is first
    clock.now += 0.2
    second = tokens.get(CREDENTIALS)
    assert second.value == "Atza|token-2" and tokens.exchanges == 2


def test_a_margin_longer_than_the_lifetime_still_caches(upstream):
    clock = Clock()
    upstream.expires_in = 100  # shorter than the 300 s margin: refreshed at half its life instead
    tokens = AccessTokens(upstream.settings(time_speed=1, token_refresh_margin_seconds=300), clock=clock)
    first = tokens.get(CREDENTIALS)
    clock.now += 49
    assert tokens.get(CREDENTIALS) is first
    clock.now += 2
    assert tokens.get(CREDENTIALS) is not first


def test_tokens_are_kept_per_credentials(upstream):
    other = AmazonCredentials(lwa_app_id=CREDENTIALS.lwa_app_id, lwa_client_secret="client-s3cret",
                              refresh_token="Atzr|another-seller")
    tokens = AccessTokens(upstream.settings())
    assert tokens.get(CREDENTIALS).value != tokens.get(other).value
    assert tokens.get(CREDENTIALS).value == "Atza|token-1"


def test_one_exchange_serves_threads_asking_at_once(upstream):
    entered, release = threading.Event(), threading.Event()

    def slow_token(seen):
        entered.set()
        release.wait(5)
        return 200, {"access_token": "Atza|shared", "expires_in": 3600}

    upstream.lwa_answers.append(slow_token)
    tokens = AccessTokens(upstream.settings())
    got: list[AccessToken] = []
    threads = [threading.Thread(target=lambda: got.append(tokens.get(CREDENTIALS))) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert entered.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert [t.value for t in got] == ["Atza|shared"] * 8
    assert len(upstream.calls("POST", LWA_PATH)) == 1


def test_invalidate_drops_only_the_token_it_names(upstream):
    tokens = AccessTokens(upstream.settings())
    first = tokens.get(CREDENTIALS)
    tokens.invalidate(CREDENTIALS, first)
    second = tokens.get(CREDENTIALS)
    assert second.value == "Atza|token-2"
    tokens.invalidate(CREDENTIALS, first)  # stale: another thread already refreshed
    assert tokens.get(CREDENTIALS) is second


def test_transient_lwa_failures_are_tried_again(upstream):
    upstream.lwa_answers.extend([(503, {}), (500, {})])
    tokens = AccessTokens(upstream.settings(request_attempts=3))
    assert tokens.get(CREDENTIALS).value == "Atza|token-1"
    assert len(upstream.calls("POST", LWA_PATH)) == 3


def test_a_refusal_is_not_tried_again(upstream):
    upstream.lwa_answers.append((400, {"error": "invalid_grant"}))
    with pytest.raises(LwaRejected, match="lwa_invalid_grant"):
        AccessTokens(upstream.settings(request_attempts=5)).get(CREDENTIALS)
    assert len(upstream.calls("POST", LWA_PATH)) == 1


def test_credentials_never_show_their_secrets():
    assert not any(secret in repr(CREDENTIALS) + str(CREDENTIALS) for secret in SECRETS)
