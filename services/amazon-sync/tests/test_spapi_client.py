"""SpApiClient: one seller's tokens, limiter and transport shared by its orders and reports; the credentials
check is one LWA exchange and nothing else."""

from __future__ import annotations

import pytest
from spapi_stub import CREDENTIALS, LWA_PATH

from amazon_sync.kind import AmazonSettings
from amazon_sync.spapi import LwaRejected, SpApiClient
from amazon_sync.spapi.limits import RateLimiter


def test_check_credentials_is_one_lwa_exchange(upstream):
    client = SpApiClient(upstream.settings(), CREDENTIALS)
    assert client.check_credentials().value == "Atza|token-1"
    assert [s.path for s in upstream.calls()] == [LWA_PATH]
    upstream.lwa_answers.append((400, {"error": "invalid_grant"}))
    with pytest.raises(LwaRejected, match="lwa_invalid_grant"):
        client.check_credentials()


def test_orders_and_reports_share_one_token_and_one_limiter(upstream):
    upstream.queue("GET", "/orders/2026-01-01/orders/o-1", (200, {"order": {"orderItems": []}}))
    upstream.queue("GET", "/reports/2021-06-30/reports/r-1", (200, {"reportId": "r-1", "processingStatus": "DONE"}))
    limiter = RateLimiter(upstream.settings())
    client = SpApiClient(upstream.settings(), CREDENTIALS, limiter=limiter)
    assert client.orders.order_items("o-1") == []
    assert client.reports.get("r-1")["processingStatus"] == "DONE"
    assert len(upstream.calls("POST", LWA_PATH)) == 1
    assert set(limiter.stats()) == {"getOrder/2026-01-01", "getReport"}
    assert client.orders.transport is client.reports.transport is client.transport


def test_clients_of_one_seller_share_the_process_limiter_and_token(upstream):
    settings = upstream.settings(token_refresh_margin_seconds=299)  # settings no other test uses
    one, other = (SpApiClient(settings, CREDENTIALS) for _ in range(2))
    assert one.limiter is other.limiter and one.tokens is other.tokens
    assert one.tokens.get(CREDENTIALS) is other.tokens.get(CREDENTIALS)
    assert len(upstream.calls("POST", LWA_PATH)) == 1


def test_repr_names_the_app_only():
    text = repr(SpApiClient(AmazonSettings(), CREDENTIALS))
    assert text == f"SpApiClient('{CREDENTIALS.lwa_app_id}')"
