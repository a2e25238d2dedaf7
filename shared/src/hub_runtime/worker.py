"""The worker loop every consumer runs: take a message, run the handler, commit the status, then ack.

- A handler returns a result dict (success), raises `PermanentError` (status `error` at once, with its
  `reason_code`) or `TransientError` (retried with backoff and jitter, up to `retry_max_attempts`).
- Any other exception is a bug or a poison message: the task becomes `error` / `dead_lettered` and the
  message goes to the dead-letter queue, from where it can be replayed.
- A handler that can stop half-way (a report) polls `Job.cancel_requested()` and raises `TaskCancelled`
  once its task was cancelled while running (`/clear_queue` of an instance that allows it); the task
  stays `cancelled`. A handler that finishes first keeps its outcome. It also polls
  `Job.stop_requested()` and raises `TaskInterrupted` when the worker is asked to stop (SIGTERM): the task
  goes back to `placed` and its message to the queue, so a long report does not hold a stop up (or get
  killed by the supervisor's timeout) and starts over on the next worker.
- The ack comes after the commit, so a crash in between redelivers the message; handlers are
  idempotent (the ERP adapter looks for the order line before adding it).
- Pause/resume: the desired state is read before taking a message, at most every `control_poll_seconds`
  (0.2 s) while consuming; SIGTERM stops after the current task.
- A heartbeat thread reports running / paused so `/alive` can tell running, stopped and dead.
- The database going away does not end the worker: a step of the message it holds (start, note, finish)
  is retried with backoff while the message is kept (its connection or lease alive), and the loop waits
  before it takes the next one. Only a stop request, or the broker going away too, lets the message go
  (it is redelivered).
- The instance's outbox relay runs beside the loop (a thread with its own broker connection), paused or
  not: the API only commits its tasks and this process publishes them (`hub_runtime.outbox`).
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .artifacts import ArtifactStore
from .broker.base import Broker, BrokerError, Delivery, DeliveryLost
from .control import PAUSED, RUNNING
from .db import UNAVAILABLE as DATABASE_UNAVAILABLE
from .db import brief
from .db import ping as db_ping
from .errors import PermanentError, TaskCancelled, TaskInterrupted, TransientError
from .jsonlog import log_context
from .metrics import TASK_LATENCY, TASK_RETRIES, TASKS_CREATED, TASKS_FAILED, WORKER_UP
from .models import TaskStatus, utcnow
from .probe_server import serve_probes
from .probes import readiness
from .retry import backoff_delay
from .runtime import Runtime
from .tasks import TaskView

log = logging.getLogger("hub.worker")


def _never() -> bool:
    return False


class _LetGo(Exception):
    """The held message cannot be kept while the database is away: the worker is stopping, or the broker
    connection went too. It is handed back (or simply redelivered)."""


_DB_FIRST_DELAY, _DB_MAX_DELAY = 0.5, 30.0  # backoff_delay's base and cap while the database is away


@dataclass(frozen=True)
class Job:
    """What a handler gets: the task (without secret), its decrypted secret, which attempt this is, where
    to keep evidence (screenshots, pages) for an operator, and two questions to ask now and then if it can
    stop half-way: was the task cancelled meanwhile? (a database read: ask about once a second), and is the
    worker stopping? (a flag: free to ask)."""

    task: TaskView
    secret: dict
    attempt: int = 1
    artifacts: ArtifactStore | None = None
    cancel_requested: Callable[[], bool] = _never
    stop_requested: Callable[[], bool] = _never


Handler = Callable[[Job], dict]


class Worker:
    def __init__(self, runtime: Runtime, handler: Handler, *, poll_seconds: float = 1.0,
                 on_idle: Callable[[], None] | None = None, relay: bool = True, control_poll_seconds: float = 0.2):
        self.rt = runtime
        self.relay = runtime.outbox_relay() if relay else None
        self.handler = handler
        self.on_idle = on_idle
        self.poll_seconds = poll_seconds
        self.control_poll_seconds = control_poll_seconds
        self._control_due = 0.0  # monotonic time of the next read of the desired state
        self.stopping = threading.Event()
        self.state = RUNNING
        self.current: str | None = None
        self._beat_thread = threading.Thread(target=self._beat_loop, name="heartbeat", daemon=True)
        self._probes = None
        self.artifacts = ArtifactStore(runtime.settings.artifact_dir)

    # --- lifecycle ----------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop())

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stop requested; finishing the current task")
        self.stopping.set()

    def run(self) -> None:
        log.info("worker starting", extra={"queue": self.rt.queue})
        if self.relay is not None:
            self.relay.start()
        self._beat_thread.start()
        if self.rt.settings.probe_port:
            self._probes = serve_probes(self.rt.settings.probe_port, self._alive, self._ready,
                                        self.rt.settings.probe_host)
        broker = self.rt.broker
        self._declare(broker)
        db_failures = 0  # in a row, while no message is held
        try:
            while not self.stopping.is_set():
                try:
                    if not self._follow_desired_state(broker):
                        continue
                    db_failures = 0
                except DATABASE_UNAVAILABLE as exc:
                    db_failures += 1
                    delay = backoff_delay(db_failures, _DB_FIRST_DELAY, _DB_MAX_DELAY)
                    log.warning("database unavailable, looking again in %.1fs: %s", delay, brief(exc))
                    self.stopping.wait(delay)
                    continue
                try:
                    delivery = broker.get(self.rt.queue, timeout=self.poll_seconds)
                except BrokerError as exc:
                    log.warning("broker unavailable: %s", exc)
                    self.stopping.wait(1.0)
                    continue
                if delivery is not None:
                    self.process(delivery)
                elif self.on_idle is not None:
                    self.on_idle()
        finally:
            if self.relay is not None:
                self.relay.stop()
            try:
                self.rt.control.signed_off()
            except DATABASE_UNAVAILABLE as exc:  # /alive will read "dead" once the heartbeat is old
                log.warning("could not sign off: %s", brief(exc))
            WORKER_UP.labels(self.rt.instance.id).set(0)
            if self._probes is not None:
                self._probes.shutdown()
            self.rt.close()
            log.info("worker stopped")

    def _declare(self, broker: Broker) -> None:
        while not self.stopping.is_set():
            try:
                broker.declare(self.rt.queue)
                return
            except BrokerError as exc:
                log.warning("cannot declare queue yet: %s", exc)
                self.stopping.wait(1.0)

    def _follow_desired_state(self, broker: Broker) -> bool:
        """Apply pause/resume; True when the worker should consume now. While consuming, the desired
        state is read at most every `control_poll_seconds` (a database read per message cost more than
        a tenth of an order's time); the API confirms a change by the heartbeat sent below."""
        now = time.monotonic()
        desired = self.state
        if self.state == PAUSED or now >= self._control_due:
            desired = self.rt.control.desired()
            self._control_due = now + self.control_poll_seconds
        if desired != self.state:
            log.info("worker %s", "paused" if desired == PAUSED else "resumed")
            self.state = desired
            WORKER_UP.labels(self.rt.instance.id).set(1 if desired == RUNNING else 0)
            if desired == PAUSED:
                broker.release(self.rt.queue)
            self._beat()
        if self.state == PAUSED:
            if self.on_idle is not None:
                self.on_idle()
            try:
                broker.keepalive(0.5)
            except BrokerError:
                self.stopping.wait(0.5)
            return False
        return True

    def _alive(self) -> tuple[dict, int]:
        alive = not self.stopping.is_set()
        return {"alive": alive, "instance": self.rt.instance.id, "state": self.state,
                "current_task": self.current}, 200 if alive else 503

    def _ready(self) -> tuple[dict, int]:
        return readiness(database=db_ping(self.rt.engine), broker=self.rt.broker.ping())

    def _beat(self) -> None:
        try:
            self.rt.control.beat(self.state, self.current)
        except Exception as exc:  # noqa: BLE001 - a missed beat is reported by its absence
            log.warning("heartbeat failed: %s", exc)

    def _beat_loop(self) -> None:
        next_prune = 0.0
        while not self.stopping.is_set():
            self._beat()
            if time.monotonic() >= next_prune:
                pruned = self.artifacts.prune(self.rt.settings.artifact_retention_hours * 3600)
                if pruned:
                    log.info("pruned the artifacts of %d old tasks", pruned)
                next_prune = time.monotonic() + 3600
            self.stopping.wait(self.rt.settings.heartbeat_seconds)

    # --- one message --------------------------------------------------------------------------------
    def process(self, delivery: Delivery) -> None:
        try:
            message = json.loads(delivery.body)
            task_id = message["task_id"]
        except (ValueError, KeyError, TypeError):
            log.error("malformed message dead-lettered", extra={"message_id": delivery.message_id})
            self._settle(delivery, requeue=None)
            return
        with log_context(uniqueid=message.get("key"), task_id=task_id):
            try:
                started = self._database("start", self.rt.tasks.begin, task_id)
                if started is None:
                    log.info("nothing to do (task finished, cancelled or unknown); acknowledging")
                    self._settle(delivery, ack=True)
                    return
                if delivery.redelivered:
                    self._database("note", self.rt.tasks.note, task_id,
                                   f"redelivered (delivery {delivery.delivery_count})")
                self.current = task_id
                try:
                    self._run_with_retries(started.task, started.secret, delivery)
                finally:
                    self.current = None
            except _LetGo as exc:
                log.warning("letting the message go, it will be redelivered: %s", exc)
                self._settle(delivery, requeue=True)

    def _database(self, step: str, fn: Callable, *args, **kwargs):
        """`fn(*args, **kwargs)`, waiting out a database outage with backoff while the message stays held;
        raises `_LetGo` if the worker is asked to stop, or the broker goes away, meanwhile."""
        failures = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except DATABASE_UNAVAILABLE as exc:
                failures += 1
                delay = backoff_delay(failures, _DB_FIRST_DELAY, _DB_MAX_DELAY)
                log.warning("database unavailable (%s), retrying in %.1fs: %s", step, delay, brief(exc))
            try:
                if not self._wait(delay):
                    raise _LetGo("the worker is stopping")
            except BrokerError as exc:
                raise _LetGo(f"the broker went away too: {exc}") from None

    def _run_with_retries(self, task: TaskView, secret: dict, delivery: Delivery) -> None:
        settings = self.rt.settings
        kind, instance = task.kind, self.rt.instance.id
        for attempt in range(1, settings.retry_max_attempts + 1):
            log.info("processing (attempt %d)", attempt)
            job = Job(task, secret, attempt, self.artifacts, functools.partial(self._cancel_requested, task.id),
                      self.stopping.is_set)
            try:
                result = self.rt.broker.run_with_keepalive(functools.partial(self._handle, job))
            except TransientError as exc:
                TASK_RETRIES.labels(instance, exc.reason_code).inc()
                if attempt == settings.retry_max_attempts:
                    self._fail(task, "retries_exhausted",
                               f"gave up after {attempt} attempts; last: {exc.reason_code}: {exc.reason_text}")
                    self._settle(delivery, ack=True)
                    return
                delay = backoff_delay(attempt, settings.retry_base_seconds, settings.retry_max_seconds)
                log.warning("transient failure, retry in %.2fs: %s", delay, exc)
                self._database("note", self.rt.tasks.note, task.id,
                               f"retry {attempt} in {delay:.1f}s: {exc.reason_code}: {exc.reason_text}")
                if not self._wait(delay):
                    self._hand_back(task, delivery, "worker stopping; will be redelivered")
                    return
                continue
            except PermanentError as exc:
                self._fail(task, exc.reason_code, exc.reason_text)
                self._settle(delivery, ack=True)
                return
            except TaskInterrupted:
                log.info("task interrupted by the stop; handing its message back")
                self._hand_back(task, delivery, "interrupted by a stop; will be redelivered")
                return
            except TaskCancelled:
                self._database("finish", self.rt.tasks.finish, task.id, TaskStatus.CANCELLED, "cancelled",
                               "stopped after the cancel", forget_secret=True)
                log.info("task cancelled while running; stopped")
                self._settle(delivery, ack=True)
                return
            except Exception as exc:
                log.exception("handler crashed; dead-lettering the message")
                self._database("finish", self.rt.tasks.finish, task.id, TaskStatus.ERROR, "dead_lettered",
                               f"unexpected {type(exc).__name__}: {exc}"[:1000], forget_secret=True)
                TASKS_FAILED.labels(instance, kind, "dead_lettered").inc()
                self._settle(delivery, requeue=False)
                return
            self._database("finish", self.rt.tasks.finish, task.id, TaskStatus.CREATED, result=result,
                           forget_secret=True)
            TASKS_CREATED.labels(instance, kind).inc()
            TASK_LATENCY.labels(instance, kind).observe((utcnow() - task.created_at).total_seconds())
            log.info("task done", extra={"result": result})
            self._settle(delivery, ack=True)
            return

    def _handle(self, job: Job) -> dict:
        """The handler; the database going away under it (a report writes its progress) is transient."""
        try:
            return self.handler(job)
        except DATABASE_UNAVAILABLE as exc:
            raise TransientError("database_unavailable", brief(exc)) from exc

    def _cancel_requested(self, task_id: str) -> bool:
        try:
            return self.rt.tasks.is_cancelled(task_id)
        except DATABASE_UNAVAILABLE:
            return False  # cannot tell now: carry on, the handler asks again

    def _hand_back(self, task: TaskView, delivery: Delivery, detail: str) -> None:
        """The worker is stopping mid-task: the task goes back to `placed`, its message to the queue."""
        self._database("release", self.rt.tasks.release, task.id, detail)
        self._settle(delivery, requeue=True)

    def _fail(self, task: TaskView, code: str, text: str) -> None:
        self._database("finish", self.rt.tasks.finish, task.id, TaskStatus.ERROR, code, text, forget_secret=True)
        TASKS_FAILED.labels(self.rt.instance.id, task.kind, code).inc()
        log.warning("task failed: %s: %s", code, text, extra={"reason_code": code})

    def _wait(self, seconds: float) -> bool:
        """Sleep between retries while keeping the broker connection alive; False if asked to stop."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stopping.is_set():
                return False
            self.rt.broker.keepalive(min(left, 0.5))
        return not self.stopping.is_set()

    def _settle(self, delivery: Delivery, *, ack: bool = False, requeue: bool | None = None) -> None:
        try:
            if ack:
                self.rt.broker.ack(delivery)
            else:
                self.rt.broker.reject(delivery, requeue=bool(requeue))
        except DeliveryLost:
            log.warning("connection was lost before the ack; the broker will redeliver (harmless)")
        except BrokerError as exc:
            log.warning("could not settle the message (it will be redelivered): %s", exc)
