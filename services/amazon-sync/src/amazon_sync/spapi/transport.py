"""HTTP to the Selling Partner API for one seller: each call takes a token of its operation's bucket, carries
the access token, and is tried again on 429, 5xx, a timeout or a lost connection (exponential backoff with
full jitter, `request_attempts` tries, then `TransientError`; the backoff is upstream time, so divided by
`time_speed`). A 403 gets one fresh access token and one more try. Other 4xx end in `SpApiError` (a
`PermanentError`) with Amazon's own error code and message.

The endpoint is `settings.api_url` when set, else the region's (`marketplaces.REGION_ENDPOINTS`). Rate
headers (`x-amzn-RateLimit-Limit`) are not relied on: Amazon sends them on some answers only. One
`requests.Session` per thread unless one session is given."""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import requests

from hub_runtime.errors import PermanentError, TransientError

from ..kind import AmazonCredentials, AmazonSettings
from ..marketplaces import REGION_ENDPOINTS
from .limits import RateLimiter
from .lwa import AccessTokens
from .upstream_clock import UpstreamClock
from .waits import backoff_seconds, pause

log = logging.getLogger("amazon_sync.spapi")

USER_AGENT = "ilx-hub-amazon-sync/0.1 (Language=Python)"
REASONS = {400: "spapi_invalid_input", 401: "spapi_unauthorized", 403: "spapi_unauthorized",
           404: "spapi_not_found", 413: "spapi_invalid_input", 415: "spapi_invalid_input",
           422: "spapi_invalid_input"}


class SpApiError(PermanentError):
    """Amazon refused a call for good (a 4xx other than 429): `status`, and Amazon's `errors[0]` `code`,
    `message` and `details`. Reason codes: `spapi_invalid_input` (400, 413, 415, 422), `spapi_unauthorized`
    (401, or 403 with a fresh token), `spapi_not_found` (404), `spapi_rejected` (any other)."""

    def __init__(self, operation: str, status: int, code: str | None, message: str | None, details: str | None):
        reason = REASONS.get(status, "spapi_rejected")
        text = f"{operation}: HTTP {status} {code or 'no error code'}: {message or 'no message'}"
        super().__init__(reason, text + (f" ({details})" if details else ""))
        self.operation, self.status, self.code, self.message, self.details = operation, status, code, message, details


class Transport:
    def __init__(self, settings: AmazonSettings, credentials: AmazonCredentials, tokens: AccessTokens,
                 limiter: RateLimiter, *, session: requests.Session | None = None,
                 stop: threading.Event | None = None, rng: random.Random | None = None):
        self.settings = settings
        self.credentials = credentials
        self.tokens = tokens
        self.limiter = limiter
        self.stop = stop if stop is not None else threading.Event()
        self.rng = rng or random.Random()
        self._session = session
        self._local = threading.local()
        self.counts: Counter[str] = Counter()  # retries by cause: throttled, server_error, timeout, token_refused
        self.upstream_clock = UpstreamClock(settings.time_speed)

    @property
    def session(self) -> requests.Session:
        if self._session is not None:
            return self._session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def endpoint(self, region: str) -> str:
        if self.settings.api_url:
            return self.settings.api_url.rstrip("/")
        try:
            return REGION_ENDPOINTS[region]
        except KeyError:
            raise ValueError(f"unknown SP-API region {region!r}; valid: {', '.join(REGION_ENDPOINTS)}") from None

    def wait(self, seconds: float) -> None:
        """Wait `seconds` of wall time; `Stopped` when the stop event is set."""
        pause(self.stop, seconds)

    def call(self, operation: str, method: str, path: str, *, region: str, params: dict[str, Any] | None = None,
             json: dict[str, Any] | None = None) -> dict:
        """One SP-API operation; the answer's JSON object (`{}` for an empty body)."""
        url = self.endpoint(region) + path
        query = _query(params)
        attempts = self.settings.request_attempts
        attempt = 0
        refreshed = False
        problem = ""
        throttled = False
        while True:
            attempt += 1
            token = self.tokens.get(self.credentials, self.stop)
            self.limiter.acquire(operation, self.stop)
            headers = {"x-amz-access-token": token.value, "user-agent": USER_AGENT, "accept": "application/json",
                       "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")}
            try:
                response = self.session.request(method, url, params=query, json=json, headers=headers,
                                                timeout=self.settings.request_timeout_seconds)
                status = response.status_code
                body = _json(response)
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                status, body = None, {}
                problem, throttled = f"{operation}: {type(exc).__name__}", False
                self.counts["timeout"] += 1
            else:
                if 200 <= status < 300:
                    return body
                if status == 403 and not refreshed:
                    # most often an access token that expired early or was revoked: one fresh token, one more try
                    refreshed = True
                    attempt -= 1
                    self.counts["token_refused"] += 1
                    self.tokens.invalidate(self.credentials, token)
                    log.info("SP-API refused the access token; refreshing it", extra={"operation": operation})
                    continue
                if status == 429:
                    self.limiter.throttled(operation)
                    self.counts["throttled"] += 1
                    problem, throttled = f"{operation}: HTTP 429 {_error(body)[0] or ''}".rstrip(), True
                elif status >= 500:
                    self.counts["server_error"] += 1
                    problem, throttled = f"{operation}: HTTP {status}", False
                else:
                    code, message, details = _error(body)
                    raise SpApiError(operation, status, code, message, details)
            if attempt >= attempts:
                reason = "spapi_throttled" if throttled else "spapi_unavailable"
                raise TransientError(reason, f"{problem} (after {attempts} tries)")
            delay = self._backoff(attempt)
            log.warning("SP-API call failed, trying again",
                        extra={"problem": problem, "attempt": attempt, "wait_seconds": round(delay, 3)})
            self.wait(delay)

    def _backoff(self, attempt: int) -> float:
        """Wall seconds to wait after failed try `attempt`: the backoff is upstream time."""
        return backoff_seconds(attempt, self.settings.retry_base_seconds, self.settings.retry_max_seconds,
                               self.rng) / self.settings.time_speed

    def fetch(self, url: str) -> requests.Response:
        """GET a presigned URL (a report document): no access token, no bucket; tried again on 5xx, timeouts
        and lost connections. Any other answer is returned, its body read."""
        attempts = self.settings.request_attempts
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self.session.get(url, headers={"user-agent": USER_AGENT},
                                            timeout=self.settings.request_timeout_seconds)
                _ = response.content
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"report document download: {type(exc).__name__}"
                self.counts["timeout"] += 1
            else:
                if response.status_code < 500:
                    return response
                problem = f"report document download: HTTP {response.status_code}"
                self.counts["server_error"] += 1
            if attempt == attempts:
                break
            delay = self._backoff(attempt)
            log.warning("report document download failed, trying again",
                        extra={"problem": problem, "attempt": attempt, "wait_seconds": round(delay, 3)})
            self.wait(delay)
        raise TransientError("spapi_unavailable", f"{problem} (after {attempts} tries)")


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as SP-API takes times (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _query(params: dict[str, Any] | None) -> dict[str, str]:
    """Query parameters as SP-API takes them: arrays comma-separated, times ISO 8601, None left out."""
    query: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            value = ",".join(str(item) for item in value)
        elif isinstance(value, datetime):
            value = timestamp(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        query[name] = str(value)
    return query


def _json(response: requests.Response) -> dict:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"value": body}


def _error(body: dict) -> tuple[str | None, str | None, str | None]:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return (_str(first.get("code")), _str(first.get("message")), _str(first.get("details")))
    return None, None, None


def _str(value) -> str | None:
    return value[:500] if isinstance(value, str) and value else None
