"""The demo workshop ERP's domain: users, sessions, worksheets, the product catalogue and order lines.

No HTTP here: the JSON API (`api.py`) and the web UI (`web.py`) both sit on `Store` and `Sessions`. Every
public method is thread-safe. Failures are `ErpError` subclasses carrying a stable `code`; the HTTP
layer maps codes to status codes.

With a state file, worksheets and their lines survive a restart: the file is loaded at start and
rewritten atomically after every change. Users and the catalogue are fixed demo data; sessions and
counters live in memory only (a restarted ERP forgets its sessions, like a real one).
"""

from __future__ import annotations

import hmac
import json
import math
import os
import re
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

MAX_QUANTITY = Decimal(10000)
MAX_QUANTITY_DECIMALS = 3
MAX_REFERENCE_LENGTH = 64
STATE_FILE_VERSION = 1

_QUANTITY_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")


# --- errors -------------------------------------------------------------------------------------------


class ErpError(Exception):
    """A domain failure with a stable machine-readable `code`."""

    code = "erp_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCredentials(ErpError):
    code = "invalid_credentials"


class UserInactive(ErpError):
    code = "user_inactive"


class Unauthorized(ErpError):
    code = "unauthorized"


class SessionExpired(ErpError):
    code = "session_expired"


class WorksheetNotFound(ErpError):
    code = "worksheet_not_found"


class WorksheetClosed(ErpError):
    code = "worksheet_closed"


class ProductNotFound(ErpError):
    code = "product_not_found"


class InvalidQuantity(ErpError):
    code = "invalid_quantity"


class InvalidReference(ErpError):
    code = "invalid_reference"


# --- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    username: str
    password: str
    active: bool = True


@dataclass(frozen=True)
class Product:
    product_nr: str
    name: str
    unit: str
    unit_price: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"product_nr": self.product_nr, "name": self.name, "unit": self.unit,
                "unit_price": str(self.unit_price)}


@dataclass(frozen=True)
class OrderLine:
    id: int
    product_nr: str
    product_name: str
    quantity: str
    reference: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Worksheet:
    number: str
    customer: str
    status: str  # "open" or "closed"
    lines: list[OrderLine] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def snapshot(self) -> Worksheet:
        """A copy that later changes to this worksheet do not touch (lines are immutable)."""
        return replace(self, lines=list(self.lines))

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "customer": self.customer, "status": self.status,
                "lines": [line.to_dict() for line in self.lines]}


# --- demo data ----------------------------------------------------------------------------------------

DEMO_USERS = (
    User("admin", "gygag"),
    User("disabled", "disabled", active=False),
)

DEMO_PRODUCTS = (
    Product("10", "Motor oil 5W-30", "litre", Decimal("95.00")),
    Product("11", "Motor oil 0W-20", "litre", Decimal("115.00")),
    Product("12", "Gear oil 75W-90", "litre", Decimal("129.00")),
    Product("20", "Oil filter", "piece", Decimal("149.00")),
)

_LOAD_TEST_CUSTOMERS = (
    "Mette Nielsen", "Lars Pedersen", "Anne Andersen", "Søren Christensen", "Hanne Larsen",
    "Jens Sørensen", "Camilla Rasmussen", "Peter Jørgensen", "Louise Madsen", "Mikkel Kristensen",
)


def demo_worksheets() -> dict[str, Worksheet]:
    """558 open (Benny Hansen), 559 closed, 560-569 open for load tests; no lines yet."""
    sheets = [Worksheet("558", "Benny Hansen", "open"), Worksheet("559", "Karen Jensen", "closed")]
    sheets += [Worksheet(str(560 + i), name, "open") for i, name in enumerate(_LOAD_TEST_CUSTOMERS)]
    return {sheet.number: sheet for sheet in sheets}


# --- validation ---------------------------------------------------------------------------------------


