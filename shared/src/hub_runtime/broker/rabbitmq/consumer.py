"""Taking messages (prefetch 1, one consumer channel per queue) and settling them on their channel."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from ..base import BrokerError, Delivery, DeliveryLost
from .connection import CONNECTION_ERRORS, SLICE, Connection

log = logging.getLogger("hub.broker")

_STEP_ASIDE = 0.002  # seconds `get` leaves the lock to other threads between empty slices
DELIVERY_COUNT = "x-delivery-count"  # added by the broker on delivery; dropped from Delivery.headers


@dataclass
class _Handle:
    channel: BlockingChannel
    delivery_tag: int
    generation: int
    settled: bool = False


@dataclass
class _QueueConsumer:
    channel: BlockingChannel
    messages: Iterator[tuple[Any, Any, Any]] | None = None  # None while released


class Consumer:
    """One consumer channel per queue read with `get` (prefetch 1, a `channel.consume` generator kept
    between calls). pika allows only one consume generator per channel, and cancelling a generator to
    switch queues would return its prefetched message and count it as a delivery, so each queue keeps its
    own channel."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._consumers: dict[str, _QueueConsumer] = {}
        connection.add_hooks(dropped=self._dropped)

    def _dropped(self) -> None:
        self._consumers = {}

    def get(self, queue: str, timeout: float) -> Delivery | None:
        deadline = time.monotonic() + timeout
        while True:
            with self._connection.lock:
                delivery = self._connection.with_retry(f"get from {queue}", lambda: self._poll(queue))
            if delivery is not None or time.monotonic() >= deadline:
                return delivery
            # Python's locks are not fair: without a pause, this loop would take the lock straight back
            # and starve the threads waiting for it (publishers, probes) for the whole timeout
            time.sleep(_STEP_ASIDE)

    def _poll(self, queue: str) -> Delivery | None:
        """Wait up to one slice for a message on the queue's consumer channel."""
        consumer = self._consumers.get(queue)
        if consumer is None:
            channel = self._connection.ensure().channel()
            channel.basic_qos(prefetch_count=1)
            consumer = self._consumers[queue] = _QueueConsumer(channel)
        if consumer.messages is None:
            consumer.messages = consumer.channel.consume(queue, inactivity_timeout=SLICE)
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
        count = headers.pop(DELIVERY_COUNT, None)
        delivery_count = int(count) + 1 if count is not None else (2 if method.redelivered else 1)
        return Delivery(queue=queue, body=body, message_id=properties.message_id,
                        redelivered=method.redelivered, delivery_count=delivery_count, headers=headers,
                        handle=_Handle(consumer.channel, method.delivery_tag, self._connection.generation))

    def ack(self, delivery: Delivery) -> None:
        self._settle(delivery, "ack", lambda h: h.channel.basic_ack(h.delivery_tag))

    def reject(self, delivery: Delivery, requeue: bool) -> None:
        self._settle(delivery, "reject",
                     lambda h: h.channel.basic_nack(h.delivery_tag, requeue=requeue))

    def _settle(self, delivery: Delivery, what: str, op: Callable[[_Handle], None]) -> None:
        """Ack or nack on the channel that delivered; never retried, since a new channel would not
        know the delivery tag."""
        handle: _Handle = delivery.handle
        connection = self._connection
        with connection.lock:
            if handle.settled:
                raise DeliveryLost(f"{what} {delivery.message_id}: already acknowledged or rejected")
            if handle.generation != connection.generation or connection.current is None:
                raise DeliveryLost(f"{what} {delivery.message_id}: the connection that delivered it is gone")
            try:
                connection.current.process_data_events(0)  # notice a dropped connection before writing to it
                op(handle)
            except CONNECTION_ERRORS as exc:
                connection.drop()
                raise DeliveryLost(f"{what} {delivery.message_id}: connection lost ({exc!r})") from exc
            handle.settled = True

    def release(self, queue: str) -> None:
        """Cancel the queue's consumer: a prefetched message goes back (RabbitMQ counts that as a
        delivery). The channel stays open, so deliveries already handed out can still be acked."""
        with self._connection.lock:
            consumer = self._consumers.get(queue)
            if consumer is None or consumer.messages is None:
                return
            consumer.messages = None
            try:
                consumer.channel.cancel()
            except CONNECTION_ERRORS as exc:
                log.warning("release %s: RabbitMQ at %s failed (%r)", queue, self._connection.where, exc)
                self._connection.drop()

    def release_all(self) -> None:
        with self._connection.lock:
            for queue in list(self._consumers):
                self.release(queue)
