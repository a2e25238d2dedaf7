"""create_app for one amazon-sync instance: the runtime's app factory and the seed's endpoints. The API
queues activities (committed with their outbox rows); the instance's worker publishes and runs them."""

from __future__ import annotations

from flask import Flask

from hub_runtime.config import RuntimeSettings
from hub_runtime.web.app_factory import create_app as create_runtime_app
from hub_runtime.web.openapi import OpenAPI

from .kind import AmazonSettings
from .service import AmazonService
from .web.activity_routes import activities_blueprint
from .web.connection_routes import connection_blueprint
from .web.inventory_routes import inventory_blueprint
from .web.order_routes import orders_blueprint


def create_app(settings: RuntimeSettings, amazon: AmazonSettings, name: str) -> Flask:
    service = AmazonService(settings, amazon, name, role="api")
    api = OpenAPI(f"amazon-sync: {name}", description="One Amazon seller's orders, order items and inventory "
                  "reports from the Selling Partner API, into SQL tables and CSV exports. Send the instance's "
                  "API token as a bearer token.")
    app = create_runtime_app(service.runtime, api, [
        connection_blueprint(service, api),
        orders_blueprint(service, api),
        inventory_blueprint(service, api),
        activities_blueprint(service, api),
    ], cancel_running=True)  # /clear_queue stops running fetches too: every step is idempotent
    app.config.update(SERVICE=service)  # bodies up to the runtime's 1 MiB: 10,000 order ids fit many times
    return app
