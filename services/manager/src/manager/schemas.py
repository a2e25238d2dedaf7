"""Requests and answers of the manager's control API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CreateIntegration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="one of the installed kinds (GET /kinds): erp, rules, ...")
    name: str = Field(min_length=1, max_length=200, description="the workshop or data source")
    settings: dict = Field(default_factory=dict, description="the kind's settings_schema (GET /kinds)")
    credentials: dict | None = Field(None, description="the kind's credentials_schema; stored encrypted, never "
                                                       "returned, handed only to the instance")
    active: bool = False
    api_port: int | None = Field(None, ge=1024, le=65535, description="default: the next free port")


class UpdateIntegration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict | None = None
    credentials: dict | None = None


class KindInfo(BaseModel):
    name: str
    description: str
    programs: list[str] = Field(description="the console scripts of its API and worker")
    runnable: bool = Field(description="whether those are installed beside this manager, so it can start instances")
    settings_schema: dict = Field(description="JSON schema of the integration's settings")
    credentials_schema: dict | None = Field(description="JSON schema of its credentials; null: it takes none")
    environment: dict[str, str] = Field(description="the environment variable each setting becomes")


class KindList(BaseModel):
    kinds: list[KindInfo]


class ReplayQuery(BaseModel):
    key: str | None = Field(None, min_length=1, max_length=200,
                            description="only this task (an order's uniqueid); default: every dead letter")


class LogsQuery(BaseModel):
    role: Literal["api", "worker"] = "api"
    lines: int = Field(100, ge=1, le=5000)


class ProcessStatus(BaseModel):
    role: str
    state: str
    desired: str
    pid: int | None
    restarts: int
    uptime_seconds: float | None
    fast_failures: int
    last_error: str | None


class Integration(BaseModel):
    id: str
    kind: str
    name: str
    settings: dict
    has_credentials: bool
    active: bool
    api_port: int
    probe_port: int
    created_at: str
    updated_at: str


class CreatedIntegration(Integration):
    api_token: str = Field(description="the instance's bearer token for callers such as OilMat; shown only now")


class Health(BaseModel):
    id: str
    kind: str
    name: str
    active: bool
    state: str = Field(description="stopped | running | restarting | partial | failed")
    processes: dict[str, ProcessStatus]
    api_alive: bool
    worker_state: str | None
    queue_length: int | None
    checked_at: float | None = Field(description="when the instance was last asked (Unix time)")
    last_error: str | None
    restarts: int


class IntegrationList(BaseModel):
    integrations: list[Health]


class Event(BaseModel):
    event: str
    detail: str | None
    at: str


class IntegrationDetail(Integration):
    health: Health
    history: list[Event]


class ActionAnswer(BaseModel):
    id: str
    action: str
    state: str
    processes: dict[str, ProcessStatus]


class TokenAnswer(BaseModel):
    id: str
    api_token: str


class ManagerAlive(BaseModel):
    manager: str
    registry: str = Field(description="ok, or unavailable while its database cannot be read")
    integrations: int | None = Field(description="registered integrations; null while the registry is unavailable")
    running: int = Field(description="integrations whose processes all run (from the supervisor)")
    failed: int
