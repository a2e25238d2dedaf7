"""Integration kinds: what settings each kind takes and which processes make one of its instances.
A new kind (gcore, rules, amazon...) is one `Kind` registered in `KINDS`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class ProcessSpec:
    """One process of an instance: `role` is `api` or `worker`."""

    role: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None  # what the supervisor may probe over HTTP once it runs


class ErpSettings(BaseModel):
    """An ERP integration (one workshop): which adapter drives which ERP."""

    model_config = ConfigDict(extra="forbid")

    adapter: str = Field("http", pattern=r"^(http|selenium-[a-z0-9-]+)$",
                         description="erp_worker adapter key: http, selenium-demo, ...")
    base_url: str = Field(pattern=r"^https?://\S+$", description="the ERP's base URL")
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    api_workers: int = Field(1, ge=1, le=8, description="erp-api processes (see docs/erp-orders.md, Intake)")


class ErpCredentials(BaseModel):
    """Default ERP login of the workshop (orders may carry their own)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500)


@dataclass(frozen=True)
class Kind:
    name: str
    settings: type[BaseModel]
    credentials: type[BaseModel] | None
    programs: ClassVar[tuple[str, ...]] = ()  # the console scripts of its API and its worker

    def processes(self, integration_name: str, api_port: int, probe_port: int, host: str,
                  settings: dict) -> list[ProcessSpec]:
        raise NotImplementedError


class ErpKind(Kind):
    programs = ("erp-api", "erp-worker")

    def processes(self, integration_name, api_port, probe_port, host, settings):
        api, worker = self.programs
        env = {"HUB_ERP_ADAPTER": settings["adapter"], "HUB_ERP_BASE_URL": settings["base_url"],
               "HUB_ERP_TIMEOUT_SECONDS": str(settings.get("timeout_seconds", 10.0)),
               "HUB_API_WORKERS": str(settings.get("api_workers", 1)),
               "HUB_PROBE_PORT": str(probe_port), "HUB_HOST": host}
        return [
            ProcessSpec("api", [api, str(api_port), integration_name, "--host", host], env, "/alive"),
            ProcessSpec("worker", [worker, integration_name], env, "/alive"),
        ]


class RulesSettings(BaseModel):
    """A report instance running the CSV rules engine (report-api + report-worker)."""

    model_config = ConfigDict(extra="forbid")

    max_upload_bytes: int = Field(8 * 2**30, ge=1024, description="largest accepted upload (413 above)")
    access_token_minutes: float = Field(15.0, gt=0, le=24 * 60)
    scheduler_poll_seconds: float = Field(1.0, gt=0, le=60)
    api_workers: int = Field(1, ge=1, le=8, description="report-api processes")


class RulesKind(Kind):
    programs = ("report-api", "report-worker")

    def processes(self, integration_name, api_port, probe_port, host, settings):
        api, worker = self.programs
        env = {"HUB_MAX_UPLOAD_BYTES": str(settings.get("max_upload_bytes", 8 * 2**30)),
               "HUB_ACCESS_TOKEN_MINUTES": str(settings.get("access_token_minutes", 15.0)),
               "HUB_SCHEDULER_POLL_SECONDS": str(settings.get("scheduler_poll_seconds", 1.0)),
               "HUB_API_WORKERS": str(settings.get("api_workers", 1)),
               "HUB_PROBE_PORT": str(probe_port), "HUB_HOST": host}
        return [
            ProcessSpec("api", [api, str(api_port), integration_name, "--host", host], env, "/alive"),
            ProcessSpec("worker", [worker, integration_name], env, "/alive"),
        ]


KINDS: dict[str, Kind] = {
    "erp": ErpKind("erp", ErpSettings, ErpCredentials),
    "rules": RulesKind("rules", RulesSettings, None),
}
