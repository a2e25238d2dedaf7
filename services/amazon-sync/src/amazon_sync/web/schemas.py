"""The request bodies and queries of amazon-sync's API, as the seed's Amazon connector named them. An
`access_token` in a body is accepted and not needed: the instance has the seller's credentials."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..marketplaces import BY_CODE, INVENTORY_CODES, MARKETPLACES
from ..spapi.reports import SCHEDULE_PERIODS

MAX_DAYS = 30
LATEST_END = timedelta(minutes=2)  # Amazon refuses a CreatedBefore closer to now
ORDER_ID = r"^\d{3}-\d{7}-\d{7}$"
INVENTORY_REPORT = "GET_FBA_MYI_ALL_INVENTORY_DATA"
PASSWORD = {"format": "password", "writeOnly": True}


class Lenient(BaseModel):
    """A body that tolerates the fields the seed's clients send and the hub does not need."""

    model_config = ConfigDict(extra="ignore")


def marketplace_id_field(value: str) -> str:
    if value not in MARKETPLACES:
        valid = ", ".join(f"{m.id} ({m.code})" for m in MARKETPLACES.values())
        raise ValueError(f"unknown marketplace; valid: {valid}")
    return value


def parse_moment(value: str, end: bool) -> datetime:
    """`YYYY-MM-DD` (a whole day: its start, or for an end its last second) or ISO 8601 with a zone (UTC
    when none is given)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max.replace(microsecond=0) if end else time.min, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be YYYY-MM-DD or ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Credentials(Lenient):
    """The seed's connection body; every field optional: without them the stored credentials are used."""

    appId: str | None = Field(None, min_length=1, max_length=200)
    clientSecret: str | None = Field(None, min_length=1, max_length=500, json_schema_extra={"format": "password"})
    refreshToken: str | None = Field(None, min_length=1, max_length=2000, json_schema_extra={"format": "password"})

    @model_validator(mode="after")
    def _all_or_none(self) -> Credentials:
        given = [self.appId, self.clientSecret, self.refreshToken]
        if any(given) and not all(given):
            raise ValueError("give appId, clientSecret and refreshToken together, or none to use the stored ones")
        return self

    def given(self) -> bool:
        return self.appId is not None


class FetchData(Lenient):
    access_token: str | None = Field(None, description="accepted and not needed", json_schema_extra=PASSWORD)
    marketplace_id: str
    start_date: str = Field(description="YYYY-MM-DD or ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)")
    end_date: str = Field(description="at most 30 days after start_date and at least 2 minutes before now")
    max_orders: int | None = Field(None, ge=1, le=1_000_000)
    auto_save: bool = Field(True, description="accepted; orders are always saved in the instance's tables")

    _marketplace = field_validator("marketplace_id")(classmethod(lambda cls, v: marketplace_id_field(v)))

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """(start, end) in UTC, or `WindowError` naming the field and the rule broken."""
        start, end = moment_of(self.start_date, "start_date", False), moment_of(self.end_date, "end_date", True)
        now = now or datetime.now(UTC)
        if end <= start:
            raise WindowError("end_date", "end_date must be after start_date")
        if end > now - LATEST_END:
            latest = now - LATEST_END
            raise WindowError("end_date", f"end_date must be at least 2 minutes before now "
                              f"({latest:%Y-%m-%dT%H:%M:%SZ}); Amazon refuses later ones")
        if end - start > timedelta(days=MAX_DAYS):
            raise WindowError("end_date", f"at most {MAX_DAYS} days per request (asked: {(end - start).days + 1} "
                              "days); split the range")
        return start, end


class WindowError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def moment_of(value: str, field: str, end: bool) -> datetime:
    try:
        return parse_moment(value, end)
    except ValueError as exc:
        raise WindowError(field, f"{field} {exc}") from None


class FetchMissingItems(Lenient):
    access_token: str | None = Field(None, description="accepted and not needed", json_schema_extra=PASSWORD)
    marketplace_id: str
    order_ids: list[str] = Field(default_factory=list, max_length=10_000,
                                 description="Amazon order ids (none: every stored order without items)")

    _marketplace = field_validator("marketplace_id")(classmethod(lambda cls, v: marketplace_id_field(v)))

    @field_validator("order_ids")
    @classmethod
    def _order_ids(cls, value: list[str]) -> list[str]:
        bad = [order_id for order_id in value if not re.fullmatch(ORDER_ID, order_id)]
        if bad:
            raise ValueError(f"not Amazon order ids (###-#######-#######): {', '.join(bad[:5])}")
        return list(dict.fromkeys(value))


class Download(Lenient):
    cache_key: str | None = Field(None, max_length=200,
                                  description="from fetch-data's answer, or GET download-processed lists them")
    data_type: Literal["mssql", "azure"] = "mssql"
    marketplace_id: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    raw: bool = Field(False, description="cells as stored, without neutralising spreadsheet formulas")

    _marketplace = field_validator("marketplace_id")(classmethod(lambda cls, v: v and marketplace_id_field(v)))


