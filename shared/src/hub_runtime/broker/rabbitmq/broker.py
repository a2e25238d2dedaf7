"""`RabbitMQBroker`: the broker port, answered by the parts that share one connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..base import Broker, BrokerError, Delivery
from .admin import Admin
from .connection import Connection
from .consumer import Consumer
from .publisher import Publisher

T = TypeVar("T")


class RabbitMQBroker(Broker):
    """Durable quorum queues with dead-lettering; see the package docstring for the channel layout.

    `delivery_limit` is the number of deliveries before a message is dead-lettered (the port's meaning);
    RabbitMQ's `x-delivery-limit` counts returns, so queues are declared with `delivery_limit - 1`.
    All services declaring a queue must agree on it: RabbitMQ refuses to redeclare with other arguments.
    """

    def __init__(self, url: str, *, heartbeat: int = 30, reconnect_timeout: float = 30.0,
                 delivery_limit: int = 5, connection_name: str = "hub") -> None:
        if delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")
        self._connection = Connection(url, heartbeat=heartbeat, reconnect_timeout=reconnect_timeout,
                                      connection_name=connection_name)
        # in this order, since a new connection opens the publish channel, then declares the queues again
        self._publisher = Publisher(self._connection)
        self._admin = Admin(self._connection, delivery_limit)
        self._consumer = Consumer(self._connection)

    def declare(self, queue: str) -> None:
        self._admin.declare(queue)

    def publish(self, queue: str, body: bytes, message_id: str | None = None,
                headers: dict[str, Any] | None = None) -> None:
        self._publisher.publish(queue, body, message_id, headers)

    def publish_batch(self, queue: str, messages: list[tuple[bytes, str | None]]
                      ) -> tuple[list[int], BrokerError | None]:
        return self._publisher.publish_batch(queue, messages)

    def get(self, queue: str, timeout: float) -> Delivery | None:
        return self._consumer.get(queue, timeout)

    def ack(self, delivery: Delivery) -> None:
        self._consumer.ack(delivery)

    def reject(self, delivery: Delivery, requeue: bool) -> None:
        self._consumer.reject(delivery, requeue)

    def release(self, queue: str) -> None:
        self._consumer.release(queue)

    def run_with_keepalive(self, fn: Callable[[], T]) -> T:
        return self._connection.run_with_keepalive(fn)

    def keepalive(self, seconds: float) -> None:
        self._connection.keepalive(seconds)

    def depth(self, queue: str) -> int:
        return self._admin.depth(queue)

    def purge(self, queue: str) -> int:
        return self._admin.purge(queue)

    def dead_letters(self, queue: str, limit: int = 100) -> list[Delivery]:
        return self._admin.dead_letters(queue, limit)

    def replay_dead_letters(self, queue: str) -> int:
        return self._admin.replay_dead_letters(queue)

    def ping(self) -> bool:
        return self._connection.ping()

    def close(self) -> None:
        with self._connection.lock:
            self._consumer.release_all()
            self._connection.close()
