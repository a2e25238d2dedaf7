"""The `rules` kind: a report-api instance whose users turn uploaded CSV files into reports by JSON/YAML
rules (report-api + report-worker). Its settings are read by `ReportSettings` under the same names."""

from __future__ import annotations

from pydantic import Field

from hub_runtime.kinds import InstanceSettings, Kind


class RulesSettings(InstanceSettings):
    """What an operator sets per rules instance (environment: HUB_<FIELD>)."""

    max_upload_bytes: int = Field(8 * 2**30, ge=1024, description="largest accepted request body (413 above)")
    access_token_minutes: float = Field(15.0, gt=0, le=24 * 60, description="lifetime of a user's access token")
    scheduler_poll_seconds: float = Field(1.0, gt=0, le=60, description="how often workers look for due schedules")
    report_retention_days: float = Field(30.0, gt=0, description="generated reports are deleted after this")


KIND = Kind(
    name="rules",
    description="a report instance: uploaded CSV files turned into reports by JSON/YAML rules, "
                "on demand or on a cron schedule",
    settings=RulesSettings,
    credentials=None,
    api="report-api",
    worker="report-worker",
    extra_env=lambda settings: {"HUB_REPORT_SOURCES": "rules"},  # serves the rules source only
)
