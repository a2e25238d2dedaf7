"""The outbox relay: publishes messages committed with their tasks, then deletes them.

The relay runs in the worker process (`Runtime.outbox_relay`, started by `hub_runtime.worker.Worker`), not
in the API that takes the requests: publishing costs CPU, and an API process is bound by one core (the
GIL), so the API only commits. A request commits its task and outbox row; on PostgreSQL the same statement
calls `pg_notify`, and the relay, LISTENing on a connection of its own, wakes at once. On SQLite nothing
can wake another process, so the relay looks every `outbox_sqlite_poll_seconds`. In both cases it also looks
every `poll_seconds` whatever happens, so a lost notification delays a message but never loses it.

The relay publishes a batch of rows with `Broker.publish_batch` (RabbitMQ waits for the broker's confirms
once per batch; the SQLite queue writes the batch in one transaction), then deletes exactly the confirmed
rows. If the broker is down the rows wait and the relay retries with backoff, so an accepted task is never
lost.

On PostgreSQL the relay claims its batch with `SELECT ... FOR UPDATE SKIP LOCKED` and deletes it in the
same transaction, so several relays (worker replicas, or instances sharing one database) share the rows
instead of publishing each one several times. A crash between publish and commit leaves the rows to be
published again: delivery is at-least-once and consumers are idempotent. On SQLite (one machine, usually
one process) rows are read without a lock, since a write lock held while publishing would stall intake;
two relays there may publish a row twice. There a row is deleted by its id *and* its message id: SQLite
reuses the highest rowid once that row is gone, so a row another relay (or `/clear_queue`) deleted
meanwhile may come back under the same id as a new, unpublished message, which must not be deleted.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress

from sqlalchemy import Connection, Engine, bindparam, delete, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from .broker.base import Broker, BrokerError
from .db import own_connection
from .metrics import OUTBOX_PUBLISHED
from .models import OUTBOX_CHANNEL, OutboxMessage

log = logging.getLogger("hub.outbox")

_OUTBOX = OutboxMessage.__table__
_READ = (select(_OUTBOX.c.id, _OUTBOX.c.queue, _OUTBOX.c.message_id, _OUTBOX.c.body)
         .order_by(_OUTBOX.c.id).limit(bindparam("limit")))
_CLAIM = _READ.with_for_update(skip_locked=True)
_DELETE = delete(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
_DELETE_EXACT = delete(_OUTBOX).where(tuple_(_OUTBOX.c.id, _OUTBOX.c.message_id).in_(bindparam("rows", expanding=True)))
_FAILED = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))
           .values(attempts=_OUTBOX.c.attempts + 1, last_error=bindparam("error")))


class OutboxRelay:
    def __init__(self, sessions: sessionmaker[Session], broker: Broker, instance: str, *,
                 poll_seconds: float = 1.0, batch: int = 200, linger_seconds: float = 0.02,
                 own_broker: bool = False):
        """`poll_seconds`: how often to look for rows when nothing woke the relay; `own_broker`: the
        relay closes `broker` when it stops (it was opened for the relay alone)."""
        self.sessions = sessions
        self.broker = broker
        self.instance = instance
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.linger_seconds = linger_seconds
        self.own_broker = own_broker
        self.engine: Engine = sessions.kw["bind"]
        self.claim = self.engine.dialect.name == "postgresql"
        self._published = OUTBOX_PUBLISHED.labels(instance)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._declared: set[str] = set()

    def notify(self) -> None:
        """Something was committed: publish it now rather than at the next poll."""
        self._wake.set()

    def publish_pending(self) -> int:
        """Publish one batch, oldest first; returns how many. Raises BrokerError if the broker fails,
        after deleting what was confirmed before the failure."""
        if self.claim:  # claim, publish and delete in one transaction
            with self.engine.begin() as conn:
                rows = conn.execute(_CLAIM, {"limit": self.batch}).all()
                done, error = self._publish_rows(conn, rows)
        else:
            with self.engine.connect() as conn:
                rows = conn.execute(_READ, {"limit": self.batch}).all()
            if not rows:
                return 0
            with self.engine.begin() as conn:
                done, error = self._publish_rows(conn, rows)
        if done:
            self._published.inc(done)
        if error is not None:
            raise error
        return done

    def _publish_rows(self, conn: Connection, rows: list) -> tuple[int, BrokerError | None]:
        """Publish `rows`, delete the confirmed ones and note the error on the first one that was not
        (the caller commits); returns how many were published and the error that stopped the rest."""
        if not rows:
            return 0, None
        done, error = self._publish(rows)
        if done and self.claim:  # the rows are locked by this transaction: their ids are theirs
            conn.execute(_DELETE, {"ids": done})
        elif done:
            message_ids = {row.id: row.message_id for row in rows}
            conn.execute(_DELETE_EXACT, {"rows": [(row_id, message_ids[row_id]) for row_id in done]})
        if error is not None:
            published = set(done)
            failed = next(row.id for row in rows if row.id not in published)
            conn.execute(_FAILED, {"row_id": failed, "error": str(error)[:500]})
        return len(done), error

    def _publish(self, rows: list) -> tuple[list[int], BrokerError | None]:
        """Publish rows grouped by queue, oldest first; returns the ids confirmed and the error that
        stopped the rest."""
        done: list[int] = []
        by_queue: dict[str, list] = {}
        for row in rows:
            by_queue.setdefault(row.queue, []).append(row)
        try:
            for queue, queued in by_queue.items():
                if queue not in self._declared:
                    self.broker.declare(queue)
                    self._declared.add(queue)
                confirmed, error = self.broker.publish_batch(queue, [(row.body.encode(), row.message_id)
                                                                     for row in queued])
                done.extend(queued[i].id for i in confirmed)
                if error is not None:
                    return done, error
        except BrokerError as exc:
            return done, exc
        return done, None

    def run(self) -> None:
        backoff = self.poll_seconds
        while not self._stop.is_set():
            self._wake.clear()  # anything committed from here on wakes the next round
            try:
                while (published := self.publish_pending()) == self.batch:
                    pass
                backoff = self.poll_seconds
                if published and self.linger_seconds:
                    # under load, let the next orders gather: fewer, larger batches (the first order after
                    # a quiet spell is published at once)
                    self._stop.wait(self.linger_seconds)
            except BrokerError as exc:
                log.warning("outbox: broker unavailable, retrying in %.1fs: %s", backoff, exc)
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("outbox relay failed; retrying")
                backoff = min(backoff * 2, 30.0)
            self._wake.wait(backoff)

    def listen(self) -> None:
        """PostgreSQL: wake the relay whenever a transaction that wrote outbox rows commits, in any process
        (`LISTEN` on a connection of its own; the task store's batch statement calls `pg_notify`)."""
        backoff = 0.5
        while not self._stop.is_set():
            conn = None
            try:
                conn = own_connection(self.engine)
                conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                self.notify()  # rows committed before the LISTEN took effect
                backoff = 0.5
                while not self._stop.is_set():
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        self.notify()
            except Exception as exc:  # noqa: BLE001 - the relay still polls; try again later
                if not self._stop.is_set():
                    log.warning("outbox: cannot listen for new rows (polling meanwhile), retrying in %.1fs: %s",
                                backoff, exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                if conn is not None:
                    with suppress(Exception):
                        conn.close()

    def start(self) -> None:
        if self._threads:
            return
        self._threads.append(threading.Thread(target=self.run, name="outbox-relay", daemon=True))
        if self.claim:
            self._threads.append(threading.Thread(target=self.listen, name="outbox-listen", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        if self.own_broker:
            self.broker.close()
