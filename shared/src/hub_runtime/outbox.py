"""The outbox relay: publishes messages committed with their tasks, then deletes them.

A request commits its task and outbox row and wakes the relay; the relay publishes with confirms. If the
broker is down the rows wait and the relay retries with backoff, so an accepted task is never lost. A crash
between publish and delete, or two relays (two API replicas) reading the same rows, can publish a message
twice: delivery is at-least-once and consumers are idempotent.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from .broker.base import Broker, BrokerError
from .db import transaction
from .metrics import OUTBOX_PUBLISHED
from .models import OutboxMessage

log = logging.getLogger("hub.outbox")


class OutboxRelay:
    def __init__(self, sessions: sessionmaker[Session], broker: Broker, instance: str, *,
                 poll_seconds: float = 1.0, batch: int = 200):
        self.sessions = sessions
        self.broker = broker
        self.instance = instance
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._declared: set[str] = set()

    def notify(self) -> None:
        """Something was committed: publish it now rather than at the next poll."""
        self._wake.set()

    def publish_pending(self) -> int:
        """Publish one batch, oldest first; returns how many. Raises BrokerError if the broker fails,
        after deleting what was published before the failure."""
        with self.sessions() as session:
            rows = session.execute(
                select(OutboxMessage.id, OutboxMessage.queue, OutboxMessage.message_id, OutboxMessage.body)
                .order_by(OutboxMessage.id).limit(self.batch)
            ).all()
        done: list[int] = []
        try:
            for row in rows:
                if row.queue not in self._declared:
                    self.broker.declare(row.queue)
                    self._declared.add(row.queue)
                self.broker.publish(row.queue, row.body.encode(), message_id=row.message_id)
                done.append(row.id)
        except BrokerError as exc:
            with transaction(self.sessions) as session:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == rows[len(done)].id).values(
                    attempts=OutboxMessage.attempts + 1, last_error=str(exc)[:500]))
            raise
        finally:
            if done:
                with transaction(self.sessions) as session:
                    session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(done)))
                OUTBOX_PUBLISHED.labels(self.instance).inc(len(done))
        return len(done)

    def run(self) -> None:
        backoff = self.poll_seconds
        while not self._stop.is_set():
            try:
                while self.publish_pending() == self.batch:
                    pass
                backoff = self.poll_seconds
            except BrokerError as exc:
                log.warning("outbox: broker unavailable, retrying in %.1fs: %s", backoff, exc)
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("outbox relay failed; retrying")
                backoff = min(backoff * 2, 30.0)
            self._wake.wait(backoff)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
