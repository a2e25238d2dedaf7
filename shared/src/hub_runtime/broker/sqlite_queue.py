"""Embedded adapter of the broker port: a durable queue in one SQLite file, shared by processes and threads.

A consumer claims a message by setting a random lease token and `lease_until`; an ack deletes the row
only while that token is still on it. A lease that runs out (the consumer died or stalled) makes the
message claimable again, as a redelivery. Dead letters stay in the table with `dead = 1`.

Each thread (and each process: the pid is checked, so a forked child never reuses its parent's
connection) gets its own connection, in WAL mode with `synchronous=FULL`, so a published message is on
disk when `publish` returns. Times are wall-clock (`time.time()`), as leases are shared between processes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hub_runtime.broker.base import (
    DLQ_SUFFIX,
    Broker,
    BrokerError,
    BrokerUnavailable,
    Delivery,
    DeliveryLost,
    HandlerThread,
)

T = TypeVar("T")

log = logging.getLogger("hub.broker")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    message_id TEXT,
    headers TEXT NOT NULL DEFAULT '{}',
    enqueued_at REAL NOT NULL,
    lease_until REAL,
    lease_token TEXT,
    delivery_count INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0,
    dead_reason TEXT
);
CREATE INDEX IF NOT EXISTS messages_queue_dead_id ON messages (queue, dead, id);
"""
_READY = "queue = ? AND dead = 0 AND (lease_until IS NULL OR lease_until <= ?)"
# Reasons use RabbitMQ's words (x-first-death-reason), so both adapters report the same.
_REJECTED, _DELIVERY_LIMIT = "rejected", "delivery_limit"
_DEATH_REASON = "x-first-death-reason"


@dataclass(frozen=True)
class _Lease:
    row_id: int
    token: str


