"""Reading and checking request values the way SP-API does: ISO 8601 date-times, comma-separated (or
repeated) list parameters, bounded integers, marketplace ids, and the opaque signed pagination tokens."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping

from werkzeug.datastructures import MultiDict

from .errors import invalid_input
from .marketplaces import BY_ID, ELSEWHERE

_ISO = re.compile(r"\d{4}-?\d{2}-?\d{2}([T ].+)?")


def iso_datetime(value: object, name: str) -> float:
    """Epoch seconds of an ISO 8601 date or date-time (UTC when it names no offset)."""
    if not isinstance(value, str) or not _ISO.fullmatch(value.strip()):
        raise invalid_input(f"Invalid date-time field(s) [{name}].", f"{value!r} is not an ISO 8601 date-time.")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid_input(f"Invalid date-time field(s) [{name}].",
                            f"{value!r} is not an ISO 8601 date-time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def optional_datetime(args: Mapping[str, str], name: str) -> float | None:
    value = args.get(name)
    return None if value is None else iso_datetime(value, name)


def list_param(args: MultiDict, name: str) -> list[str] | None:
    """A list query parameter, comma-separated and/or repeated; None when absent."""
    if name not in args:
        return None
    return [part.strip() for value in args.getlist(name) for part in value.split(",") if part.strip()]


def check_enum(values: Iterable[str], allowed: Iterable[str], name: str) -> list[str]:
    allowed = list(allowed)
    values = list(values)
    bad = [value for value in values if value not in allowed]
    if bad:
        raise invalid_input(f"Invalid value(s) for {name}: {', '.join(bad)}.",
                            f"Valid values are: {', '.join(allowed)}.")
    return values


def check_count(values: list, name: str, low: int, high: int) -> list:
    if not low <= len(values) <= high:
        raise invalid_input(f"{name} must contain between {low} and {high} values.")
    return values


def int_param(args: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    value = args.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise invalid_input(f"{name} must be an integer between {low} and {high}.") from None
    if not low <= number <= high:
        raise invalid_input(f"{name} must be an integer between {low} and {high}.", f"{name}={value}")
    return number


def marketplace_ids(values: list[str], allowed: Iterable[str], name: str) -> list[str]:
    """Each id must name a marketplace the seller sells in."""
    allowed = set(allowed)
    for value in values:
        if value not in BY_ID and value not in ELSEWHERE:
            raise invalid_input(f"Invalid {name}: {value} is not a valid marketplace identifier.")
        if value not in allowed:
            raise invalid_input(f"Invalid {name}: the seller is not registered in marketplace {value}.")
    return list(dict.fromkeys(values))


class Signer:
    """Opaque, tamper-proof tokens (pagination tokens, document URLs): base64url JSON plus an HMAC."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def dumps(self, payload: dict) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def loads(self, token: str) -> dict | None:
        """The payload, or None for a token this signer did not make (or that was changed)."""
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]
