"""report-api settings: the runtime's, plus user auth, upload limits and the scheduler."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from hub_runtime.config import RuntimeSettings


class ReportSettings(RuntimeSettings):
    jwt_secret: SecretStr | None = Field(
        None, description="key signing users' tokens; unset: a random key kept in the data folder")
    access_token_minutes: float = Field(15.0, gt=0, le=24 * 60)
    refresh_token_days: float = Field(7.0, gt=0, le=90)
    login_max_failures: int = Field(5, ge=1, le=1000, description="failed logins per email per window")
    login_max_failures_per_ip: int = Field(30, ge=1, le=100000, description="failed logins per address per window")
    login_window_seconds: float = Field(900.0, gt=0, description="the rate-limit window of failed logins")
    max_upload_bytes: int = Field(8 * 2**30, ge=1024, description="largest accepted request body (413 above)")
    max_rules_bytes: int = Field(1 * 2**20, ge=128, description="largest accepted rules file")
    scheduler_poll_seconds: float = Field(1.0, gt=0, le=60, description="how often workers look for due schedules")
    report_retention_days: float = Field(30.0, gt=0, description="generated reports are deleted after this")

    def storage_dir(self, instance_slug: str) -> Path:
        """Uploads and generated reports of one instance."""
        return self.data_dir / "reports" / instance_slug
