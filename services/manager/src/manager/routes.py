"""The manager's HTTP API for the ILX management GUI (and hubctl): /integrations, plus its own probes."""

from __future__ import annotations

import logging
from collections import deque

from flask import Response, current_app, jsonify

from hub_runtime.db import UNAVAILABLE as DATABASE_UNAVAILABLE
from hub_runtime.db import ping as db_ping
from hub_runtime.kinds import installed_kinds
from hub_runtime.metrics import exposition
from hub_runtime.probes import readiness, stop_soon
from hub_runtime.tasks import iso
from hub_runtime.web.errors import error_body
from hub_runtime.web.openapi import APIBlueprint, ErrorBody, OpenAPI

from .registry import IntegrationView, RegistryError
from .schemas import (
    ActionAnswer,
    CreatedIntegration,
    CreateIntegration,
    IntegrationDetail,
    IntegrationList,
    KindList,
    LogsQuery,
    ManagerAlive,
    ReplayQuery,
    TokenAnswer,
    UpdateIntegration,
)
from .service import Manager

log = logging.getLogger("manager.http")

ACTIONS = {  # PUT /integrations/<id>/<path>: (roles, what)
    "start": (None, "start"), "stop": (None, "stop"), "restart": (None, "restart"),
    "api/start": (("api",), "start"), "api/stop": (("api",), "stop"), "api/restart": (("api",), "restart"),
    "worker/start": (("worker",), "start"), "worker/stop": (("worker",), "stop"),
    "worker/restart": (("worker",), "restart"), "kill": (None, "kill"),
}


def integration_json(view: IntegrationView) -> dict:
    return {"id": view.id, "kind": view.kind, "name": view.name, "settings": view.settings,
            "has_credentials": view.has_credentials, "active": view.active, "api_port": view.api_port,
            "probe_port": view.probe_port, "created_at": iso(view.created_at), "updated_at": iso(view.updated_at)}


