"""In-memory stand-ins for fast tests: a broker (the whole port, run through the broker contract suite too),
a task store (what the worker and an API use of `TaskStore`) and a runtime holding them for a `Worker`.
They keep the real ones' promises (redelivery counts, dead-lettering, idempotent intake, the statuses a
task may start from) without a database or a broker; the real-process tests stay beside them."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from ..broker.base import DLQ_SUFFIX, Broker, BrokerUnavailable, Delivery, DeliveryLost, HandlerThread
from ..config import RuntimeSettings
from ..errors import IdempotencyConflict
from ..ids import uuid4_hex
from ..models import TaskStatus, utcnow
from ..runtime import Instance
from ..tasks import Started, Submitted, TaskView
from ..tasks.writer import outbox_body

T = TypeVar("T")

# Reasons in RabbitMQ's words (x-first-death-reason), as both real adapters report them.
_REJECTED, _DELIVERY_LIMIT = "rejected", "delivery_limit"
_DEATH_REASON = "x-first-death-reason"


# -- the broker ----------------------------------------------------------------------------------------


@dataclass
class _Message:
    body: bytes
    message_id: str | None
    headers: dict[str, Any]
    deliveries: int = 0
    holder: object | None = None  # the lease of the delivery that holds it, while one does
    dead_reason: str | None = None


@dataclass(frozen=True, eq=False)
class _Lease:
    queue: str
    message: _Message


class InMemoryQueues:
    """The broker's side: queues shared by every `InMemoryBroker` made on it, as connections share a
    RabbitMQ. `available = False` makes every call of those brokers fail with `BrokerUnavailable`."""

    def __init__(self) -> None:
        self.changed = threading.Condition()  # guards everything below; notified when a message is ready
        self.ready: dict[str, deque[_Message]] = {}
        self.dead: dict[str, list[_Message]] = {}
        self.delivery_limits: dict[str, int] = {}  # set by the first declare, as RabbitMQ's queue argument
        self.available = True


class InMemoryBroker(Broker):
    """A broker connection to `InMemoryQueues` (a new, private set of queues by default). Like RabbitMQ: a
    queue must be declared before use, a message still held when its broker closes comes back as a
    redelivery, and after `delivery_limit` deliveries a message is dead-lettered."""

    def __init__(self, queues: InMemoryQueues | None = None, *, delivery_limit: int = 5) -> None:
        if delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")
        self.queues = queues or InMemoryQueues()
        self._delivery_limit = delivery_limit
        self._held: set[_Lease] = set()
        self._handler = HandlerThread()

    def _check(self, what: str, queue: str | None = None) -> None:
        """Under `queues.changed`: fail as the real brokers do when the broker is away or the queue unknown."""
        if not self.queues.available:
            raise BrokerUnavailable(f"{what}: the in-memory broker is unavailable")
        if queue is not None and queue not in self.queues.ready:
            raise BrokerUnavailable(f"{what}: no such queue {queue!r} (not declared yet?)")

    def declare(self, queue: str) -> None:
        with self.queues.changed:
            self._check(f"declare {queue}")
            self.queues.ready.setdefault(queue, deque())
            self.queues.dead.setdefault(queue, [])
            self.queues.delivery_limits.setdefault(queue, self._delivery_limit)

    def publish(self, queue: str, body: bytes, message_id: str | None = None,
                headers: dict[str, Any] | None = None) -> None:
        with self.queues.changed:
            self._check(f"publish to {queue}", queue)
            self.queues.ready[queue].append(_Message(bytes(body), message_id, dict(headers or {})))
            self.queues.changed.notify_all()

    def get(self, queue: str, timeout: float) -> Delivery | None:
        deadline = time.monotonic() + timeout
        with self.queues.changed:
            while True:
                self._check(f"get from {queue}", queue)
                if self.queues.ready[queue]:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.queues.changed.wait(remaining)
            message = self.queues.ready[queue].popleft()
            message.deliveries += 1
            lease = _Lease(queue, message)
            message.holder = lease
            self._held.add(lease)
        return Delivery(queue=queue, body=message.body, message_id=message.message_id,
                        redelivered=message.deliveries > 1, delivery_count=message.deliveries,
                        headers=dict(message.headers), handle=lease)

    def _settle(self, delivery: Delivery, what: str) -> _Lease:
        """Under `queues.changed`: the lease of a delivery this broker still holds, now let go."""
        lease: _Lease = delivery.handle
        if lease not in self._held or lease.message.holder is not lease:
            raise DeliveryLost(f"{what} {delivery.message_id}: no longer held (settled already, or its "
                               "broker was closed and it was handed out again)")
        self._held.discard(lease)
        lease.message.holder = None
        return lease

    def ack(self, delivery: Delivery) -> None:
        with self.queues.changed:
            self._settle(delivery, "ack")

    def reject(self, delivery: Delivery, requeue: bool) -> None:
        """`requeue=True` returns the message (first in line), or dead-letters it if that was its last
        allowed delivery; `requeue=False` dead-letters it."""
        with self.queues.changed:
            lease = self._settle(delivery, "reject")
            self._give_back(lease, None if requeue else _REJECTED)

    def _give_back(self, lease: _Lease, dead_reason: str | None) -> None:
        message = lease.message
        if dead_reason is None and message.deliveries >= self.queues.delivery_limits[lease.queue]:
            dead_reason = _DELIVERY_LIMIT
        if dead_reason is not None:
            message.dead_reason = dead_reason
            self.queues.dead[lease.queue].append(message)
        else:
            self.queues.ready[lease.queue].appendleft(message)
            self.queues.changed.notify_all()

    def run_with_keepalive(self, fn: Callable[[], T]) -> T:
        return self._handler.submit(fn).result()

    def keepalive(self, seconds: float) -> None:
        with self.queues.changed:
            self._check("keepalive")
        time.sleep(seconds)  # the port's promise: it waits that long

    def depth(self, queue: str) -> int:
        with self.queues.changed:
            self._check(f"depth of {queue}")
            return len(self.queues.ready.get(queue, ()))

    def purge(self, queue: str) -> int:
        with self.queues.changed:
            self._check(f"purge {queue}")
            ready = self.queues.ready.get(queue, deque())
            count = len(ready)
            ready.clear()
            return count

    def dead_letters(self, queue: str, limit: int = 100) -> list[Delivery]:
        with self.queues.changed:
            self._check(f"dead letters of {queue}")
            dead = self.queues.dead.get(queue, [])[:limit]
            return [Delivery(queue=queue + DLQ_SUFFIX, body=m.body, message_id=m.message_id,
                             redelivered=m.deliveries > 1, delivery_count=m.deliveries,
                             headers=m.headers | {_DEATH_REASON: m.dead_reason}) for m in dead]

    def replay_dead_letters(self, queue: str) -> int:
        with self.queues.changed:
            self._check(f"replay dead letters of {queue}", queue)
            dead, self.queues.dead[queue] = self.queues.dead[queue], []
            for message in dead:
                message.deliveries, message.dead_reason = 0, None
                self.queues.ready[queue].append(message)
            self.queues.changed.notify_all()
            return len(dead)

    def held(self) -> int:
        """How many deliveries of this broker are neither acked nor rejected (a test's check that a
        worker settled its message)."""
        with self.queues.changed:
            return len(self._held)

    def ping(self) -> bool:
        return self.queues.available

    def close(self) -> None:
        """Like a connection closing: the messages it held come back, as redeliveries."""
        with self.queues.changed:
            held, self._held = self._held, set()
            for lease in held:
                lease.message.holder = None
                self._give_back(lease, None)
        self._handler.close()


# -- the task store ------------------------------------------------------------------------------------


@dataclass
class _Task:
    view: TaskView
    fingerprint: str
    secret: dict | None
    history: list[tuple[str, datetime, str | None]] = field(default_factory=list)


class InMemoryTaskStore:
    """`TaskStore`'s interface on dicts: intake (`submit`, whose messages wait in `outbox` until taken
    with `take_outbox`), reads, and the worker's transitions (`begin`, `finish`, `note`, `release`,
    `is_cancelled`), with the same rules as the real store (a task starts unless it is final; a
    dead-lettered one may start again)."""

    def __init__(self, instance: str = "test", queue: str = "test.queue") -> None:
        self.instance = instance
        self.queue = queue
        self.outbox: list[tuple[bytes, str]] = []  # (body, message_id) of messages not yet published
        self._tasks: dict[str, _Task] = {}
        self._keys: dict[str, str] = {}  # key -> task id
        self._lock = threading.Lock()

    # --- intake and reading -------------------------------------------------------------------------
    def submit(self, kind: str, key: str, payload: dict, secret: dict | None = None) -> Submitted:
        fingerprint = json.dumps({"payload": payload, "secret": secret}, sort_keys=True, default=str)
        with self._lock:
            if key in self._keys:
                existing = self._tasks[self._keys[key]]
                if existing.fingerprint != fingerprint:
                    raise IdempotencyConflict(key)
                return Submitted(existing.view, created=False)
            now = utcnow()
            view = TaskView(uuid4_hex(), key, kind, TaskStatus.PLACED, None, None, 0, dict(payload), None, now, now)
            self._tasks[view.id] = _Task(view, fingerprint, secret, [(TaskStatus.PLACED, now, None)])
            self._keys[key] = view.id
            self.outbox.append((outbox_body({"id": view.id, "key": key, "kind": kind}).encode(), view.id))
        return Submitted(view, created=True)

    def take_outbox(self) -> list[tuple[bytes, str]]:
        """The messages to publish (what the outbox relay would read), removed from the outbox."""
        with self._lock:
            messages, self.outbox = self.outbox, []
        return messages

    def get(self, task_id: str, with_history: bool = False) -> TaskView | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return self._view(task, with_history) if task else None

    def find(self, key: str, with_history: bool = True) -> TaskView | None:
        with self._lock:
            task_id = self._keys.get(key)
        return self.get(task_id, with_history) if task_id else None

    def count_by_status(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for task in self._tasks.values():
                counts[task.view.status] = counts.get(task.view.status, 0) + 1
            return counts

    def secret_of(self, task_id: str) -> dict:
        with self._lock:
            return dict(self._tasks[task_id].secret or {})

    # --- transitions --------------------------------------------------------------------------------
    def begin(self, task_id: str) -> Started | None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or not _may_start(task.view):
                return None
            self._move(task, TaskStatus.PROCESSING, None, None, attempts=task.view.attempts + 1)
            return Started(task.view, dict(task.secret or {}))

    def finish(self, task_id: str, status: str, reason_code: str | None = None,
               reason_text: str | None = None, result: dict | None = None, forget_secret: bool = False) -> TaskView:
        with self._lock:
            task = self._tasks[task_id]
            self._move(task, status, reason_code, reason_text, result=task.view.result if result is None else result)
            if forget_secret:
                task.secret = None
            return task.view

    def note(self, task_id: str, detail: str) -> None:
        with self._lock:
            task = self._tasks[task_id]
            task.history.append((task.view.status, utcnow(), detail[:2000]))

    def release(self, task_id: str, detail: str) -> None:
        with self._lock:
            task = self._tasks[task_id]
            if task.view.status == TaskStatus.PROCESSING:
                self._move(task, TaskStatus.PLACED, None, None, detail=detail)

    def cancel_pending(self, include_running: bool = False) -> list[str]:
        statuses = {TaskStatus.PLACED} | ({TaskStatus.PROCESSING} if include_running else set())
        with self._lock:
            cancelled = [task for task in self._tasks.values() if task.view.status in statuses]
            for task in cancelled:
                running = task.view.status == TaskStatus.PROCESSING
                self._move(task, TaskStatus.CANCELLED, "cancelled",
                           "cancelled while running" if running else "cleared from the queue")
            ids = {task.view.id for task in cancelled}
            self.outbox = [(body, message_id) for body, message_id in self.outbox if message_id not in ids]
            return [task.view.key for task in cancelled]

    def is_cancelled(self, task_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(task_id)
            return task is not None and task.view.status == TaskStatus.CANCELLED

    @staticmethod
    def _move(task: _Task, status: str, reason_code: str | None, reason_text: str | None,
              detail: str | None = None, **changes: Any) -> None:
        now = utcnow()
        task.view = replace(task.view, status=status, reason_code=reason_code, reason_text=reason_text,
                            updated_at=now, **changes)
        task.history.append((status, now, detail or reason_text))

    @staticmethod
    def _view(task: _Task, with_history: bool) -> TaskView:
        return replace(task.view, history=tuple(task.history)) if with_history else task.view


def _may_start(task: TaskView) -> bool:
    """The rule of `tasks.writer.MAY_START`: not final, or dead-lettered (replayed from the DLQ)."""
    if task.status == TaskStatus.ERROR:
        return task.reason_code == "dead_lettered"
    return task.status not in (TaskStatus.CREATED, TaskStatus.CANCELLED)


# -- a runtime for a Worker ----------------------------------------------------------------------------


class InMemoryRuntime:
    """What a `Worker` needs of a `Runtime` to process messages (`Worker.process`), held in memory: the
    settings (`settings_overrides`, e.g. retry delays, on top of test defaults), an instance, its queue
    (declared), the task store and the broker. Not for `Worker.run`, which also needs the database."""

    def __init__(self, data_dir: Path, **settings_overrides: Any) -> None:
        options = {"retry_base_seconds": 0.001, "retry_max_seconds": 0.002, "retry_max_attempts": 3}
        self.settings = RuntimeSettings(database_url="sqlite://", data_dir=data_dir, api_token="in-memory-" + "x" * 16,
                                        _env_file=None, **(options | settings_overrides))
        self.instance = Instance("test", "In Memory")
        self.queue = self.instance.queue()
        self.tasks = InMemoryTaskStore(self.instance.id, self.queue)
        self.broker = InMemoryBroker()
        self.broker.declare(self.queue)

    def relay(self) -> int:
        """Publish what the task store's outbox holds (the outbox relay's part); returns how many."""
        messages = self.tasks.take_outbox()
        confirmed, error = self.broker.publish_batch(self.queue, messages)
        if error is not None:  # the rest wait for the next call, as outbox rows do
            published = set(confirmed)
            self.tasks.outbox[:0] = [m for i, m in enumerate(messages) if i not in published]
            raise error
        return len(confirmed)

    def close(self) -> None:
        self.broker.close()

