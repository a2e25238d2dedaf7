"""create_app for the manager: registry, supervisor and control API over one database."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from hub_runtime.db import make_engine, make_sessions, migrate
from hub_runtime.secrets import SecretBox
from hub_runtime.web.app_factory import create_service_app
from hub_runtime.web.cors import CorsAllowList, parse_origins
from hub_runtime.web.openapi import OpenAPI

from .registry import Registry
from .routes import manager_blueprint
from .service import Manager
from .settings import ManagerSettings
from .supervisor import LocalProcessBackend, Supervisor

MIGRATIONS = Path(__file__).with_name("migrations")


def build_manager(settings: ManagerSettings) -> Manager:
    engine = make_engine(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
    migrate(engine, MIGRATIONS, "alembic_version_manager")
    secret = settings.secret_keys.get_secret_value() if settings.secret_keys else None
    registry = Registry(make_sessions(engine), SecretBox.from_setting(secret, settings.data_dir),
                        (settings.port_range_start, settings.port_range_end))
    supervisor = Supervisor(
        LocalProcessBackend(), settings.instances_dir, on_event=registry.record,
        backoff_max=settings.restart_backoff_max_seconds, fast_failure_seconds=settings.fast_failure_seconds,
        fatal_after=settings.fatal_after_fast_failures, stop_timeout=settings.stop_timeout_seconds,
        log_max_bytes=settings.log_max_bytes, log_backups=settings.log_backups)
    return Manager(settings, registry, supervisor, engine)


def create_app(settings: ManagerSettings, manager: Manager | None = None) -> Flask:
    manager = manager or build_manager(settings)
    api = OpenAPI("manager", description="Integration registry, supervision and health for the ILX GUI.")
    app = create_service_app("manager", settings.api_token.get_secret_value(), api,
                             [manager_blueprint(manager, api)])
    app.config["MANAGER"] = manager
    if origins := parse_origins(settings.cors_origins):
        app.wsgi_app = CorsAllowList(app.wsgi_app, origins)
    return app
