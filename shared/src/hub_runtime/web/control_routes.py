"""The process contract every instance API serves (docs/architecture.md): probes, metrics, queue control, kill."""

from __future__ import annotations

import logging
import os

from flask import Response, current_app, jsonify
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from ..broker.base import BrokerError
from ..control import PAUSED, RUNNING
from ..db import ping as db_ping
from ..errors import NotReplayable
from ..metrics import exposition
from ..probes import readiness, stop_soon
from ..runtime import Runtime
from ..tasks import TaskView, iso
from .errors import ApiError
from .openapi import APIBlueprint, ErrorBody, OpenAPI

log = logging.getLogger("hub.control")


class WorkerStatus(BaseModel):
    state: str
    desired: str
    pid: int | None
    heartbeat_age_seconds: float | None
    current_task: str | None


UNKNOWN_WORKER = {"state": "unknown", "desired": "unknown", "pid": None, "heartbeat_age_seconds": None,
                  "current_task": None}


class AliveAnswer(BaseModel):
    api: str
    worker: WorkerStatus
    queue_length: int | None = Field(description="pending tasks (placed or processing)")
    instance: str
    kind: str
    name: str


class ReadyAnswer(BaseModel):
    ready: bool
    database: bool
    broker: bool


class QueuedTask(BaseModel):
    id: str
    key: str
    status: str
    attempts: int
    payload: dict
    created_at: str


class QueueAnswer(BaseModel):
    length: int
    broker_depth: int | None
    tasks: list[QueuedTask]


class ClearAnswer(BaseModel):
    cleared: bool
    cancelled: int
    purged: int | None
    cancelled_keys: list[str]


class ReplayQuery(BaseModel):
    key: str | None = Field(None, min_length=1, max_length=200,
                            description="only this task (its key: an order's uniqueid); default: every dead letter")


class ReplayAnswer(BaseModel):
    replayed: int = Field(description="messages sent to the worker again")
    key: str | None
    status: str | None = Field(description="with `key`: the task's status (it stays error until the worker "
                                           "takes it)")


class WorkerAnswer(BaseModel):
    requested: str
    confirmed: bool
    worker: WorkerStatus


class KillAnswer(BaseModel):
    was_running: bool
    stopping: bool


def queued(task: TaskView) -> dict:
    return {"id": task.id, "key": task.key, "status": task.status, "attempts": task.attempts,
            "payload": task.payload, "created_at": iso(task.created_at)}


def control_blueprint(runtime: Runtime, api: OpenAPI, cancel_running: bool = False) -> APIBlueprint:
    """The process contract's routes. `cancel_running`: `/clear_queue` also cancels the tasks being
    processed (their handlers stop, see `hub_runtime.errors.TaskCancelled`); for work that can stop
    half-way, such as reports, not for an ERP order whose line may already be written."""
    bp = APIBlueprint("control", __name__)
    probe = {"auth": "none", "tag": "process contract"}
    guarded = {"tag": "process contract"}

    @api.operation(bp, "/alive", "GET", responses={200: AliveAnswer}, summary="liveness, worker state", **probe)
    def alive():
        try:  # liveness must not fail with the database: it says "unknown" instead
            worker, pending = runtime.control.health().as_dict(), runtime.tasks.count_pending()
        except SQLAlchemyError as exc:
            log.warning("alive: database unavailable: %s", type(exc).__name__)
            worker, pending = {**UNKNOWN_WORKER}, None
        return jsonify(api="running", worker=worker, queue_length=pending, instance=runtime.instance.id,
                       kind=runtime.instance.kind, name=runtime.instance.name)

    @api.operation(bp, "/ready", "GET", responses={200: ReadyAnswer, 503: ReadyAnswer},
                   summary="readiness: database and broker reachable", **probe)
    def ready():
        body, status = readiness(database=db_ping(runtime.engine), broker=runtime.broker.ping())
        return jsonify(body), status

    @api.operation(bp, "/metrics", "GET", summary="Prometheus metrics", **probe)
    def metrics():
        return Response(exposition(runtime), mimetype="text/plain; version=0.0.4")

    @api.operation(bp, "/queue", "GET", responses={200: QueueAnswer}, summary="pending tasks (no secrets)",
                   **guarded)
    def queue():
        tasks = runtime.tasks.pending()
        try:
            depth = runtime.broker.depth(runtime.queue)
        except BrokerError:
            depth = None
        return jsonify(length=len(tasks), broker_depth=depth, tasks=[queued(t) for t in tasks])

    @api.operation(bp, "/clear_queue", "PUT", responses={200: ClearAnswer},
                   summary="cancel every pending task (and running ones where they can stop) and purge "
                           "the broker queue", **guarded)
    def clear_queue():
        keys = runtime.tasks.cancel_pending(include_running=cancel_running)
        try:
            purged = runtime.broker.purge(runtime.queue)
        except BrokerError as exc:
            log.warning("purge failed (cancelled tasks are skipped when delivered): %s", exc)
            purged = None
        log.info("queue cleared", extra={"cancelled": len(keys)})
        return jsonify(cleared=True, cancelled=len(keys), purged=purged, cancelled_keys=keys)

    @api.operation(bp, "/replay_dead_letters", "PUT", query=ReplayQuery,
                   responses={200: ReplayAnswer, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody},
                   summary="send dead-lettered tasks to the worker again: every message of the dead-letter "
                           "queue, or one task (`key`) through the outbox", **guarded)
    def replay_dead_letters(query: ReplayQuery):
        if query.key is None:
            try:
                count = runtime.broker.replay_dead_letters(runtime.queue)
            except BrokerError as exc:
                raise ApiError(503, "broker_unavailable", f"the dead-letter queue cannot be read now: {exc}",
                               headers={"Retry-After": "5"}) from None
            log.info("dead letters replayed", extra={"replayed": count})
            return jsonify(replayed=count, key=None, status=None)
        try:
            task = runtime.tasks.replay(query.key)
        except NotReplayable as exc:
            raise ApiError(409, "not_dead_lettered", str(exc), {"key": f"is {exc.status}"}) from None
        if task is None:
            raise ApiError(404, "task_not_found", f"no task with key {query.key!r}", {"key": "unknown"})
        log.info("dead-lettered task replayed", extra={"task_id": task.id})
        return jsonify(replayed=1, key=task.key, status=task.status)

    def worker_request(desired: str, expected: str):
        runtime.control.request(desired)
        confirmed = runtime.control.wait_for(expected, timeout=runtime.settings.heartbeat_seconds * 3)
        log.info("worker %s requested", desired, extra={"confirmed": confirmed})
        return jsonify(requested=desired, confirmed=confirmed, worker=runtime.control.health().as_dict())

    @api.operation(bp, "/start_worker", "PUT", responses={200: WorkerAnswer},
                   summary="resume the consumer (confirmed by its heartbeat)", **guarded)
    def start_worker():
        return worker_request(RUNNING, "running")

    @api.operation(bp, "/stop_worker", "PUT", responses={200: WorkerAnswer},
                   summary="pause the consumer after its current task (confirmed by its heartbeat)", **guarded)
    def stop_worker():
        return worker_request(PAUSED, "stopped")

    @api.operation(bp, "/kill", "PUT", responses={200: KillAnswer},
                   summary="graceful shutdown of this API process", **guarded)
    def kill():
        return jsonify(stop_soon(server_pid(), really=not current_app.testing))

    return bp


def server_pid() -> int:
    """The process to stop on /kill: gunicorn's master (its pid is exported by the launcher), else us."""
    return int(os.environ.get("HUB_SERVER_PID", os.getpid()))
