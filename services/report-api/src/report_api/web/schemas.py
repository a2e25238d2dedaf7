"""Request and answer models of report-api's HTTP API (they also make its OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(max_length=320, pattern=EMAIL)
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1024, description="at least 8 characters")
    phone_number: str | None = Field(None, max_length=40, pattern=r"^\+?[0-9 ()-]{3,40}$")


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh: str = Field(min_length=1, max_length=4096)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    phone_number: str | None = None


class TokensOut(BaseModel):
    user: UserOut
    access: str
    refresh: str


class RefreshedOut(BaseModel):
    access: str
    refresh: str


class Message(BaseModel):
    message: str


class GenerateOut(BaseModel):
    task_id: str
    state: str
    status_url: str


class Progress(BaseModel):
    fraction: float
    rows_done: int


class HistoryEntry(BaseModel):
    status: str
    at: str | None
    detail: str | None


class ReportOut(BaseModel):
    task_id: str
    source: str = Field(description="the report source that makes it (rules, ...)")
    state: str = Field(description="placed, processing, finished (ready to download), error or cancelled")
    progress: Progress
    rows: int | None
    error_rows: int | None
    errors_by_column: dict[str, int] | None
    reason_code: str | None
    reason_text: str | None
    format: str = Field(description="the report file's format")
    params: dict = Field(description="what was asked for: the source's parameters")
    schedule_id: str | None
    inputs: dict[str, str | None] = Field(description="the uploads it reads (kind -> id); empty for a source "
                                                      "without uploads")
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    output_bytes: int | None
    download_url: str | None
    summary: dict | None = Field(None, description="what the source's job reported when it ended (e.g. gcore: "
                                 "the Gcore report of each product, and the products that failed and why)")
    history: list[HistoryEntry]


class ReportList(BaseModel):
    reports: list[ReportOut]


class ScheduleOut(BaseModel):
    id: str
    name: str
    cron: str
    source: str
    params: dict
    paused: bool
    format: str = Field(description="the format of the reports it makes")
    inputs: dict[str, str | None]
    next_run_at: str | None
    next_runs: list[str]
    last_run_at: str | None
    last_task_id: str | None
    runs: int
    missed_ticks: int
    detail: str | None
    created_at: str | None


class ScheduleCreated(ScheduleOut):
    message: str


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]


class SourceOut(BaseModel):
    name: str
    summary: str
    uses_uploads: bool
    params: dict = Field(description="the JSON schema of its parameters")


class SourceList(BaseModel):
    sources: list[SourceOut]