def _codes(value: list[str] | None) -> list[str]:
    codes = [code.strip().upper() for code in (value or []) if code.strip()] or list(INVENTORY_CODES)
    bad = [code for code in codes if code not in INVENTORY_CODES]
    if bad:
        raise ValueError(f"unknown marketplace {', '.join(bad)}; valid: {', '.join(INVENTORY_CODES)}")
    return list(dict.fromkeys(codes))


class InventoryRequest(Lenient):
    marketplaces: list[str] | None = Field(None, description=f"codes among {', '.join(INVENTORY_CODES)} (default all)")

    @field_validator("marketplaces")
    @classmethod
    def _valid(cls, value):
        return _codes(value)

    def codes(self) -> list[str]:
        return self.marketplaces or list(INVENTORY_CODES)


class ScheduleRequest(Lenient):
    reportType: str = INVENTORY_REPORT
    period: str = Field(description=f"one of Amazon's periods: {', '.join(SCHEDULE_PERIODS)}")
    nextReportCreationTime: str | None = None
    timeZone: str | None = Field(None, max_length=64, description="the time zone of a nextReportCreationTime "
                                 "without an offset (IANA name); UTC when unset")
    reportOptions: dict[str, str] | None = None
    marketplaces: list[str] | None = None

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value not in SCHEDULE_PERIODS:
            hint = " (for a day, say P1D)" if value.upper() == "PT24H" else ""
            raise ValueError(f"{value!r} is not one of Amazon's schedule periods{hint}: "
                             f"{', '.join(SCHEDULE_PERIODS)}")
        return value

    @field_validator("marketplaces")
    @classmethod
    def _valid(cls, value):
        return _codes(value)

    @field_validator("reportType")
    @classmethod
    def _report_type(cls, value: str) -> str:
        if not value.isupper() or not value.startswith("GET_") or len(value) > 100:
            raise ValueError("must be an SP-API report type such as GET_FBA_MYI_ALL_INVENTORY_DATA")
        return value

    def codes(self) -> list[str]:
        return self.marketplaces or list(INVENTORY_CODES)

    def next_creation(self) -> datetime | None:
        if self.nextReportCreationTime is None:
            return None
        moment = datetime.fromisoformat(self.nextReportCreationTime.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            try:
                moment = moment.replace(tzinfo=ZoneInfo(self.timeZone) if self.timeZone else UTC)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timeZone {self.timeZone!r}") from None
        return moment.astimezone(UTC)


class ScheduleListQuery(Lenient):
    marketplaces: str | None = Field(None, description="codes, comma-separated (default IT,DE,UK)")
    reportTypes: str = INVENTORY_REPORT
    pageSize: int | None = Field(None, ge=1, le=100)

    @field_validator("marketplaces")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        return value and ",".join(_codes(value.split(",")))

    def codes(self) -> list[str]:
        return _codes(self.marketplaces.split(",") if self.marketplaces else None)


class CancelScheduleQuery(Lenient):
    marketplace: str = Field("UK", description="the schedule's marketplace code (its region)")

    @field_validator("marketplace")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.upper() not in BY_CODE:
            raise ValueError(f"unknown marketplace {value!r}; valid: {', '.join(BY_CODE)}")
        return value.upper()


class ActivityQuery(Lenient):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(10, ge=1, le=100)
    marketplace_id: str | None = Field(None, max_length=20)
    status: Literal["pending", "in_progress", "completed", "failed", "cancelled"] | None = None
    activity_type: Literal["orders", "items", "inventory", "sync"] | None = None
    search: str | None = Field(None, max_length=200)
    date_from: str | None = Field(None, description="ISO date or time")
    date_to: str | None = Field(None, description="ISO date or time (a date: through its end)")


class StatsQuery(Lenient):
    days: int = Field(30, ge=1, le=3650)
    marketplace_id: str | None = Field(None, max_length=20)


class SyncRequest(Lenient):
    marketplace_ids: list[str] | None = Field(None, description="default: the instance's marketplaces")
    initial_days: int = Field(1, ge=1, le=30, description="how far back a marketplace's first sync looks")

    @field_validator("marketplace_ids")
    @classmethod
    def _known(cls, value):
        return value and [marketplace_id_field(v) for v in value]


class SyncScheduleRequest(Lenient):
    name: str = Field(min_length=1, max_length=200)
    cron: str = Field(min_length=1, max_length=120, description="5 fields (minute hour day month weekday)")
    marketplace_ids: list[str] | None = Field(None, description="default: the instance's marketplaces")

    @field_validator("marketplace_ids")
    @classmethod
    def _known(cls, value):
        return value and [marketplace_id_field(v) for v in value]