class SQLiteQueueBroker(Broker):
    """See the module docstring. `keepalive`/`run_with_keepalive` renew the leases this object holds."""

    def __init__(self, path: str, *, lease_seconds: float = 30.0, delivery_limit: int = 5,
                 poll_interval: float = 0.05) -> None:
        if delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")
        self._path = path
        self._lease_seconds = lease_seconds
        self._delivery_limit = delivery_limit
        self._poll_interval = poll_interval
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._held: set[_Lease] = set()
        self._lock = threading.Lock()  # guards _connections and _held, not the database
        self._handler = HandlerThread()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._guard("open"):
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    # -- plumbing ---------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self._path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._connections.append(conn)
        return self._local.conn

    @contextmanager
    def _guard(self, what: str) -> Generator[None, None, None]:
        try:
            yield
        except sqlite3.OperationalError as exc:  # locked for longer than busy_timeout, disk full...
            raise BrokerUnavailable(f"{what}: queue database {self._path}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Generator[sqlite3.Connection, None, None]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # some errors have rolled back already
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _settled(self, lease: _Lease, updated: int, what: str, delivery: Delivery) -> None:
        with self._lock:
            self._held.discard(lease)
        if updated == 0:
            raise DeliveryLost(f"{what} {delivery.message_id}: no longer held (its lease ran out and it was "
                               "handed out again, or it was settled already)")

    # -- the port ---------------------------------------------------------------------------------

    def declare(self, queue: str) -> None:
        """Nothing to do: queues exist as soon as a message names them."""

    def publish(self, queue: str, body: bytes, message_id: str | None = None,
                headers: dict[str, Any] | None = None) -> None:
        with self._guard(f"publish to {queue}"):
            self._conn().execute(
                "INSERT INTO messages (queue, body, message_id, headers, enqueued_at) VALUES (?, ?, ?, ?, ?)",
                (queue, bytes(body), message_id, json.dumps(headers or {}), time.time()))

    def publish_batch(self, queue: str, messages: list[tuple[bytes, str | None]]
                      ) -> tuple[list[int], BrokerError | None]:
        """The whole batch in one transaction (one sync to disk): every message is stored, or none."""
        now = time.time()
        try:
            with self._guard(f"publish to {queue}"), self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO messages (queue, body, message_id, headers, enqueued_at) VALUES (?, ?, ?, '{}', ?)",
                    [(queue, bytes(body), message_id, now) for body, message_id in messages])
        except BrokerError as exc:
            return [], exc
        return list(range(len(messages))), None

    def get(self, queue: str, timeout: float) -> Delivery | None:
        deadline = time.monotonic() + timeout
        while True:
            with self._guard(f"get from {queue}"):
                delivery = self._claim(queue)
            remaining = deadline - time.monotonic()
            if delivery is not None or remaining <= 0:
                return delivery
            time.sleep(min(self._poll_interval, remaining))

    def _claim(self, queue: str) -> Delivery | None:
        with self._transaction() as conn:
            while True:
                now = time.time()
                row = conn.execute(
                    f"SELECT id, body, message_id, headers, delivery_count FROM messages WHERE {_READY} "
                    "ORDER BY id LIMIT 1", (queue, now)).fetchone()
                if row is None:
                    return None
                row_id, body, message_id, headers, count = row
                if count >= self._delivery_limit:  # its lease ran out on the last allowed delivery
                    conn.execute("UPDATE messages SET dead = 1, dead_reason = ?, lease_until = NULL, "
                                 "lease_token = NULL WHERE id = ?", (_DELIVERY_LIMIT, row_id))
                    continue
                lease = _Lease(row_id, secrets.token_hex(16))
                conn.execute("UPDATE messages SET lease_token = ?, lease_until = ?, "
                             "delivery_count = delivery_count + 1 WHERE id = ?",
                             (lease.token, now + self._lease_seconds, row_id))
                break
        with self._lock:
            self._held.add(lease)
        return Delivery(queue=queue, body=bytes(body), message_id=message_id, redelivered=count > 0,
                        delivery_count=count + 1, headers=json.loads(headers), handle=lease)

    def ack(self, delivery: Delivery) -> None:
        lease: _Lease = delivery.handle
        with self._guard("ack"):
            cursor = self._conn().execute("DELETE FROM messages WHERE id = ? AND lease_token = ?",
                                          (lease.row_id, lease.token))
        self._settled(lease, cursor.rowcount, "ack", delivery)

    def reject(self, delivery: Delivery, requeue: bool) -> None:
        """`requeue=True` returns the message, or dead-letters it at once if that was its last allowed
        delivery (as RabbitMQ does); `requeue=False` dead-letters it."""
        lease: _Lease = delivery.handle
        with self._guard("reject"):
            cursor = self._conn().execute(
                "UPDATE messages SET lease_until = NULL, lease_token = NULL, "
                "dead = CASE WHEN ? OR delivery_count >= ? THEN 1 ELSE 0 END, "
                "dead_reason = CASE WHEN ? THEN ? WHEN delivery_count >= ? THEN ? END "
                "WHERE id = ? AND lease_token = ?",
                (not requeue, self._delivery_limit, not requeue, _REJECTED, self._delivery_limit,
                 _DELIVERY_LIMIT, lease.row_id, lease.token))
        self._settled(lease, cursor.rowcount, "reject", delivery)

    def _renew_leases(self) -> None:
        with self._lock:
            held = list(self._held)
        for lease in held:
            try:
                cursor = self._conn().execute(
                    "UPDATE messages SET lease_until = ? WHERE id = ? AND lease_token = ?",
                    (time.time() + self._lease_seconds, lease.row_id, lease.token))
            except sqlite3.OperationalError as exc:
                log.warning("cannot renew the lease of message row %d: %s", lease.row_id, exc)
                continue
            if cursor.rowcount == 0:
                log.warning("lease of message row %d was lost before renewal", lease.row_id)
                with self._lock:
                    self._held.discard(lease)

    def run_with_keepalive(self, fn: Callable[[], T]) -> T:
        future = self._handler.submit(fn)
        while not wait([future], timeout=self._lease_seconds / 3).done:
            self._renew_leases()
        return future.result()

    def keepalive(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self._renew_leases()
            time.sleep(min(self._lease_seconds / 3, remaining))

    def depth(self, queue: str) -> int:
        with self._guard(f"depth of {queue}"):
            return self._conn().execute(f"SELECT COUNT(*) FROM messages WHERE {_READY}",
                                        (queue, time.time())).fetchone()[0]

    def purge(self, queue: str) -> int:
        with self._guard(f"purge {queue}"):
            return self._conn().execute(f"DELETE FROM messages WHERE {_READY}", (queue, time.time())).rowcount

    def dead_letters(self, queue: str, limit: int = 100) -> list[Delivery]:
        with self._guard(f"dead letters of {queue}"):
            rows = self._conn().execute(
                "SELECT body, message_id, headers, delivery_count, dead_reason FROM messages "
                "WHERE queue = ? AND dead = 1 ORDER BY id LIMIT ?", (queue, limit)).fetchall()
        return [Delivery(queue=queue + DLQ_SUFFIX, body=bytes(body), message_id=message_id,
                         redelivered=count > 1, delivery_count=count,
                         headers=json.loads(headers) | {_DEATH_REASON: reason})
                for body, message_id, headers, count, reason in rows]

    def replay_dead_letters(self, queue: str) -> int:
        with self._guard(f"replay dead letters of {queue}"):
            count = self._conn().execute(
                "UPDATE messages SET dead = 0, dead_reason = NULL, delivery_count = 0, lease_until = NULL, "
                "lease_token = NULL WHERE queue = ? AND dead = 1", (queue,)).rowcount
        log.info("replayed %d dead letters to %s", count, queue)
        return count

    def ping(self) -> bool:
        try:
            self._conn().execute("SELECT 1 FROM messages LIMIT 1").fetchall()
            return True
        except sqlite3.Error as exc:
            log.debug("ping queue database %s failed: %s", self._path, exc)
            return False

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
            self._held.clear()
        for conn in connections:
            conn.close()
        self._local = threading.local()
        self._handler.close()
