"""Gcore IAM's accounts and credentials: users, their permanent API tokens, and the JWT pair of a login.

Tokens are real JWTs (HS256, signed with a key random per simulator instance) with the claims of the
example tokens in iam_api.yaml: `token_type` (`access` or `refresh`), `exp`, `jti`, `user_id`,
`client_id`, `username`, ... The access token lives an hour, the refresh token 24 hours (by the
simulator's clock, which tests may move), and a refresh token works once: `refresh()` blacklists it.
`expire_tokens()` makes every token issued so far invalid (the
`expire_tokens` fault switches). No Flask here.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import jwt

ACCESS_TTL = 3600
REFRESH_TTL = 24 * 3600
ALGORITHM = "HS256"

DEMO_USERNAME = "reseller@example.com"
DEMO_PASSWORD = "gcore-sim"
DEMO_API_KEY = "1001$demo-api-key"
_FIRST_USER_ID = 1001
_DEMO_CLIENT_ID = 200000


class AuthError(Exception):
    """A credential was refused; `detail` is Gcore's message, `code` the simplejwt code if it has one."""

    def __init__(self, detail: str, code: str | None = None, token_message: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.token_message = token_message  # simplejwt's per-token-class message, for `messages`


class LoginFailed(Exception):
    """Wrong username or password."""


NOT_PROVIDED = "Authentication credentials were not provided."
INVALID_OR_EXPIRED = "Token is invalid or expired"
NOT_VALID_FOR_ANY = "Given token not valid for any token type"
BLACKLISTED = "Token is blacklisted"
WRONG_TYPE = "Token has wrong type"


@dataclass(frozen=True)
class User:
    username: str
    password: str
    user_id: int
    client_id: int
    client_name: str
    api_keys: tuple[str, ...] = ()


@dataclass
class Accounts:
    """Users, API keys and the JWT bookkeeping (blacklist, expiry cut-offs). Thread-safe."""

    users: dict[str, User]
    clock: Callable[[], float]
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _blacklist: set[str] = field(default_factory=set)  # used refresh tokens (jti)
    _live: dict[str, set[str]] = field(default_factory=lambda: {"access": set(), "refresh": set()})  # jti
    _expired: set[str] = field(default_factory=set)  # jti of tokens expired early by a fault
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, users: dict[str, str] | None, api_keys: Iterable[tuple[str, str]],
               clock: Callable[[], float]) -> Accounts:
        """The demo user (with `DEMO_API_KEY`) plus `users` (name -> password); `api_keys` (name, key) pairs
        give users more permanent tokens. Every user is its own client (company), so reports stay apart."""
        passwords = {DEMO_USERNAME: DEMO_PASSWORD} | dict(users or {})
        keys: dict[str, list[str]] = {DEMO_USERNAME: [DEMO_API_KEY]}
        for name, key in api_keys:
            if name not in passwords:
                raise ValueError(f"API key for unknown user {name!r}")
            keys.setdefault(name, []).append(key)
        made = {}
        for n, (name, password) in enumerate(passwords.items()):
            client_name = "Demo Reseller" if name == DEMO_USERNAME else f"{name} company"
            made[name] = User(name, password, _FIRST_USER_ID + n, _DEMO_CLIENT_ID + n, client_name,
                              tuple(keys.get(name, ())))
        return cls(users=made, clock=clock)

    # --- login and refresh --------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict[str, str]:
        user = self.users.get(username)
        if user is None or not secrets.compare_digest(user.password.encode(), password.encode()):
            raise LoginFailed
        return self._pair(user)

    def refresh(self, token: str) -> dict[str, str]:
        """A new pair for a refresh token, which is blacklisted from now on (single use)."""
        claims = self._decode(token, "refresh")
        with self._lock:
            if claims["jti"] in self._blacklist:
                raise AuthError(BLACKLISTED, "token_not_valid")
            self._blacklist.add(claims["jti"])
        user = self._user_of(claims)
        return self._pair(user)

    def _pair(self, user: User) -> dict[str, str]:
        now = self.clock()
        refresh_jti = uuid.uuid4().hex
        common = {"user_id": user.user_id, "user_type": "common", "user_groups": ["Administrators"],
                  "client_id": user.client_id, "email": user.username, "username": user.username,
                  "sso_entity": None, "is_admin": False, "client_name": user.client_name, "exchangeable": True}
        refresh = {"token_type": "refresh", "exp": int(now + REFRESH_TTL), "jti": refresh_jti} | common
        access = {"token_type": "access", "exp": int(now + ACCESS_TTL), "jti": uuid.uuid4().hex} | common | {
            "rjti": refresh_jti}
        with self._lock:
            self._live["access"].add(access["jti"])
            self._live["refresh"].add(refresh_jti)
        return {"refresh": jwt.encode(refresh, self.key, ALGORITHM), "access": jwt.encode(access, self.key, ALGORITHM)}

    # --- authenticating requests ------------------------------------------------------------------------

    def user_for_header(self, header: str | None) -> User:
        """The user of an `Authorization` header: `Bearer <access JWT>` or `APIKey <permanent token>`."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        credentials = credentials.strip()
        if scheme == "Bearer" and credentials:
            try:
                return self._user_of(self._decode(credentials, "access"))
            except AuthError as exc:  # simplejwt's answer when no token class accepts the token
                raise AuthError(NOT_VALID_FOR_ANY, "token_not_valid", exc.detail) from None
        if scheme.lower() == "apikey" and credentials:
            return self._user_of_api_key(credentials)
        raise AuthError(NOT_PROVIDED)

    def _user_of_api_key(self, token: str) -> User:
        if "$" not in token:
            raise AuthError(f"Bad permanent token: {token[:8]}")
        for user in self.users.values():
            if any(secrets.compare_digest(token.encode(), key.encode()) for key in user.api_keys):
                return user
        raise AuthError(INVALID_OR_EXPIRED)

    def _decode(self, token: str, token_type: str) -> dict:
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM],
                                options={"require": ["exp", "jti"], "verify_exp": False})  # by our clock
        except jwt.PyJWTError:
            raise AuthError(INVALID_OR_EXPIRED, "token_not_valid") from None
        if claims.get("token_type") != token_type:
            raise AuthError(WRONG_TYPE, "token_not_valid")
        with self._lock:
            expired_early = claims["jti"] in self._expired
        if expired_early or claims["exp"] <= self.clock():
            raise AuthError(INVALID_OR_EXPIRED, "token_not_valid")
        return claims

    def _user_of(self, claims: dict) -> User:
        user = self.users.get(claims.get("username", ""))
        if user is None or user.user_id != claims.get("user_id"):
            raise AuthError(INVALID_OR_EXPIRED, "token_not_valid")
        return user

    # --- faults -------------------------------------------------------------------------------------------

    def expire_tokens(self, token_type: str) -> int:
        """Every `access` (or `refresh`) token issued so far is refused from now on; how many there were."""
        with self._lock:
            live = self._live[token_type]
            self._expired |= live
            self._live[token_type] = set()
            return len(live)
