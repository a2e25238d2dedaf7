"""The manager's settings: the runtime's plus where instances live and how they are supervised."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from hub_runtime.config import RuntimeSettings
from hub_runtime.web.cors import parse_origins


class ManagerSettings(RuntimeSettings):
    port_range_start: int = Field(8400, ge=1024, le=65000, description="first port given to instances")
    port_range_end: int = Field(8999, ge=1024, le=65535, description="last port given to instances")
    instance_host: str = Field("127.0.0.1", description="where instance APIs listen")
    restart_backoff_max_seconds: float = Field(30.0, gt=0)
    fast_failure_seconds: float = Field(10.0, gt=0, description="dying sooner after start is a fast failure")
    fatal_after_fast_failures: int = Field(5, ge=1, description="fast failures in a row before `failed`")
    stop_timeout_seconds: float = Field(10.0, gt=0, description="SIGTERM, then SIGKILL after this long")
    log_max_bytes: int = Field(5 * 2**20, ge=4096, description="rotate an instance's log file past this size")
    log_backups: int = Field(3, ge=1)
    health_timeout_seconds: float = Field(1.5, gt=0)
    health_interval_seconds: float = Field(2.0, gt=0, description="how often instances are asked for health")
    cors_origins: str = Field("", description="comma-separated browser origins allowed to call the API "
                                              "(the ILX GUI's site); empty: none")

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        parse_origins(value)
        return value

    @model_validator(mode="after")
    def _range(self):
        if self.port_range_end <= self.port_range_start:
            raise ValueError("HUB_PORT_RANGE_END must be above HUB_PORT_RANGE_START")
        return self

    @property
    def instances_dir(self) -> Path:
        return self.data_dir / "instances"
