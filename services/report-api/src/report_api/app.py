"""create_app for one report-api instance: the runtime's app factory and the user-facing blueprints. The
API only commits the reports it queues; the instance's report-worker publishes them (`hub_runtime.outbox`)."""

from __future__ import annotations

from flask import Flask

from hub_runtime.web.app_factory import create_app as create_runtime_app
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import OpenAPI

from .service import ReportService
from .settings import ReportSettings
from .sources import ReportSource
from .web.auth_routes import auth_blueprint, bearer_user
from .web.files import StagingRequest, drop_unrecorded_parts
from .web.report_routes import reports_blueprint
from .web.schedule_routes import schedules_blueprint
from .web.source_routes import SourceRoutes, json_routes


def create_app(settings: ReportSettings, name: str, sources: dict[str, ReportSource] | None = None) -> Flask:
    """`sources`: as for `ReportService` (by default the installed ones the settings name)."""
    service = ReportService(settings, name, role="api", sources=sources)
    runtime = service.runtime
    api = OpenAPI(f"report-api: {name}", user_auth=bearer_user(service.auth),
                  description=f"Reports from {', '.join(service.sources)}, on demand or on a cron schedule. "
                              "Log in at /api/auth/login/ and send the access token as a bearer token.")
    source_blueprints = [(source.routes or json_routes)(SourceRoutes(
        source, api, settings, service.storage, service.reports, service.schedules))
        for source in service.sources.values()]
    app = create_runtime_app(runtime, api, [
        auth_blueprint(service.auth, api),
        reports_blueprint(service.storage, service.reports, api),
        schedules_blueprint(service.reports, service.schedules, api),
        *source_blueprints,
    ], cancel_running=True)  # /clear_queue stops running reports too: nothing is written until one is done
    app.request_class = StagingRequest
    app.config.update(STORAGE=service.storage, MAX_CONTENT_LENGTH=settings.max_upload_bytes, SERVICE=service)
    app.teardown_request(drop_unrecorded_parts)

    @app.errorhandler(413)
    def _too_large(_exc):
        error = ApiError(413, "upload_too_large", f"the request is larger than this instance accepts "
                         f"({settings.max_upload_bytes} bytes, HUB_MAX_UPLOAD_BYTES)")
        return app.handle_user_exception(error)

    return app