def parse_quantity(value: object) -> Decimal:
    """A positive number (JSON number or plain decimal string), at most 3 decimals and 10000."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidQuantity("quantity must be a number or a decimal string")
    if isinstance(value, str) and not _QUANTITY_TEXT.fullmatch(value):
        raise InvalidQuantity(f"quantity {value!r} is not a plain decimal number")
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise InvalidQuantity(f"quantity {value!r} is not a number") from None
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidQuantity("quantity must be a positive number")
    if quantity > MAX_QUANTITY:
        raise InvalidQuantity(f"quantity must not exceed {MAX_QUANTITY}")
    quantity = quantity.normalize()
    if quantity.as_tuple().exponent < -MAX_QUANTITY_DECIMALS:
        raise InvalidQuantity(f"quantity must have at most {MAX_QUANTITY_DECIMALS} decimals")
    return quantity


def format_quantity(quantity: Decimal) -> str:
    """Plain notation without trailing zeros: Decimal('1E+3') -> '1000', Decimal('2.50') -> '2.5'."""
    return format(quantity.normalize(), "f")


def check_reference(value: object) -> str:
    """A non-blank string of at most 64 characters, kept exactly as given."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidReference("reference is required")
    if len(value) > MAX_REFERENCE_LENGTH:
        raise InvalidReference(f"reference must be at most {MAX_REFERENCE_LENGTH} characters")
    return value


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- the store ----------------------------------------------------------------------------------------


class Store:
    """Users, catalogue, worksheets and lines, plus simulator counters; optionally file-backed."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None, users: dict[str, str] | None = None) -> None:
        self._lock = threading.RLock()
        self._state_file = Path(state_file) if state_file else None
        self._users = {user.username: user for user in DEMO_USERS}
        self._users.update({name: User(name, password) for name, password in (users or {}).items()})
        self._products = {product.product_nr: product for product in DEMO_PRODUCTS}
        self._worksheets = demo_worksheets()
        self._next_line_id = 1
        self._counters: Counter[str] = Counter()
        if self._state_file and self._state_file.exists():
            self._load()
        else:
            self._save()

    # users

    def authenticate(self, username: object, password: object, counter_prefix: str = "") -> User:
        """The active user with these credentials; counts logins and failed logins.

        `counter_prefix` keeps channels apart: the API counts `logins`, the web UI `ui_logins`.
        """
        with self._lock:
            user = self._users.get(username) if isinstance(username, str) else None
            if user is None or not isinstance(password, str) or not _same(password, user.password):
                self._counters[f"{counter_prefix}failed_logins"] += 1
                raise InvalidCredentials("unknown user or wrong password")
            if not user.active:
                self._counters[f"{counter_prefix}failed_logins"] += 1
                raise UserInactive(f"user {username!r} is inactive")
            self._counters[f"{counter_prefix}logins"] += 1
            return user

    # catalogue

    def products(self) -> list[Product]:
        return list(self._products.values())

    def product(self, product_nr: object) -> Product:
        if not isinstance(product_nr, str):
            raise ProductNotFound("product_nr must be a string")
        try:
            return self._products[product_nr]
        except KeyError:
            raise ProductNotFound(f"product {product_nr!r} does not exist") from None

    # worksheets and lines

    def worksheets(self) -> list[Worksheet]:
        with self._lock:
            return [sheet.snapshot() for sheet in self._worksheets.values()]

    def worksheet(self, number: str) -> Worksheet:
        with self._lock:
            return self._get_worksheet(number).snapshot()

    def lines(self, number: str, reference: str | None = None) -> list[OrderLine]:
        """The worksheet's lines, only those with exactly this reference when one is given."""
        with self._lock:
            lines = self._get_worksheet(number).lines
            return [line for line in lines if reference is None or line.reference == reference]

    def add_line(self, number: str, product_nr: object, quantity: object, reference: object) -> OrderLine:
        """Validate and append a line. References are deliberately not deduplicated."""
        with self._lock:
            sheet = self._get_worksheet(number)
            if not sheet.is_open:
                raise WorksheetClosed(f"worksheet {number} is closed")
            product = self.product(product_nr)
            line = OrderLine(
                id=self._next_line_id,
                product_nr=product.product_nr,
                product_name=product.name,
                quantity=format_quantity(parse_quantity(quantity)),
                reference=check_reference(reference),
                created_at=_now_iso(),
            )
            sheet.lines.append(line)
            self._next_line_id += 1
            self._counters["lines_created"] += 1
            self._save()
            return line

    def reset(self) -> None:
        """Back to the demo data (no lines, counters zero)."""
        with self._lock:
            self._worksheets = demo_worksheets()
            self._next_line_id = 1
            self._counters.clear()
            self._save()

    # counters

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[name] += amount

    def counters(self) -> dict[str, int]:
        """The API counters always, other counters (the web UI's `ui_*`) once they are non-zero."""
        with self._lock:
            return dict.fromkeys(("requests", "logins", "failed_logins", "lines_created"), 0) | self._counters

    # internals

    def _get_worksheet(self, number: str) -> Worksheet:
        try:
            return self._worksheets[number]
        except KeyError:
            raise WorksheetNotFound(f"worksheet {number!r} does not exist") from None

    def _load(self) -> None:
        assert self._state_file is not None
        data = json.loads(self._state_file.read_text(encoding="utf-8"))
        if data.get("version") != STATE_FILE_VERSION:
            raise ValueError(f"{self._state_file}: unsupported state file version {data.get('version')!r}")
        self._next_line_id = data["next_line_id"]
        self._worksheets = {
            sheet["number"]: Worksheet(
                number=sheet["number"], customer=sheet["customer"], status=sheet["status"],
                lines=[OrderLine(**line) for line in sheet["lines"]],
            )
            for sheet in data["worksheets"]
        }

    def _save(self) -> None:
        """Write the state file atomically (temp file in the same directory, fsync, rename)."""
        if self._state_file is None:
            return
        data = {
            "version": STATE_FILE_VERSION,
            "next_line_id": self._next_line_id,
            "worksheets": [sheet.to_dict() for sheet in self._worksheets.values()],
        }
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._state_file.parent, prefix=f".{self._state_file.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as tmp:
                json.dump(data, tmp, ensure_ascii=False, indent=1)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self._state_file)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# --- sessions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    expires_at: float  # on the registry's clock


