"""Requests and answers of erp-api. Field names follow the OilMat contract (the old order API's, which the
pumps post)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)


def _decimal_text(value) -> str:
    """Amounts arrive as "5", 5 or 5.5; keep an exact decimal string."""
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValueError("must be a number") from None
    if not number.is_finite() or number <= 0:
        raise ValueError("must be a positive number")
    if number > 100000:
        raise ValueError("must be at most 100000")
    if number.as_tuple().exponent < -3:
        raise ValueError("must have at most 3 decimals")
    return format(number.normalize(), "f")


AMOUNT_SCHEMA = {"anyOf": [
    {"type": "number", "exclusiveMinimum": 0, "maximum": 100000},
    {"type": "string", "pattern": r"^\s*[0-9]{1,6}([.,][0-9]{1,3})?\s*$"},
]}

def _utf8(value: str) -> str:
    """JSON may carry lone surrogates (\\ud800) that no database or ERP can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_utf8)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_utf8)]
UniqueId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120,
                                            pattern=r"^[A-Za-z0-9._:\-]+$")]


class CreateOrder(BaseModel):
    """One pumped-oil order. Unknown extra fields are ignored for compatibility."""

    model_config = ConfigDict(coerce_numbers_to_str=True, extra="ignore")

    workshop: Text
    worksheet: Code = Field(description="the customer's worksheet number in the ERP")
    product_nr: Code = Field(description="the ERP's product number of the oil")
    product_amount: Annotated[str, BeforeValidator(_decimal_text), WithJsonSchema(AMOUNT_SCHEMA)] = Field(
        description="quantity, e.g. 5 or \"4.5\": positive, at most 100000, at most 3 decimals")
    uniqueid: UniqueId = Field(description="idempotency key; written into the order line's reference")
    username: Text | None = Field(None, description="ERP user (stored encrypted, never shown); with `password`, "
                                  "or neither: then the workshop's login stored in the manager is used")
    password: Annotated[SecretStr, AfterValidator(lambda s: SecretStr(_utf8(s.get_secret_value())))] | None = Field(
        None, min_length=1, max_length=500, description="ERP password (stored encrypted)")

    @model_validator(mode="after")
    def _login_complete(self):
        if (self.username is None) != (self.password is None):
            missing = "password" if self.password is None else "username"
            raise ValueError(f"username and password come together (or neither, for the workshop's stored "
                             f"login): {missing} is missing")
        return self

    def public(self) -> dict:
        return {"workshop": self.workshop, "worksheet": self.worksheet, "product_nr": self.product_nr,
                "product_amount": self.product_amount, "uniqueid": self.uniqueid}

    def credentials(self) -> dict | None:
        """The order's own ERP login, or None: the worker then uses the workshop's stored one."""
        if self.username is None or self.password is None:
            return None
        return {"username": self.username, "password": self.password.get_secret_value()}


class OrderAccepted(BaseModel):
    uniqueid: str
    status: str
    duplicate: bool
    message: str


class StatusQuery(BaseModel):
    uniqueid: UniqueId


class HistoryEntry(BaseModel):
    status: str
    at: str
    detail: str | None


class ArtifactLink(BaseModel):
    name: str
    size: int
    url: str


class OrderStatus(BaseModel):
    uniqueid: str
    status: str = Field(description="placed | processing | created | error | cancelled")
    reason_code: str | None
    reason_text: str | None
    order: dict
    line: dict | None
    attempts: int
    created_at: str
    updated_at: str
    history: list[HistoryEntry]
    artifacts: list[ArtifactLink] = Field(description="screenshots and pages saved when the ERP failed")
