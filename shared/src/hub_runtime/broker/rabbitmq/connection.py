"""The one pika connection of a `RabbitMQBroker`: opened on demand, reopened with backoff after a failure,
and served (heartbeats) while a handler runs or the worker waits."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager, suppress
from typing import TypeVar

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from ..base import BrokerUnavailable, HandlerThread

T = TypeVar("T")

log = logging.getLogger("hub.broker")

# Failures that a new connection can cure. UnroutableError/NackError (also AMQPError) and broker-side
# channel errors on short-lived channels are turned into BrokerError before they reach the retry loop.
CONNECTION_ERRORS = (pika.exceptions.AMQPError, OSError)
SLICE = 0.1  # seconds the lock is held at most while waiting
_QUIET_WAIT = 2.0  # seconds a handler may run before the connection is served meanwhile
_PING_TIMEOUT = 1.2
_FIRST_BACKOFF, _MAX_BACKOFF = 0.2, 5.0


class Connection:
    """A pika `BlockingConnection` shared by the broker's parts (publisher, consumer, admin), each of which
    may register what to do when a connection opens (open its channel, declare its queues) and when it is
    dropped (forget its channels). `lock` guards every use of the connection (pika is not thread-safe);
    `generation` counts the connections opened, so a delivery can tell whether its channel is gone."""

    def __init__(self, url: str, *, heartbeat: int, reconnect_timeout: float, connection_name: str) -> None:
        self._url = url
        self.heartbeat = heartbeat
        self.reconnect_timeout = reconnect_timeout
        self._connection_name = connection_name
        params = pika.URLParameters(url)
        self.where = f"{params.host}:{params.port} vhost {params.virtual_host!r}"  # never the password
        self.lock = threading.RLock()
        self.current: pika.BlockingConnection | None = None
        self.generation = 0
        self._handler = HandlerThread()
        self._opened: list[Callable[[pika.BlockingConnection], None]] = []
        self._dropped: list[Callable[[], None]] = []

    def add_hooks(self, opened: Callable[[pika.BlockingConnection], None] | None = None,
                  dropped: Callable[[], None] | None = None) -> None:
        """`opened(conn)` runs on each new connection before it is used (in the order registered); a
        failure there fails the connection. `dropped()` runs when the connection is let go."""
        if opened is not None:
            self._opened.append(opened)
        if dropped is not None:
            self._dropped.append(dropped)

    def _connect(self, timeout: float) -> None:
        params = pika.URLParameters(self._url)
        params.heartbeat = self.heartbeat
        params.blocked_connection_timeout = self.reconnect_timeout
        params.socket_timeout = timeout
        params.stack_timeout = timeout
        params.connection_attempts = 1
        params.client_properties = {"connection_name": self._connection_name}
        conn = pika.BlockingConnection(params)
        try:
            for opened in self._opened:
                opened(conn)
        except BaseException:
            self._forget()
            _close_quietly(conn)
            raise
        self.current = conn
        self.generation += 1
        log.info("connected to RabbitMQ at %s (generation %d)", self.where, self.generation)

    def ensure(self) -> pika.BlockingConnection:
        """The open connection, opened now if there is none."""
        if self.current is None or not self.current.is_open:
            self.drop()
            self._connect(timeout=max(0.5, min(10.0, self.reconnect_timeout)))
        assert self.current is not None
        return self.current

    def drop(self) -> None:
        conn, self.current = self.current, None
        self._forget()
        if conn is not None:
            _close_quietly(conn)

    def _forget(self) -> None:
        for dropped in self._dropped:
            dropped()

    def with_retry(self, what: str, op: Callable[[], T]) -> T:
        """Run `op` on an open connection, reconnecting with jittered exponential backoff."""
        deadline = time.monotonic() + self.reconnect_timeout
        delay = _FIRST_BACKOFF
        while True:
            try:
                self.ensure()
                return op()
            except CONNECTION_ERRORS as exc:
                self.drop()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrokerUnavailable(
                        f"{what}: RabbitMQ at {self.where} unavailable for "
                        f"{self.reconnect_timeout:g}s ({exc!r})") from exc
                log.warning("%s: RabbitMQ at %s failed (%r); retrying", what, self.where, exc)
                time.sleep(min(remaining, random.uniform(delay / 2, delay)))
                delay = min(delay * 2, _MAX_BACKOFF)

    @contextmanager
    def short_channel(self) -> Generator[BlockingChannel, None, None]:
        """A channel for one piece of work, so that a broker-side channel error there (404, 406) does not
        take deliveries held on the other channels with it."""
        channel = self.ensure().channel()
        try:
            yield channel
        finally:
            if channel.is_open:
                channel.close()

    def run_with_keepalive(self, fn: Callable[[], T]) -> T:
        """Most handlers take milliseconds: wait for them plainly first (a heartbeat can wait that long),
        and serve the connection only for a longer one (waking the pump's loop cost about 1 ms)."""
        future = self._handler.submit(fn)
        with suppress(FutureTimeout):  # raised by the wait, or by a handler that timed out: see below
            return future.result(timeout=min(self.heartbeat / 4, _QUIET_WAIT))
        future.add_done_callback(lambda _: self._wake())
        while not future.done():
            self._pump()
        return future.result()

    def _wake(self) -> None:
        """Interrupt the pump's wait as soon as the handler finishes (else up to a slice is lost)."""
        conn = self.current
        if conn is not None and conn.is_open:
            with suppress(CONNECTION_ERRORS):  # a dead connection is noticed by the pump itself
                conn.add_callback_threadsafe(lambda: None)

    def _pump(self) -> None:
        """Serve heartbeats for one slice; a lost connection is only dropped (the pending ack will
        report it), so that the handler's result is never lost to a broker problem."""
        with self.lock:
            if self.current is not None and self.current.is_open:
                try:
                    self.current.process_data_events(time_limit=SLICE)
                    return
                except CONNECTION_ERRORS as exc:
                    log.warning("RabbitMQ at %s lost during a handler (%r)", self.where, exc)
                    self.drop()
        time.sleep(SLICE)

    def keepalive(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            with self.lock:
                self.with_retry("keepalive", lambda: self.ensure().sleep(min(SLICE, remaining)))

    def ping(self) -> bool:
        if not self.lock.acquire(timeout=0.4):  # another thread is busy with the connection
            conn = self.current
            return conn is not None and conn.is_open
        try:
            if self.current is not None and self.current.is_open:
                try:
                    self.current.process_data_events(0)
                    return True
                except CONNECTION_ERRORS:
                    pass
            self.drop()
            self._connect(timeout=_PING_TIMEOUT)
            return True
        except Exception as exc:  # noqa: BLE001 - ping reports, never raises
            log.debug("ping RabbitMQ at %s failed: %r", self.where, exc)
            self.drop()
            return False
        finally:
            self.lock.release()

    def close(self) -> None:
        with self.lock:
            self.drop()
        self._handler.close()


def _close_quietly(conn: pika.BlockingConnection) -> None:
    try:
        if conn.is_open:
            conn.close()
    except CONNECTION_ERRORS:
        pass
