"""HTTP entrypoints of erp-api (the old order API's paths): POST /create and GET /get_order_status."""

from __future__ import annotations

from flask import jsonify, send_file

from hub_runtime.artifacts import ArtifactStore
from hub_runtime.errors import IdempotencyConflict
from hub_runtime.jsonlog import bind
from hub_runtime.metrics import TASKS_DUPLICATE, TASKS_RECEIVED
from hub_runtime.runtime import Runtime
from hub_runtime.web.app_factory import note_request
from hub_runtime.web.errors import ApiError
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from .handlers import ORDER_KIND, WrongWorkshop, place_order, status_view
from .schemas import CreateOrder, OrderAccepted, OrderStatus, StatusQuery


def orders_blueprint(runtime: Runtime, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("orders", __name__)
    instance = runtime.instance
    artifacts = ArtifactStore(runtime.settings.artifact_dir)
    retention = runtime.settings.artifact_retention_hours * 3600
    received = TASKS_RECEIVED.labels(instance.id, ORDER_KIND)  # looked up once, not per request
    duplicates = TASKS_DUPLICATE.labels(instance.id)
    stored_login = runtime.settings.credentials is not None

    @api.operation(bp, "/create", "POST", body=CreateOrder, tag="orders",
                   responses={200: OrderAccepted, 400: ErrorBody, 409: ErrorBody},
                   summary="queue an order line for the workshop's ERP (idempotent on uniqueid)")
    def create(body: CreateOrder):
        bind(uniqueid=body.uniqueid)  # on every log line of this request, the access line too
        if body.username is None and not stored_login:
            raise ApiError(400, "credentials_missing", "the order carries no ERP login and the workshop has none "
                           "stored in the manager", {"username": "is required", "password": "is required"})
        try:
            submitted = place_order(runtime.tasks, instance, body)
        except WrongWorkshop:
            raise ApiError(400, "wrong_workshop", f"this instance serves {instance.name!r}, "
                           f"not {body.workshop!r}", {"workshop": "names another workshop"}) from None
        except IdempotencyConflict:
            raise ApiError(409, "uniqueid_conflict", "this uniqueid was already used for a different "
                           "order", {"uniqueid": "already used with another body"}) from None
        if submitted.created:
            received.inc()
            # said on the request's access line (one line per order): "POST /create 200: order accepted"
            note_request("order accepted", worksheet=body.worksheet, product_nr=body.product_nr,
                         amount=body.product_amount)
        else:
            duplicates.inc()
            note_request("duplicate order; answered with the existing one")
        task = submitted.task
        return jsonify(uniqueid=task.key, status=task.status, duplicate=not submitted.created,
                       message="order queued" if submitted.created else "order already received")

    @api.operation(bp, "/get_order_status", "GET", query=StatusQuery, tag="orders",
                   responses={200: OrderStatus, 400: ErrorBody, 404: ErrorBody},
                   summary="status of an order: placed, processing, created, error (with reason) or cancelled")
    def get_order_status(query: StatusQuery):
        bind(uniqueid=query.uniqueid)
        task = runtime.tasks.find(query.uniqueid)
        if task is None:
            raise ApiError(404, "order_not_found", f"no order with uniqueid {query.uniqueid!r}")
        return jsonify(status_view(task, artifacts.list(task.id, retention)))

    @api.operation(bp, "/orders/<uniqueid>/artifacts/<name>", "GET", tag="orders",
                   responses={200: None, 404: ErrorBody},
                   summary="a screenshot or page saved by the worker when the order failed")
    def artifact(uniqueid: str, name: str):
        task = runtime.tasks.find(uniqueid, with_history=False)
        path = artifacts.path(task.id, name, retention) if task else None
        if path is None:
            raise ApiError(404, "artifact_not_found", f"order {uniqueid!r} has no artifact {name!r}")
        # a saved ERP page is the ERP's HTML: downloaded, never rendered or run in our origin
        answer = send_file(path, max_age=0, as_attachment=True, download_name=name)
        answer.headers["X-Content-Type-Options"] = "nosniff"
        answer.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return answer

    return bp