def manager_blueprint(manager: Manager, api: OpenAPI) -> APIBlueprint:
    bp = APIBlueprint("manager", __name__)
    registry = manager.registry
    tag = {"tag": "integrations"}

    @bp.errorhandler(RegistryError)
    def _registry_error(exc: RegistryError):
        return jsonify(error_body(exc.code, exc.message, exc.fields)), exc.status

    @api.operation(bp, "/kinds", "GET", responses={200: KindList},
                   summary="the integration kinds installed beside this manager, with the JSON schemas of their "
                           "settings and credentials (for the GUI's forms)", **tag)
    def list_kinds():
        kinds = installed_kinds()
        return jsonify(kinds=[{**kinds[name].describe(), "runnable": not manager.supervisor.backend.missing(
            kinds[name].programs)} for name in sorted(kinds)])

    @api.operation(bp, "/integrations", "GET", responses={200: IntegrationList},
                   summary="every integration with its health (gathered concurrently)", **tag)
    def list_integrations():
        return jsonify(integrations=manager.overview())

    @api.operation(bp, "/integrations", "POST", body=CreateIntegration,
                   responses={201: CreatedIntegration, 400: ErrorBody, 409: ErrorBody},
                   summary="register an integration (started at once when active)", **tag)
    def create_integration(body: CreateIntegration):
        if body.active:
            manager.check_runnable(body.kind)
        view, token = registry.create(body.kind, body.name.strip(), body.settings, body.credentials, body.active,
                                      body.api_port)
        log.info("integration created", extra={"integration": view.id})
        if view.active:
            manager.start(view.id)
        return jsonify({**integration_json(view), "api_token": token}), 201

    @api.operation(bp, "/integrations/<integration_id>", "GET", responses={200: IntegrationDetail, 404: ErrorBody},
                   summary="one integration: configuration (no secrets), health and history", **tag)
    def get_integration(integration_id: str):
        view = registry.get(integration_id)
        history = [{"event": e, "detail": d, "at": iso(at)} for e, d, at in registry.events(integration_id)]
        return jsonify({**integration_json(view), "health": manager.health(integration_id), "history": history})

    @api.operation(bp, "/integrations/<integration_id>", "PATCH", body=UpdateIntegration,
                   responses={200: None, 400: ErrorBody, 404: ErrorBody},
                   summary="change settings or credentials (an active integration restarts with them)", **tag)
    def update_integration(integration_id: str, body: UpdateIntegration):
        view = registry.update(integration_id, body.settings, body.credentials)
        manager.reconfigured(integration_id)
        return jsonify(integration_json(view))

    @api.operation(bp, "/integrations/<integration_id>", "DELETE", responses={200: None, 404: ErrorBody},
                   summary="stop and remove an integration", **tag)
    def delete_integration(integration_id: str):
        manager.delete(integration_id)
        return jsonify(id=integration_id, deleted=True)

    @api.operation(bp, "/integrations/<integration_id>/activate", "PUT", responses={200: ActionAnswer, 404: ErrorBody},
                   summary="mark active and start", **tag)
    def activate(integration_id: str):
        status = manager.activate(integration_id)
        return jsonify(id=integration_id, action="activate", **status)

    @api.operation(bp, "/integrations/<integration_id>/deactivate", "PUT",
                   responses={200: ActionAnswer, 404: ErrorBody}, summary="mark inactive and stop", **tag)
    def deactivate(integration_id: str):
        manager.deactivate(integration_id)
        return jsonify(id=integration_id, action="deactivate", **manager.supervisor.status(integration_id))

    def action_view(path: str):
        roles, what = ACTIONS[path]

        def act(integration_id: str):
            if what == "start":
                manager.start(integration_id, roles)
            elif what == "restart":
                manager.restart(integration_id, roles)
            else:
                manager.stop(integration_id, roles, kill=what == "kill")
            return jsonify(id=integration_id, action=path.replace("/", "_"),
                           **manager.supervisor.status(integration_id))

        act.__name__ = f"action_{path.replace('/', '_')}"
        return act

    for path, (roles, what) in ACTIONS.items():
        which = "API and worker" if roles is None else roles[0]
        api.operation(bp, f"/integrations/<integration_id>/{path}", "PUT",
                      responses={200: ActionAnswer, 404: ErrorBody}, summary=f"{what} the {which}", **tag)(
            action_view(path))

    @api.operation(bp, "/integrations/<integration_id>/token", "POST", responses={200: TokenAnswer, 404: ErrorBody},
                   summary="issue a new API token for the instance (shown once; the API restarts)", **tag)
    def rotate_token(integration_id: str):
        token = registry.rotate_token(integration_id)
        manager.reconfigured(integration_id)
        return jsonify(id=integration_id, api_token=token)

    @api.operation(bp, "/integrations/<integration_id>/queue", "GET",
                   responses={200: None, 404: ErrorBody, 503: ErrorBody},
                   summary="the instance's pending tasks (from its own /queue)", **tag)
    def integration_queue(integration_id: str):
        return jsonify(manager.instance_queue(integration_id))

    @api.operation(bp, "/integrations/<integration_id>/replay_dead_letters", "PUT", query=ReplayQuery,
                   responses={200: None, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody},
                   summary="the instance sends its dead-lettered tasks (or the one of `key`) to its worker again",
                   **tag)
    def replay_dead_letters(integration_id: str, query: ReplayQuery):
        status, answer = manager.replay_dead_letters(integration_id, query.key)
        return jsonify(answer), status

    @api.operation(bp, "/integrations/<integration_id>/logs", "GET", query=LogsQuery,
                   responses={200: None, 404: ErrorBody}, summary="the last lines of a process's log", **tag)
    def integration_logs(integration_id: str, query: LogsQuery):
        registry.get(integration_id)
        path = manager.supervisor.log_path(integration_id, query.role)
        lines: deque[str] = deque(maxlen=query.lines)
        if path.exists():
            with open(path, errors="replace") as fh:
                lines.extend(line.rstrip("\n") for line in fh)
        return jsonify(id=integration_id, role=query.role, lines=list(lines))

    # --- the manager's own process contract ---------------------------------------------------------
    probe = {"auth": "none", "tag": "process contract"}

    @api.operation(bp, "/alive", "GET", responses={200: ManagerAlive}, summary="liveness of the manager", **probe)
    def alive():
        """200 while the process serves, also while the registry's database is away (that is /ready's
        answer: a liveness probe failing on it would restart a manager that has nothing wrong with it)."""
        states = [manager.supervisor.status(iid)["state"] for iid in manager.supervisor.integration_ids()]
        try:
            integrations, reachable = len(registry.list()), True
        except DATABASE_UNAVAILABLE:
            integrations, reachable = None, False
        return jsonify(manager="running", registry="ok" if reachable else "unavailable", integrations=integrations,
                       running=states.count("running"), failed=states.count("failed"))

    @api.operation(bp, "/ready", "GET", summary="readiness: the registry database answers", **probe)
    def ready():
        body, status = readiness(database=db_ping(manager.engine))
        return jsonify(body), status

    @api.operation(bp, "/metrics", "GET", summary="Prometheus metrics", **probe)
    def metrics():
        return Response(exposition(), mimetype="text/plain; version=0.0.4")

    @api.operation(bp, "/queue", "GET", summary="pending tasks of every running instance", tag="process contract")
    def all_queues():
        queues = {}
        for view in registry.list():
            if manager.supervisor.status(view.id)["processes"].get("api", {}).get("state") == "running":
                try:
                    queues[view.id] = manager.instance_queue(view.id)
                except RegistryError as exc:
                    queues[view.id] = {"error": exc.message}
        return jsonify(length=sum(q.get("length", 0) for q in queues.values()), instances=queues)

    @api.operation(bp, "/kill", "PUT", summary="graceful shutdown of the manager (instances are stopped)",
                   tag="process contract")
    def kill():
        return jsonify(stop_soon(really=not current_app.testing))

    return bp
