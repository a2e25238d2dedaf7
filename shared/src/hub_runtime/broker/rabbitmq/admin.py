"""Queue administration: declaring a queue with its dead-letter queue, depth, purge, and peeking at or
replaying dead letters. Each runs on a short-lived channel (`Connection.short_channel`)."""

from __future__ import annotations

import logging
from typing import Any

import pika
import pika.exceptions

from ..base import DLQ_SUFFIX, BrokerError, Delivery
from .connection import Connection
from .consumer import DELIVERY_COUNT

log = logging.getLogger("hub.broker")

# Headers the broker adds on delivery / dead-lettering; dropped on replay and from dead_letters().
_DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-", DELIVERY_COUNT)
_DEATH_REASON = "x-first-death-reason"  # kept on dead_letters(): "rejected" or "delivery_limit"


class Admin:
    """Declares durable quorum queues with dead-lettering after `delivery_limit` deliveries, and declares
    them again on every new connection."""

    def __init__(self, connection: Connection, delivery_limit: int) -> None:
        self._connection = connection
        self._delivery_limit = delivery_limit
        self._declared: set[str] = set()
        connection.add_hooks(opened=self._redeclare)

    def _redeclare(self, conn: pika.BlockingConnection) -> None:
        for queue in sorted(self._declared):
            self._declare_on(conn, queue)

    def declare(self, queue: str) -> None:
        connection = self._connection
        with connection.lock:
            connection.with_retry(f"declare {queue}", lambda: self._declare_on(connection.ensure(), queue))
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

    def depth(self, queue: str) -> int:
        def count() -> int:
            with self._connection.short_channel() as channel:
                try:
                    return channel.queue_declare(queue, passive=True).method.message_count
                except pika.exceptions.ChannelClosedByBroker as exc:
                    return _zero_if_missing(exc, f"depth of {queue!r}")

        with self._connection.lock:
            return self._connection.with_retry(f"depth of {queue}", count)

    def purge(self, queue: str) -> int:
        def purge() -> int:
            with self._connection.short_channel() as channel:
                try:
                    return channel.queue_purge(queue).method.message_count
                except pika.exceptions.ChannelClosedByBroker as exc:
                    return _zero_if_missing(exc, f"purge of {queue!r}")

        with self._connection.lock:
            return self._connection.with_retry(f"purge {queue}", purge)

    def dead_letters(self, queue: str, limit: int = 100) -> list[Delivery]:
        """Take up to `limit` dead letters without ack, then nack them back (requeue). The order of
        the dead-letter queue may change; RabbitMQ counts each peek as a delivery from the DLQ."""
        dlq = queue + DLQ_SUFFIX

        def peek() -> list[Delivery]:
            found: list[Delivery] = []
            with self._connection.short_channel() as channel:
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

        with self._connection.lock:
            return self._connection.with_retry(f"dead letters of {queue}", peek)

    def replay_dead_letters(self, queue: str) -> int:
        """Republish each dead letter to `queue` (confirmed), then ack it in the DLQ. Broker-added
        headers (x-death, x-delivery-count...) are dropped, so the message starts afresh."""
        dlq = queue + DLQ_SUFFIX
        moved = 0

        def replay() -> int:
            nonlocal moved
            with self._connection.short_channel() as channel:
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

        with self._connection.lock:
            count = self._connection.with_retry(f"replay dead letters of {queue}", replay)
        log.info("replayed %d dead letters to %s", count, queue)
        return count


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
