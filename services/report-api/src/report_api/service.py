"""What one report-api instance is made of, shared by its API and worker processes."""

from __future__ import annotations

from pathlib import Path

from hub_runtime.db import migrate
from hub_runtime.runtime import Instance, Runtime

from .auth import Auth, load_or_create_key
from .reports import Reports
from .schedules import Schedules
from .settings import ReportSettings
from .sources import ReportSource, SourceEnv, load_sources
from .storage import Storage

MIGRATIONS = Path(__file__).parent / "migrations"


class ReportService:
    """`sources`: the report sources served, by name; by default the installed ones `HUB_REPORT_SOURCES`
    names (all installed ones when it is empty)."""

    def __init__(self, settings: ReportSettings, name: str, role: str,
                 sources: dict[str, ReportSource] | None = None):
        self.settings = settings
        self.sources = sources if sources is not None else load_sources(settings.source_names)
        self.runtime = Runtime(settings, Instance(settings.kind, name), role=role)
        migrate(self.runtime.engine, MIGRATIONS, "alembic_version_report")
        sessions = self.runtime.sessions
        self.storage = Storage(settings.storage_dir(self.runtime.instance.slug))
        self.reports = Reports(SourceEnv(settings, sessions, self.storage), self.runtime.tasks, self.sources)
        self.schedules = Schedules(sessions, self.runtime.instance.id, self.reports, self.storage)
        key = settings.jwt_secret.get_secret_value() if settings.jwt_secret else load_or_create_key(settings.data_dir)
        self.auth = Auth(sessions, self.runtime.instance.id, key, access_minutes=settings.access_token_minutes,
                         refresh_days=settings.refresh_token_days, max_failures=settings.login_max_failures,
                         max_failures_per_ip=settings.login_max_failures_per_ip,
                         window_seconds=settings.login_window_seconds)
