"""create_app for one workshop: the runtime's app factory plus the orders blueprint. The API only commits
orders (with their outbox rows); the workshop's erp-worker publishes them (`hub_runtime.outbox`)."""

from __future__ import annotations

from flask import Flask

from hub_runtime.config import RuntimeSettings
from hub_runtime.runtime import Instance, Runtime
from hub_runtime.web.app_factory import create_app as create_runtime_app
from hub_runtime.web.openapi import OpenAPI

from .routes import orders_blueprint


def create_app(settings: RuntimeSettings, workshop: str) -> Flask:
    runtime = Runtime(settings, Instance("erp", workshop), role="api")
    api = OpenAPI(f"erp-api: {workshop}", description="Order intake for one workshop's ERP (OilMat orders).")
    return create_runtime_app(runtime, api, [orders_blueprint(runtime, api)])
