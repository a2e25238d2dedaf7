"""One seller's Selling Partner API client: access tokens, rate limits, HTTP, and the Orders and Reports
APIs on top. Safe to share between threads."""

from __future__ import annotations

import threading

import requests

from ..kind import AmazonCredentials, AmazonSettings
from . import limits
from .limits import RateLimiter
from .lwa import AccessToken, AccessTokens, exchange, shared_tokens
from .orders import OrdersClient
from .reports import ReportsClient
from .transport import Transport


class SpApiClient:
    """`orders` and `reports` for the seller `credentials` authorize. The rate limiter and the token cache
    are the process's ones for this seller (`limits.for_seller`, `lwa.shared_tokens`; a client with its own
    `session` has its own token cache) unless given; `stop`, once set, ends every wait (backoff, rate
    limit, report polling) with `Stopped`."""

    def __init__(self, settings: AmazonSettings, credentials: AmazonCredentials,
                 session: requests.Session | None = None, stop: threading.Event | None = None, *,
                 tokens: AccessTokens | None = None, limiter: RateLimiter | None = None):
        self.settings = settings
        self.credentials = credentials
        self.session = session
        self.stop = stop if stop is not None else threading.Event()
        self.tokens = tokens or (AccessTokens(settings, session=session) if session is not None
                                 else shared_tokens(settings))
        self.limiter = limiter or limits.for_seller(settings, credentials)
        self.transport = Transport(settings, credentials, self.tokens, self.limiter, session=session, stop=self.stop)
        self.orders = OrdersClient(settings, self.transport)
        self.reports = ReportsClient(settings, self.transport)

    def check_credentials(self) -> AccessToken:
        """One LWA exchange (no SP-API call): the token, or `LwaRejected` / `TransientError`."""
        if self.session is not None:
            return self._exchange(self.session)
        with requests.Session() as session:
            return self._exchange(session)

    def _exchange(self, session: requests.Session) -> AccessToken:
        return exchange(session, self.settings.lwa_url, self.credentials,
                        timeout=self.settings.request_timeout_seconds, time_speed=self.settings.time_speed)

    def __repr__(self) -> str:
        return f"SpApiClient({self.credentials.lwa_app_id!r})"
