"""Login with Amazon (LWA): the seller's refresh token exchanged for a short-lived access token, and a cache
of those tokens per seller, shared by every thread of the process.

Lifetimes are upstream time: against a simulator whose clock runs `time_speed` times faster, a token with
`expires_in` 3600 lasts 3600 / time_speed wall seconds, and so does the refresh margin. No secret and no
token is ever logged or shown by `repr`."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from hub_runtime.errors import PermanentError, TransientError

from ..kind import AmazonCredentials, AmazonSettings
from .waits import backoff_seconds, pause

log = logging.getLogger("amazon_sync.spapi")

DEFAULT_LIFETIME = 3600.0  # seconds (upstream), when LWA leaves `expires_in` out
KNOWN_REJECTIONS = ("invalid_grant", "invalid_client")


class LwaRejected(PermanentError):
    """LWA refused the credentials (reason `lwa_invalid_grant`: the refresh token is wrong, revoked or of
    another app; `lwa_invalid_client`: the client id or secret is wrong; `lwa_rejected`: anything else)."""

    def __init__(self, reason_code: str, reason_text: str, status: int, error: str | None):
        super().__init__(reason_code, reason_text)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it expires, in the clock's seconds (`time.time()` unless told otherwise)."""

    value: str = field(repr=False)
    expires_at: float

    def __repr__(self) -> str:
        return f"AccessToken(expires_at={self.expires_at:.3f})"

    __str__ = __repr__


def exchange(session: requests.Session, lwa_url: str, credentials: AmazonCredentials, *,
             timeout: float = 30.0, time_speed: float = 1.0,
             clock: Callable[[], float] = time.time) -> AccessToken:
    """One `grant_type=refresh_token` exchange. `LwaRejected` when LWA refuses the credentials (400/401);
    `TransientError` (`lwa_unavailable`) on 429, 5xx, a timeout or a lost connection."""
    form = {"grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token.get_secret_value(),
            "client_id": credentials.lwa_app_id,
            "client_secret": credentials.lwa_client_secret.get_secret_value()}
    started = clock()
    try:
        response = session.post(lwa_url, data=form, timeout=timeout, headers={"accept": "application/json"})
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise TransientError("lwa_unavailable", f"LWA token exchange: {type(exc).__name__}") from None
    status = response.status_code
    body = _json(response)
    if status == 200 and isinstance(body.get("access_token"), str):
        lifetime = _lifetime(body.get("expires_in"))
        return AccessToken(body["access_token"], started + lifetime / time_speed)
    if status == 429 or status >= 500 or status == 200:
        raise TransientError("lwa_unavailable", f"LWA token exchange: HTTP {status}")
    error = body.get("error") if isinstance(body.get("error"), str) else None
    reason = f"lwa_{error}" if error in KNOWN_REJECTIONS else "lwa_rejected"
    description = body.get("error_description") if isinstance(body.get("error_description"), str) else ""
    raise LwaRejected(reason, f"LWA refused the credentials of {credentials.lwa_app_id} (HTTP {status}, "
                              f"{error or 'no error code'}){': ' + description[:200] if description else ''}",
                      status, error)


class AccessTokens:
    """Access tokens cached per credentials (one LWA app + seller refresh token). `get` gives the cached
    token until `token_refresh_margin_seconds` before it expires, then exchanges the refresh token again;
    one exchange at a time per credentials, the other threads wait for it and share its token. Transient
    LWA failures are tried again (`request_attempts` tries, the transport's backoff); a refusal is not."""

    def __init__(self, settings: AmazonSettings, *, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self.clock = clock
        self._session = session
        self._local = threading.local()
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self.exchanges = 0  # successful LWA exchanges (tests, benchmarks)

    def get(self, credentials: AmazonCredentials, stop: threading.Event | None = None) -> AccessToken:
        entry = self._entry(credentials)
        with entry.lock:
            token = entry.token
            if token is None or self.clock() >= token.expires_at - self._margin(token, entry.issued):
                entry.token = None
                issued = self.clock()
                token = self._exchange(credentials, stop)
                entry.token, entry.issued = token, issued
            return token

    def invalidate(self, credentials: AmazonCredentials, token: AccessToken | None = None) -> None:
        """Forget the cached token (only if it is still `token`, when given: another thread may have
        refreshed it already). The API refused it, e.g. 403 for an expired token."""
        entry = self._entry(credentials)
        with entry.lock:
            if token is None or entry.token == token:
                entry.token = None

    def _exchange(self, credentials: AmazonCredentials, stop: threading.Event | None) -> AccessToken:
        attempts = self.settings.request_attempts
        for attempt in range(1, attempts + 1):
            try:
                token = exchange(self.session, self.settings.lwa_url, credentials,
                                 timeout=self.settings.request_timeout_seconds,
                                 time_speed=self.settings.time_speed, clock=self.clock)
            except TransientError as exc:
                if attempt == attempts:
                    raise TransientError(exc.reason_code, f"{exc.reason_text} (after {attempts} tries)") from None
                delay = backoff_seconds(attempt, self.settings.retry_base_seconds,
                                        self.settings.retry_max_seconds) / self.settings.time_speed
                log.warning("LWA token exchange failed, trying again",
                            extra={"problem": exc.reason_text, "attempt": attempt, "wait_seconds": round(delay, 3)})
                pause(stop, delay)
                continue
            self.exchanges += 1
            log.info("LWA access token obtained", extra={"lwa_app_id": credentials.lwa_app_id})
            return token
        raise AssertionError("unreachable")

    def _margin(self, token: AccessToken, issued: float) -> float:
        """The refresh margin in wall seconds, never more than half of the token's lifetime."""
        margin = self.settings.token_refresh_margin_seconds / self.settings.time_speed
        return min(margin, max(token.expires_at - issued, 0.0) / 2)

    def _entry(self, credentials: AmazonCredentials) -> _Entry:
        key = credentials_key(credentials)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
            return entry

    @property
    def session(self) -> requests.Session:
        if self._session is not None:
            return self._session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: AccessToken | None = None
    issued: float = 0.0  # when the exchange that gave `token` started


def credentials_key(credentials: AmazonCredentials) -> str:
    """A stable key for one seller authorization that holds no secret."""
    digest = hashlib.sha256(credentials.refresh_token.get_secret_value().encode()).hexdigest()[:32]
    return f"{credentials.lwa_app_id}:{digest}"


def _lifetime(value) -> float:
    try:
        lifetime = float(value)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
    return lifetime if lifetime > 0 else DEFAULT_LIFETIME


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


_shared: dict[tuple, AccessTokens] = {}
_shared_lock = threading.Lock()


def shared_tokens(settings: AmazonSettings) -> AccessTokens:
    """The process's one token cache for these LWA settings: clients of the same seller made one after the
    other (one per job) reuse its access token instead of asking LWA again."""
    key = (settings.lwa_url, settings.time_speed, settings.token_refresh_margin_seconds, settings.request_attempts,
           settings.request_timeout_seconds, settings.retry_base_seconds, settings.retry_max_seconds)
    with _shared_lock:
        tokens = _shared.get(key)
        if tokens is None:
            tokens = _shared[key] = AccessTokens(settings)
        return tokens
