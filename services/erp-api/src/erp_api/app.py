"""create_app for one workshop: the runtime's app factory plus the orders blueprint and the outbox relay."""

from __future__ import annotations

from flask import Flask

from hub_runtime.config import RuntimeSettings
from hub_runtime.outbox import OutboxRelay
from hub_runtime.runtime import Instance, Runtime
from hub_runtime.web.app_factory import create_app as create_runtime_app
from hub_runtime.web.openapi import OpenAPI

from .routes import orders_blueprint


def create_app(settings: RuntimeSettings, workshop: str, *, start_relay: bool = True) -> Flask:
    runtime = Runtime(settings, Instance("erp", workshop), role="api")
    relay = OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id,
                        poll_seconds=settings.outbox_poll_seconds)
    api = OpenAPI(f"erp-api: {workshop}", description="Order intake for one workshop's ERP (OilMat orders).")
    app = create_runtime_app(runtime, api, [orders_blueprint(runtime, api, relay)])
    app.config["RELAY"] = relay
    if start_relay:
        relay.start()
    return app
