"""RabbitMQ adapter of the broker port (pika `BlockingConnection`).

Layout on one connection:

- a publish channel in confirm mode, for `publish` (one message, its confirm awaited);
- a batch channel in confirm mode, for `publish_batch` (the outbox relay): every message of a batch is
  written, then the broker's confirms are awaited once for the whole batch (RabbitMQ acks several delivery
  tags in one frame), instead of one round trip per message;
- one consumer channel per queue read with `get` (prefetch 1, a `channel.consume` generator kept between
  calls). pika allows only one consume generator per channel, and cancelling a generator to switch queues
  would return its prefetched message and count it as a delivery, so each queue keeps its own channel;
- short-lived channels for declare/depth/purge/dead-letter work, so a broker-side channel error there
  (404, 406) does not take deliveries held on the other channels with it.

Any connection or channel failure drops the whole connection; the next call reopens it (with backoff, for
up to `reconnect_timeout`) and increments the generation, which makes acks of older deliveries raise
`DeliveryLost`. pika connections are not thread-safe: every public method holds an `RLock`; waits are cut
into short slices so that other threads get their turn.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

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

# Failures that a new connection can cure. UnroutableError/NackError (also AMQPError) and broker-side
# channel errors on short-lived channels are turned into BrokerError before they reach the retry loop.
_CONNECTION_ERRORS = (pika.exceptions.AMQPError, OSError)
_SLICE = 0.1  # seconds the lock is held at most while waiting
_QUIET_WAIT = 2.0  # seconds a handler may run before the connection is served meanwhile
_STEP_ASIDE = 0.002  # seconds `get` leaves the lock to other threads between empty slices
_PING_TIMEOUT = 1.2
_FIRST_BACKOFF, _MAX_BACKOFF = 0.2, 5.0
# Headers the broker adds on delivery / dead-lettering; dropped from Delivery.headers or on replay.
_DELIVERY_COUNT = "x-delivery-count"
_DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-", _DELIVERY_COUNT)
_DEATH_REASON = "x-first-death-reason"  # kept on dead_letters(): "rejected" or "delivery_limit"


@dataclass
class _Handle:
    channel: BlockingChannel
    delivery_tag: int
    generation: int
    settled: bool = False


class _Confirms:
    """The confirm state of the batch channel: delivery tags of this channel not yet acked or nacked,
    fed by pika's callbacks while `_flush_output` runs the I/O loop."""

    def __init__(self, channel: BlockingChannel):
        self.channel = channel
        self.last_tag = 0
        self.unsettled: dict[int, int] = {}  # delivery tag -> index in the current batch
        self.nacked: set[int] = set()  # indexes
        self.returned: set[str | None] = set()  # message ids returned as unroutable

    def on_confirm(self, frame) -> None:
        method = frame.method
        if method.multiple:
            tags = [tag for tag in self.unsettled if tag <= method.delivery_tag]
        else:
            tags = [method.delivery_tag]
        nack = isinstance(method, pika.spec.Basic.Nack)
        for tag in tags:
            index = self.unsettled.pop(tag, None)
            if nack and index is not None:
                self.nacked.add(index)

    def on_return(self, _channel, _method, properties, _body) -> None:
        self.returned.add(properties.message_id)


@dataclass
class _Consumer:
    channel: BlockingChannel
    messages: Iterator[tuple[Any, Any, Any]] | None = None  # None while released


