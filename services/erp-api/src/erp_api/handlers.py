"""Use cases of erp-api, free of Flask: place an order, read its status."""

from __future__ import annotations

import functools

from hub_runtime.artifacts import Artifact
from hub_runtime.runtime import Instance, slugify
from hub_runtime.tasks import Submitted, TaskStore, TaskView, iso

from .schemas import CreateOrder

ORDER_KIND = "erp_order"


class WrongWorkshop(Exception):
    """The order names another workshop than the one this instance serves."""


@functools.lru_cache(maxsize=64)
def _slug(instance: Instance) -> str:
    return instance.slug  # computed by a regex on every access: once per instance is enough


def place_order(tasks: TaskStore, instance: Instance, order: CreateOrder) -> Submitted:
    """Store the order (idempotent on uniqueid) with its outbox message. Raises `WrongWorkshop` or
    `hub_runtime.errors.IdempotencyConflict`."""
    try:
        same = slugify(order.workshop) == _slug(instance)
    except ValueError:  # no letters or digits at all
        same = False
    if not same:
        raise WrongWorkshop(order.workshop)
    return tasks.submit(ORDER_KIND, order.uniqueid, order.public(), order.credentials())


def status_view(task: TaskView, artifacts: list[Artifact] = ()) -> dict:
    return {
        "uniqueid": task.key,
        "status": task.status,
        "reason_code": task.reason_code,
        "reason_text": task.reason_text,
        "order": task.payload,
        "line": task.result,
        "attempts": task.attempts,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
        "history": [{"status": s, "at": iso(at), "detail": d} for s, at, d in task.history],
        "artifacts": [{"name": a.name, "size": a.size, "url": f"/orders/{task.key}/artifacts/{a.name}"}
                      for a in artifacts],
    }