class Sessions:
    """Random bearer tokens with a fixed lifetime from login. In memory only.

    Expired sessions are remembered for another `ttl` so that their tokens answer "expired" rather
    than "unknown"; after that they are pruned.
    """

    def __init__(self, ttl: float = 1800, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError("session ttl must be positive")
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    @property
    def expires_in(self) -> int:
        """A new session's lifetime in whole seconds, as told to clients."""
        return math.ceil(self.ttl)

    def open(self, username: str) -> Session:
        with self._lock:
            now = self.clock()
            self._prune(now)
            session = Session(secrets.token_urlsafe(32), username, now + self.ttl)
            self._sessions[session.token] = session
            return session

    def resolve(self, token: str | None) -> Session:
        """The live session for `token`; raises `Unauthorized` or `SessionExpired`."""
        with self._lock:
            session = self._sessions.get(token) if token else None
            if session is None:
                raise Unauthorized("missing or unknown session token")
            if self.clock() >= session.expires_at:
                raise SessionExpired("session expired, log in again")
            return session

    def close(self, token: str | None) -> None:
        """Forget a session (logout); unknown tokens are ignored."""
        with self._lock:
            if token:
                self._sessions.pop(token, None)

    def expire_all(self) -> int:
        """Expire every session now; returns how many were live."""
        with self._lock:
            now = self.clock()
            live = [s for s in self._sessions.values() if s.expires_at > now]
            for session in live:
                self._sessions[session.token] = replace(session, expires_at=now)
            return len(live)

    def active_count(self) -> int:
        with self._lock:
            now = self.clock()
            return sum(1 for s in self._sessions.values() if s.expires_at > now)

    def _prune(self, now: float) -> None:
        stale = [token for token, s in self._sessions.items() if s.expires_at + self.ttl < now]
        for token in stale:
            del self._sessions[token]
