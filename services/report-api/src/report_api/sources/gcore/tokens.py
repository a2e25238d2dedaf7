"""Gcore's access token for one account, shared by every thread of the process: logged in once and reused;
refreshed before it expires (a refresh token works once, so it is dropped before it is sent); logged in
again when the refresh fails or Gcore refuses the token. One lock, so two threads never log in (or refresh)
at the same time for one account. An API key needs none of this: it is sent as it is."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import jwt

from hub_runtime.errors import PermanentError

from .kind import GcoreCredentials
from .transport import Transport

log = logging.getLogger("report_api.gcore")

LOGIN_PATH = "/iam/auth/jwt/login"
REFRESH_PATH = "/iam/auth/jwt/refresh"
UNKNOWN_LIFETIME = 300.0  # a token whose expiry cannot be read is refreshed this soon


class TokenManager:
    def __init__(self, transport: Transport, credentials: GcoreCredentials, margin_seconds: float,
                 clock: Callable[[], float] = time.time):
        self.transport = transport
        self.credentials = credentials
        self.margin = margin_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires = 0.0
        self._refresh: str | None = None
        self.logins = self.refreshes = 0  # what this process asked Gcore for (logs, tests)

    def header(self) -> str:
        """The `Authorization` header value to send now."""
        if self.credentials.api_key is not None:
            return f"APIKey {self.credentials.api_key}"
        with self._lock:
            if self._access is None or self.clock() >= self._expires - self.margin:
                self._renew()
            return f"Bearer {self._access}"

    def rejected(self, header: str) -> None:
        """Gcore answered 401 to this header: the next `header()` gets a new token (unless another thread
        already did). An API key refused is a wrong key."""
        if self.credentials.api_key is not None:
            raise PermanentError("gcore_login_failed", f"Gcore refused the API key of {self.credentials.account}")
        with self._lock:
            if header == f"Bearer {self._access}":
                self._access = None

    def _renew(self) -> None:
        refresh, self._refresh = self._refresh, None  # single-use: never sent twice, whatever happens
        if refresh is not None and self._try_refresh(refresh):
            return
        self._login()

    def _try_refresh(self, refresh: str) -> bool:
        response, _ = self.transport.request("POST", REFRESH_PATH, json={"refresh": refresh})
        if response.status_code != 200:
            log.info("gcore token refresh refused; logging in again", extra={"status": response.status_code})
            return False
        self.refreshes += 1
        self._take(response.json())
        return True

    def _login(self) -> None:
        body = {"username": self.credentials.username, "password": self.credentials.password}
        response, _ = self.transport.request("POST", LOGIN_PATH, json=body)
        if response.status_code != 200:
            raise PermanentError("gcore_login_failed", f"Gcore refused the login of {self.credentials.account} "
                                 f"(HTTP {response.status_code}): {_text(response)}")
        self.logins += 1
        log.info("logged in to gcore", extra={"account": self.credentials.account})
        self._take(response.json())

    def _take(self, tokens: dict) -> None:
        self._access, self._refresh = tokens["access"], tokens.get("refresh")
        self._expires = _expiry(self._access, self.clock())


def _expiry(token: str, now: float) -> float:
    try:
        return float(jwt.decode(token, options={"verify_signature": False})["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return now + UNKNOWN_LIFETIME


def _text(response) -> str:
    return response.text[:300].replace("\n", " ")
