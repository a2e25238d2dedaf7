"""Users and their tokens: argon2id password hashes, HS256 JWTs tied to a login session, rotation of
refresh tokens, logout, and a rate limit on failed logins. Free of Flask."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub_runtime.db import transaction
from hub_runtime.models import utcnow

from .models import LoginFailure, LoginSession, User

ISSUER = "hub-report-api"
_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("an unused password, so unknown emails cost as much as wrong passwords")


class AuthError(Exception):
    """A refused request: `status` 400/401/409/429, a stable `code`, and `retry_after` seconds for 429."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass(frozen=True)
class Tokens:
    user: User
    access: str
    refresh: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and the login session the access token belongs to."""

    user_id: str
    session_id: str
    email: str


def load_or_create_key(data_dir: Path) -> str:
    """The signing key when none is configured: random, kept (mode 0600) beside the data."""
    path = data_dir / "jwt.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()


class Auth:
    def __init__(self, sessions: sessionmaker[Session], instance: str, key: str, *, access_minutes: float,
                 refresh_days: float, max_failures: int, max_failures_per_ip: int, window_seconds: float):
        self.sessions = sessions
        self.instance = instance
        self.key = key
        self.access_ttl = timedelta(minutes=access_minutes)
        self.refresh_ttl = timedelta(days=refresh_days)
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.window = timedelta(seconds=window_seconds)

    # --- registration and login -----------------------------------------------------------------------
    def register(self, email: str, name: str, password: str, phone_number: str | None = None) -> Tokens:
        user = User(id=str(uuid.uuid4()), instance=self.instance, email=email.lower(), name=name,
                    phone_number=phone_number, password_hash=_hasher.hash(password), created_at=utcnow())
        try:
            with transaction(self.sessions) as session:
                session.add(user)
        except IntegrityError:
            raise AuthError(409, "email_taken", "a user with this email is already registered") from None
        return self._login(user)

    def login(self, email: str, password: str, address: str) -> Tokens:
        email = email.lower()
        self._check_rate(email, address)
        with self.sessions() as session:
            user = session.scalar(select(User).where(User.instance == self.instance, User.email == email))
        if not self._password_ok(user, password):
            with transaction(self.sessions) as session:
                session.add(LoginFailure(instance=self.instance, email=email, address=address, at=utcnow()))
            raise AuthError(401, "invalid_credentials", "wrong email or password")
        with transaction(self.sessions) as session:
            session.execute(delete(LoginFailure).where(LoginFailure.instance == self.instance,
                                                       LoginFailure.email == email))
            if _hasher.check_needs_rehash(user.password_hash):
                session.execute(update(User).where(User.id == user.id).values(
                    password_hash=_hasher.hash(password)))
        return self._login(user)

    @staticmethod
    def _password_ok(user: User | None, password: str) -> bool:
        try:
            return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
        except (VerificationError, InvalidHashError):
            return False

    def _check_rate(self, email: str, address: str) -> None:
        since = utcnow() - self.window
        with self.sessions() as session:
            by_email = session.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.instance == self.instance, LoginFailure.email == email, LoginFailure.at > since))
            by_address = session.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.instance == self.instance, LoginFailure.address == address, LoginFailure.at > since))
        if by_email >= self.max_failures or by_address >= self.max_failures_per_ip:
            raise AuthError(429, "too_many_attempts", "too many failed logins; try again later",
                            retry_after=int(self.window.total_seconds()))

    def prune_failures(self) -> int:
        with transaction(self.sessions) as session:
            return session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - self.window)).rowcount

    # --- tokens -----------------------------------------------------------------------------------------
    def _login(self, user: User) -> Tokens:
        sid, jti, now = uuid.uuid4().hex, uuid.uuid4().hex, utcnow()
        with transaction(self.sessions) as session:
            session.add(LoginSession(id=sid, user_id=user.id, refresh_jti=jti, created_at=now,
                                     expires_at=now + self.refresh_ttl))
        return Tokens(user, self._token(user.id, sid, "access", uuid.uuid4().hex, self.access_ttl),
                      self._token(user.id, sid, "refresh", jti, self.refresh_ttl))

    def _token(self, user_id: str, sid: str, typ: str, jti: str, ttl: timedelta) -> str:
        now = utcnow()
        claims = {"sub": user_id, "sid": sid, "typ": typ, "jti": jti, "iss": ISSUER, "aud": self.instance,
                  "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.key, algorithm="HS256")

    def _decode(self, token: str, typ: str) -> dict:
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], issuer=ISSUER, audience=self.instance,
                                options={"require": ["exp", "sub", "sid", "typ", "jti"]})
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "token_expired", f"the {typ} token has expired") from None
        except jwt.PyJWTError:
            raise AuthError(401, "invalid_token", f"not a valid {typ} token") from None
        if claims["typ"] != typ:
            raise AuthError(401, "invalid_token", f"a {claims['typ']} token where a {typ} token is needed")
        return claims

    def authenticate(self, access_token: str) -> Principal:
        claims = self._decode(access_token, "access")
        with self.sessions() as session:
            row = session.execute(
                select(LoginSession.revoked_at, User.email).join(User, User.id == LoginSession.user_id)
                .where(LoginSession.id == claims["sid"])).first()
        if row is None or row.revoked_at is not None:
            raise AuthError(401, "session_ended", "this login has ended (logged out); log in again")
        return Principal(claims["sub"], claims["sid"], row.email)

    def refresh(self, refresh_token: str) -> tuple[str, str]:
        """A new access token and a new refresh token; the presented refresh token is used up."""
        claims = self._decode(refresh_token, "refresh")
        new_jti = uuid.uuid4().hex
        with transaction(self.sessions) as session:
            rotated = session.execute(
                update(LoginSession).where(LoginSession.id == claims["sid"], LoginSession.revoked_at.is_(None),
                                           LoginSession.refresh_jti == claims["jti"])
                .values(refresh_jti=new_jti)).rowcount
            if not rotated:
                # an old refresh token presented again: someone else may hold the newer one; end the login
                session.execute(update(LoginSession).where(LoginSession.id == claims["sid"],
                                                           LoginSession.revoked_at.is_(None))
                                .values(revoked_at=utcnow()))
        if not rotated:
            raise AuthError(401, "session_ended", "this refresh token was already used or the login has ended")
        return (self._token(claims["sub"], claims["sid"], "access", uuid.uuid4().hex, self.access_ttl),
                self._token(claims["sub"], claims["sid"], "refresh", new_jti, self.refresh_ttl))

    def logout(self, principal: Principal) -> None:
        with transaction(self.sessions) as session:
            session.execute(update(LoginSession).where(LoginSession.id == principal.session_id)
                            .values(revoked_at=utcnow()))
