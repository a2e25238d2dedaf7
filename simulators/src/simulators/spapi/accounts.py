"""Login with Amazon (LWA) for the simulated sellers: one developer application (client id and secret),
the sellers that authorised it (each with its refresh token), and the access tokens handed out.

An access token (`Atza|...`) lives `ACCESS_TOKEN_TTL` seconds of simulated time; `expire_all()` (the
`expire_tokens` fault) makes every token issued so far expire at once. The errors are LWA's own
(`{"error", "error_description"}`), their texts as LWA writes them. No Flask here.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .clock import Clock

ACCESS_TOKEN_TTL = 3600

DEMO_APP_ID = "amzn1.application-oa2-client.demo0000000000000000000000000000"
DEMO_CLIENT_SECRET = "amzn1.oa2-cs.v1.demo0000000000000000000000000000000000000000000000000000000000000"
DEMO_REFRESH_TOKEN = "Atzr|IwEBIDemoSellerRefreshTokenOfTheSpApiSimulator0000000000000000"
DEMO_SELLER_ID = "A3SPSIMDEMO001"
DEMO_SELLER_NAME = "demo"
GRANTLESS_SCOPES = ("sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation")

MISSING_TOKEN = "Access token is missing in the request header."
INVALID_TOKEN = "The access token you provided is revoked, malformed or invalid."
EXPIRED_TOKEN = "The access token you provided has expired."


@dataclass(frozen=True)
class Seller:
    name: str
    seller_id: str
    refresh_token: str
    index: int  # 0 for the demo seller; decides the seller's data together with the seed


def demo_seller() -> Seller:
    return Seller(DEMO_SELLER_NAME, DEMO_SELLER_ID, DEMO_REFRESH_TOKEN, 0)


def extra_seller(name: str, index: int) -> Seller:
    """Another seller that authorised the demo application; its id and refresh token follow from its name."""
    digest = hashlib.sha256(name.encode()).hexdigest().upper()
    seller_id = "A" + "".join(c for c in digest if c.isalnum())[:13]
    return Seller(name, seller_id, f"Atzr|IwEBI{digest[:56]}", index)


class LwaError(Exception):
    """A refused token request: HTTP status, LWA's `error` code and `error_description`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class AuthError(Exception):
    """An SP-API call without a usable access token; `details` says why, in Amazon's words."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


@dataclass(frozen=True)
class AccessToken:
    seller: Seller | None  # None: a grantless token (client_credentials)
    expires: float
    serial: int


def _missing(name: str) -> LwaError:
    return LwaError(400, "invalid_request", f"The request is missing a required parameter : {name}")


class Accounts:
    """The application's credentials, the sellers and the live access tokens. Thread-safe."""

    def __init__(self, sellers: Iterable[Seller], clock: Clock, app_id: str = DEMO_APP_ID,
                 client_secret: str = DEMO_CLIENT_SECRET) -> None:
        self.sellers = {seller.name: seller for seller in sellers}
        self._by_refresh_token = {seller.refresh_token: seller for seller in self.sellers.values()}
        self.app_id = app_id
        self._client_secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, AccessToken] = {}
        self._serial = 0
        self._expired_up_to = 0  # tokens with a serial up to this one have expired early

    def grant(self, form: Mapping[str, str]) -> dict:
        """`POST /auth/o2/token`: the token answer for a form (or JSON) body; raises `LwaError`."""
        grant_type = form.get("grant_type") or ""
        if not grant_type:
            raise _missing("grant_type")
        if grant_type not in ("refresh_token", "client_credentials", "authorization_code"):
            raise LwaError(400, "unsupported_grant_type",
                           "The authorization grant type is not supported by the authorization server")
        for name in ("client_id", "client_secret"):
            if not form.get(name):
                raise _missing(name)
        if form["client_id"] != self.app_id or not secrets.compare_digest(
                form["client_secret"].encode(), self._client_secret.encode()):
            raise LwaError(401, "invalid_client", "Client authentication failed")
        if grant_type == "authorization_code":  # the simulator never hands out authorisation codes
            if not form.get("code"):
                raise _missing("code")
            raise LwaError(400, "invalid_grant", "The request has an invalid grant parameter : code")
        if grant_type == "client_credentials":
            scope = form.get("scope") or ""
            if not scope:
                raise _missing("scope")
            if scope not in GRANTLESS_SCOPES:
                raise LwaError(400, "invalid_scope", "An unknown scope was specified")
            return {"access_token": self._issue(None), "token_type": "bearer", "expires_in": ACCESS_TOKEN_TTL}
        refresh_token = form.get("refresh_token") or ""
        if not refresh_token:
            raise _missing("refresh_token")
        seller = self._by_refresh_token.get(refresh_token)
        if seller is None:
            raise LwaError(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        return {"access_token": self._issue(seller), "refresh_token": refresh_token, "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_TTL}

    def _issue(self, seller: Seller | None) -> str:
        token = "Atza|IwEB" + secrets.token_urlsafe(48)
        now = self._clock.now()
        with self._lock:
            self._serial += 1
            self._tokens[token] = AccessToken(seller, now + ACCESS_TOKEN_TTL, self._serial)
            if len(self._tokens) > 10_000:  # forget long-expired tokens
                self._tokens = {t: a for t, a in self._tokens.items() if a.expires > now - ACCESS_TOKEN_TTL}
        return token

    def authenticate(self, token: str | None) -> Seller | None:
        """The seller of a live access token (None for a grantless one); raises `AuthError`."""
        if not token:
            raise AuthError(MISSING_TOKEN)
        with self._lock:
            access = self._tokens.get(token)
            expired_up_to = self._expired_up_to
        if access is None:
            raise AuthError(INVALID_TOKEN)
        if access.serial <= expired_up_to or access.expires <= self._clock.now():
            raise AuthError(EXPIRED_TOKEN)
        return access.seller

    def expire_all(self) -> None:
        """Every access token issued so far expires now."""
        with self._lock:
            self._expired_up_to = self._serial
