"""Tokens: real HS256 JWTs signed with a key made at start-up.

Access tokens carry `userId`, `com` (the company the data answers are about) and `exp` (90 minutes by
default), as the public client decodes them. Refresh tokens carry the same plus `type: refresh`; a refresh
gives a new access token for the refresh token's own company, so after a switch the refresh token that the
switch returned must be used. The server also remembers which tokens it issued, so `/_sim/faults`
`expire_tokens` can make every token issued so far invalid at once (the JWT's `exp` still looks fine).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

import jwt

from .errors import unauthorized

ACCESS_TTL = 90 * 60
REFRESH_TTL = 24 * 3600
TOKEN_TYPE = "bearer"
_ALGORITHM = "HS256"


class Tokens:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._live: dict[str, set[str]] = {"access": set(), "refresh": set()}

    def issue(self, user_id: str, company_id: str, kind: str = "access", ttl: float | None = None) -> str:
        now = time.time()
        ttl = ttl or (ACCESS_TTL if kind == "access" else REFRESH_TTL)
        jti = uuid.uuid4().hex
        claims = {"sub": user_id, "userId": user_id, "com": company_id, "iat": int(now), "exp": int(now + ttl),
                  "jti": jti}
        if kind == "refresh":
            claims["type"] = "refresh"
        with self._lock:
            self._live[kind].add(jti)
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def pair(self, user_id: str, company_id: str, access_ttl: float | None = None) -> tuple[str, str]:
        """(access token, refresh token) for the user in the company."""
        return self.issue(user_id, company_id, ttl=access_ttl), self.issue(user_id, company_id, "refresh")

    def verify(self, token: str | None, kind: str = "access") -> dict:
        """The claims of a valid, live token of that kind; else the API's 401."""
        if not token:
            raise unauthorized("Not authenticated")
        try:
            claims = jwt.decode(token, self._key, algorithms=[_ALGORITHM],
                                options={"require": ["exp", "userId", "com", "jti"]})
        except jwt.PyJWTError:
            raise unauthorized() from None
        if (claims.get("type") == "refresh") != (kind == "refresh"):
            raise unauthorized()
        with self._lock:
            if claims["jti"] not in self._live[kind]:
                raise unauthorized()
        return claims

    def expire_all(self, kinds: tuple[str, ...] = ("access",)) -> None:
        with self._lock:
            for kind in kinds:
                self._live[kind].clear()


def bearer(header: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>` (the scheme in any case, as FastAPI's OAuth2 scheme)."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
