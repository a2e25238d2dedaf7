"""Amazon's values as the records keep them: times as aware UTC datetimes, money as exact Decimals, shipment
service levels as their category."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

SERVICE_LEVELS = ("Expedited", "FreeEconomy", "NextDay", "Priority", "SameDay", "SecondDay", "Scheduled",
                  "Standard")  # Orders v0's ShipmentServiceLevelCategory values
_LEVEL_KEYS = {level.casefold(): level for level in SERVICE_LEVELS}
_LEVEL_PREFIXES = (("std", "Standard"), ("standard", "Standard"), ("exp", "Expedited"), ("next", "NextDay"),
                   ("second", "SecondDay"), ("same", "SameDay"), ("free", "FreeEconomy"), ("econ", "FreeEconomy"),
                   ("prio", "Priority"), ("sched", "Scheduled"))


def utc(text: str) -> datetime:
    """An ISO 8601 time (`Z`, an offset, or none: UTC) as an aware UTC datetime; ValueError if unreadable."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def decimal(text: str | None) -> Decimal | None:
    """An amount as written by Amazon's APIs or flat files ("12.99", "12,99", "1.234,56", "1,234.56", "-5");
    None when empty. ValueError if unreadable."""
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    if "," in text:
        if "." in text:  # the later separator is the decimal one
            text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") \
                else text.replace(",", "")
        else:
            text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None


def integer(text: str | None) -> int | None:
    """A count ("3", "3.0"); None when empty. ValueError if unreadable or not whole."""
    amount = decimal(text)
    if amount is None:
        return None
    if amount != amount.to_integral_value():
        raise ValueError(f"not a whole number: {text!r}")
    return int(amount)


def money(value: dict | None) -> tuple[Decimal | None, str | None]:
    """An API Money object (`Amount`/`CurrencyCode` of Orders v0, `amount`/`currencyCode` of 2026-01-01) as
    (amount, currency); (None, None) when absent."""
    if not isinstance(value, dict):
        return None, None
    amount = value.get("Amount", value.get("amount"))
    currency = value.get("CurrencyCode", value.get("currencyCode"))
    return decimal(amount), currency or None


def service_level(value: str | None) -> str | None:
    """A shipment service level as its v0 category: `STANDARD` (2026), `Standard` (v0), `Std UK Dom_1` (a
    merchant's level, as the flat file and v0's ShipServiceLevel write it) are all `Standard`. A level that
    names no category is kept as it is."""
    if not value:
        return None
    key = value.replace("_", "").replace(" ", "").casefold()
    if key in _LEVEL_KEYS:
        return _LEVEL_KEYS[key]
    for prefix, level in _LEVEL_PREFIXES:
        if key.startswith(prefix):
            return level
    return value