class RabbitMQBroker(Broker):
    """Durable quorum queues with dead-lettering; see the module docstring for the channel layout.

    `delivery_limit` is the number of deliveries before a message is dead-lettered (the port's meaning);
    RabbitMQ's `x-delivery-limit` counts returns, so queues are declared with `delivery_limit - 1`.
    All services declaring a queue must agree on it: RabbitMQ refuses to redeclare with other arguments.
    """

    def __init__(self, url: str, *, heartbeat: int = 30, reconnect_timeout: float = 30.0,
                 delivery_limit: int = 5, connection_name: str = "hub") -> None:
        if delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")
        self._url = url
        self._heartbeat = heartbeat
        self._reconnect_timeout = reconnect_timeout
        self._delivery_limit = delivery_limit
        self._connection_name = connection_name
        params = pika.URLParameters(url)
        self._where = f"{params.host}:{params.port} vhost {params.virtual_host!r}"  # never the password
        self._lock = threading.RLock()
        self._handler = HandlerThread()
        self._conn: pika.BlockingConnection | None = None
        self._publisher: BlockingChannel | None = None
        self._confirms: _Confirms | None = None
        self._consumers: dict[str, _Consumer] = {}
        self._declared: set[str] = set()
        self._generation = 0

    # -- connection management -------------------------------------------------------------------

    def _connect(self, timeout: float) -> None:
        params = pika.URLParameters(self._url)
        params.heartbeat = self._heartbeat
        params.blocked_connection_timeout = self._reconnect_timeout
        params.socket_timeout = timeout
        params.stack_timeout = timeout
        params.connection_attempts = 1
        params.client_properties = {"connection_name": self._connection_name}
        conn = pika.BlockingConnection(params)
        try:
            publisher = conn.channel()
            publisher.confirm_delivery()
            for queue in sorted(self._declared):
                self._declare_on(conn, queue)
        except BaseException:
            _close_quietly(conn)
            raise
        self._conn, self._publisher = conn, publisher
        self._generation += 1
        log.info("connected to RabbitMQ at %s (generation %d)", self._where, self._generation)

    def _ensure_connection(self) -> pika.BlockingConnection:
        if self._conn is None or not self._conn.is_open:
            self._drop_connection()
            self._connect(timeout=max(0.5, min(10.0, self._reconnect_timeout)))
        assert self._conn is not None
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn, self._publisher, self._consumers = self._conn, None, None, {}
        self._confirms = None
        if conn is not None:
            _close_quietly(conn)

    def _with_retry(self, what: str, op: Callable[[], T]) -> T:
        """Run `op` on an open connection, reconnecting with jittered exponential backoff."""
        deadline = time.monotonic() + self._reconnect_timeout
        delay = _FIRST_BACKOFF
        while True:
            try:
                self._ensure_connection()
                return op()
            except _CONNECTION_ERRORS as exc:
                self._drop_connection()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrokerUnavailable(
                        f"{what}: RabbitMQ at {self._where} unavailable for "
                        f"{self._reconnect_timeout:g}s ({exc!r})") from exc
                log.warning("%s: RabbitMQ at %s failed (%r); retrying", what, self._where, exc)
                time.sleep(min(remaining, random.uniform(delay / 2, delay)))
                delay = min(delay * 2, _MAX_BACKOFF)

    @contextmanager
    def _short_channel(self) -> Generator[BlockingChannel, None, None]:
        channel = self._ensure_connection().channel()
        try:
            yield channel
        finally:
            if channel.is_open:
                channel.close()

    # -- the port ----------------------------------------------------------------------------------

    def declare(self, queue: str) -> None:
        with self._lock:
            self._with_retry(f"declare {queue}", lambda: self._declare_on(self._ensure_connection(), queue))
            self._declared.add(queue)

    def _declare_on(self, conn: pika.BlockingConnection, queue: str) -> None:
        dlq_arguments: dict[str, Any] = {"x-queue-type": "quorum"}
        if _server_major(conn) >= 4:
            # RabbitMQ 4 defaults quorum queues to 20 deliveries; each dead_letters() peek counts as one.
            dlq_arguments["x-delivery-limit"] = -1
        arguments = {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue + DLQ_SUFFIX,
            "x-delivery-limit": self._delivery_limit - 1,
        }
        channel = conn.channel()
        try:
            channel.queue_declare(queue + DLQ_SUFFIX, durable=True, arguments=dlq_arguments)
            channel.queue_declare(queue, durable=True, arguments=arguments)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise BrokerError(f"cannot declare queue {queue!r}: {exc.reply_text}") from exc
        finally:
            if channel.is_open:
                channel.close()

    def publish(self, queue: str, body: bytes, message_id: str | None = None,
                headers: dict[str, Any] | None = None) -> None:
        properties = pika.BasicProperties(delivery_mode=2, message_id=message_id, headers=headers or None)

        def send() -> None:
            assert self._publisher is not None
            try:
                self._publisher.basic_publish("", queue, body, properties, mandatory=True)
            except pika.exceptions.UnroutableError as exc:
                raise BrokerUnavailable(f"publish to {queue!r}: no such queue (not declared yet?)") from exc
            except pika.exceptions.NackError as exc:
                raise BrokerUnavailable(f"publish to {queue!r}: the broker refused the message") from exc

        with self._lock:
            self._with_retry(f"publish to {queue}", send)

    def publish_batch(self, queue: str, messages: list[tuple[bytes, str | None]]
                      ) -> tuple[list[int], BrokerError | None]:
        """Publish `(body, message_id)` messages to `queue` (persistent, mandatory), waiting for the
        broker's confirms once for the whole batch. Returns the indexes of the messages the broker
        confirmed (acked, not returned as unroutable), in order, and the error that stopped the rest, if
        any. After a lost connection the unconfirmed messages are published again on a new one (within
        `reconnect_timeout`); a message may then reach the queue twice (at-least-once)."""
        confirmed: set[int] = set()
        error: BrokerError | None = None

        def send() -> None:
            pending = [i for i in range(len(messages)) if i not in confirmed]
            confirms = self._confirm_channel()
            confirms.nacked.clear()
            confirms.returned.clear()
            impl = confirms.channel._impl  # pika's BlockingChannel confirms each publish: use its channel
            for index in pending:
                body, message_id = messages[index]
                impl.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2, message_id=message_id),
                                   mandatory=True)
                confirms.last_tag += 1
                confirms.unsettled[confirms.last_tag] = index
            confirms.channel._flush_output(lambda: not confirms.unsettled)
            for index in pending:
                if index not in confirms.nacked and messages[index][1] not in confirms.returned:
                    confirmed.add(index)
            if confirms.returned:
                raise BrokerError(f"publish to {queue!r}: no such queue (not declared yet?)")
            if confirms.nacked:
                raise BrokerError(f"publish to {queue!r}: the broker refused {len(confirms.nacked)} messages")

        with self._lock:
            try:
                self._with_retry(f"publish to {queue}", send)
            except BrokerError as exc:
                error = exc
        return sorted(confirmed), error

    def _confirm_channel(self) -> _Confirms:
        if self._confirms is None or not self._confirms.channel.is_open:
            channel = self._ensure_connection().channel()
            confirms = _Confirms(channel)
            selected: list[bool] = []
            channel._impl.confirm_delivery(ack_nack_callback=confirms.on_confirm,
                                           callback=lambda _frame: selected.append(True))
            channel._flush_output(lambda: bool(selected))
            channel._impl.add_on_return_callback(confirms.on_return)
            self._confirms = confirms
        return self._confirms

    def get(self, queue: str, timeout: float) -> Delivery | None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                delivery = self._with_retry(f"get from {queue}", lambda: self._poll(queue))
            if delivery is not None or time.monotonic() >= deadline:
                return delivery
            # Python's locks are not fair: without a pause, this loop would take the lock straight back
            # and starve the threads waiting for it (publishers, probes) for the whole timeout
            time.sleep(_STEP_ASIDE)

    def _poll(self, queue: str) -> Delivery | None:
        """Wait up to one slice for a message on the queue's consumer channel."""
        consumer = self._consumers.get(queue)
        if consumer is None:
            channel = self._ensure_connection().channel()
            channel.basic_qos(prefetch_count=1)
            consumer = self._consumers[queue] = _Consumer(channel)
        if consumer.messages is None:
            consumer.messages = consumer.channel.consume(queue, inactivity_timeout=_SLICE)
        try:
            method, properties, body = next(consumer.messages)
        except StopIteration:  # the broker cancelled the consumer (queue deleted): consume again next time
            consumer.messages = None
            return None
        except pika.exceptions.ChannelClosedByBroker as exc:
            del self._consumers[queue]
            if exc.reply_code == 404:
                raise BrokerError(f"get from {queue!r}: no such queue (not declared yet?)") from exc
            raise
        if method is None:
            return None
        headers = dict(properties.headers or {})
        count = headers.pop(_DELIVERY_COUNT, None)
        delivery_count = int(count) + 1 if count is not None else (2 if method.redelivered else 1)
        return Delivery(queue=queue, body=body, message_id=properties.message_id,
                        redelivered=method.redelivered, delivery_count=delivery_count, headers=headers,
                        handle=_Handle(consumer.channel, method.delivery_tag, self._generation))

    def ack(self, delivery: Delivery) -> None:
        self._settle(delivery, "ack", lambda h: h.channel.basic_ack(h.delivery_tag))

    def reject(self, delivery: Delivery, requeue: bool) -> None:
        self._settle(delivery, "reject",
                     lambda h: h.channel.basic_nack(h.delivery_tag, requeue=requeue))

    def _settle(self, delivery: Delivery, what: str, op: Callable[[_Handle], None]) -> None:
        """Ack or nack on the channel that delivered; never retried, since a new channel would not
        know the delivery tag."""
        handle: _Handle = delivery.handle
        with self._lock:
            if handle.settled:
                raise DeliveryLost(f"{what} {delivery.message_id}: already acknowledged or rejected")
            if handle.generation != self._generation or self._conn is None:
                raise DeliveryLost(f"{what} {delivery.message_id}: the connection that delivered it is gone")
            try:
                self._conn.process_data_events(0)  # notice a dropped connection before writing to it
                op(handle)
            except _CONNECTION_ERRORS as exc:
                self._drop_connection()
                raise DeliveryLost(f"{what} {delivery.message_id}: connection lost ({exc!r})") from exc
            handle.settled = True

    def release(self, queue: str) -> None:
        """Cancel the queue's consumer: a prefetched message goes back (RabbitMQ counts that as a
        delivery). The channel stays open, so deliveries already handed out can still be acked."""
        with self._lock:
            consumer = self._consumers.get(queue)
            if consumer is None or consumer.messages is None:
                return
            consumer.messages = None
            try:
                consumer.channel.cancel()
            except _CONNECTION_ERRORS as exc:
                log.warning("release %s: RabbitMQ at %s failed (%r)", queue, self._where, exc)
                self._drop_connection()

    def run_with_keepalive(self, fn: Callable[[], T]) -> T:
        """Most handlers take milliseconds: wait for them plainly first (a heartbeat can wait that long),
        and serve the connection only for a longer one (waking the pump's loop cost about 1 ms)."""
        future = self._handler.submit(fn)
        with suppress(FutureTimeout):  # raised by the wait, or by a handler that timed out: see below
            return future.result(timeout=min(self._heartbeat / 4, _QUIET_WAIT))
        future.add_done_callback(lambda _: self._wake())
        while not future.done():
            self._pump()
        return future.result()

    def _wake(self) -> None:
        """Interrupt the pump's wait as soon as the handler finishes (else up to a slice is lost)."""
        conn = self._conn
        if conn is not None and conn.is_open:
            with suppress(_CONNECTION_ERRORS):  # a dead connection is noticed by the pump itself
                conn.add_callback_threadsafe(lambda: None)

    def _pump(self) -> None:
        """Serve heartbeats for one slice; a lost connection is only dropped (the pending ack will
        report it), so that the handler's result is never lost to a broker problem."""
        with self._lock:
            if self._conn is not None and self._conn.is_open:
                try:
                    self._conn.process_data_events(time_limit=_SLICE)
                    return
                except _CONNECTION_ERRORS as exc:
                    log.warning("RabbitMQ at %s lost during a handler (%r)", self._where, exc)
                    self._drop_connection()
        time.sleep(_SLICE)

    def keepalive(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            with self._lock:
                self._with_retry("keepalive",
                                 lambda: self._ensure_connection().sleep(min(_SLICE, remaining)))

    def depth(self, queue: str) -> int:
        def count() -> int:
            with self._short_channel() as channel:
                try:
                    return channel.queue_declare(queue, passive=True).method.message_count
                except pika.exceptions.ChannelClosedByBroker as exc:
                    return _zero_if_missing(exc, f"depth of {queue!r}")

        with self._lock:
            return self._with_retry(f"depth of {queue}", count)

    def purge(self, queue: str) -> int:
        def purge() -> int:
            with self._short_channel() as channel:
                try:
                    return channel.queue_purge(queue).method.message_count
                except pika.exceptions.ChannelClosedByBroker as exc:
                    return _zero_if_missing(exc, f"purge of {queue!r}")

        with self._lock:
            return self._with_retry(f"purge {queue}", purge)

    def dead_letters(self, queue: str, limit: int = 100) -> list[Delivery]:
        """Take up to `limit` dead letters without ack, then nack them back (requeue). The order of
        the dead-letter queue may change; RabbitMQ counts each peek as a delivery from the DLQ."""
        dlq = queue + DLQ_SUFFIX

        def peek() -> list[Delivery]:
            found: list[Delivery] = []
            with self._short_channel() as channel:
                try:
                    for _ in range(limit):
                        method, properties, body = channel.basic_get(dlq)
                        if method is None:
                            break
                        headers = _without_death_headers(properties.headers)
                        if reason := (properties.headers or {}).get(_DEATH_REASON):
                            headers[_DEATH_REASON] = reason
                        found.append(Delivery(queue=dlq, body=body, message_id=properties.message_id,
                                              redelivered=method.redelivered, delivery_count=1,
                                              headers=headers))
                        last_tag = method.delivery_tag
                    if found:
                        channel.basic_nack(last_tag, multiple=True, requeue=True)
                except pika.exceptions.ChannelClosedByBroker as exc:
                    _zero_if_missing(exc, f"dead letters of {queue!r}")
                    return []
            return found

        with self._lock:
            return self._with_retry(f"dead letters of {queue}", peek)

    def replay_dead_letters(self, queue: str) -> int:
        """Republish each dead letter to `queue` (confirmed), then ack it in the DLQ. Broker-added
        headers (x-death, x-delivery-count...) are dropped, so the message starts afresh."""
        dlq = queue + DLQ_SUFFIX
        moved = 0

        def replay() -> int:
            nonlocal moved
            with self._short_channel() as channel:
                channel.confirm_delivery()
                try:
                    waiting = channel.queue_declare(dlq, passive=True).method.message_count
                    for _ in range(waiting):
                        method, properties, body = channel.basic_get(dlq)
                        if method is None:
                            break
                        properties.headers = _without_death_headers(properties.headers) or None
                        properties.delivery_mode = 2
                        channel.basic_publish("", queue, body, properties, mandatory=True)
                        channel.basic_ack(method.delivery_tag)
                        moved += 1
                except pika.exceptions.ChannelClosedByBroker as exc:
                    _zero_if_missing(exc, f"replay of {queue!r}")
                except pika.exceptions.UnroutableError as exc:
                    raise BrokerError(f"replay to {queue!r}: no such queue") from exc
            return moved

        with self._lock:
            count = self._with_retry(f"replay dead letters of {queue}", replay)
        log.info("replayed %d dead letters to %s", count, queue)
        return count

    def ping(self) -> bool:
        if not self._lock.acquire(timeout=0.4):  # another thread is busy with the connection
            conn = self._conn
            return conn is not None and conn.is_open
        try:
            if self._conn is not None and self._conn.is_open:
                try:
                    self._conn.process_data_events(0)
                    return True
                except _CONNECTION_ERRORS:
                    pass
            self._drop_connection()
            self._connect(timeout=_PING_TIMEOUT)
            return True
        except Exception as exc:  # noqa: BLE001 - ping reports, never raises
            log.debug("ping RabbitMQ at %s failed: %r", self._where, exc)
            self._drop_connection()
            return False
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            for queue in list(self._consumers):
                self.release(queue)
            self._drop_connection()
        self._handler.close()


def _close_quietly(conn: pika.BlockingConnection) -> None:
    try:
        if conn.is_open:
            conn.close()
    except _CONNECTION_ERRORS:
        pass


def _server_major(conn: pika.BlockingConnection) -> int:
    version = conn._impl.server_properties.get("version", "0")  # pika has no public accessor
    if isinstance(version, bytes):
        version = version.decode()
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return 0


def _zero_if_missing(exc: pika.exceptions.ChannelClosedByBroker, what: str) -> int:
    if exc.reply_code == 404:
        return 0
    raise BrokerError(f"{what}: {exc.reply_text}") from exc


def _without_death_headers(headers: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (headers or {}).items() if not k.startswith(_DEATH_HEADERS)}
