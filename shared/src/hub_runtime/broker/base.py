"""The broker port: what the hub needs from a message queue, whatever runs it.

Two adapters implement it: `RabbitMQBroker` (pika, production) and `SQLiteQueueBroker` (an embedded,
durable, multi-process queue for the one-machine default). `tests/test_broker_contract.py` runs the same
suite against both.

Semantics every adapter keeps:

- `declare(queue)` creates the durable queue and its dead-letter queue `<queue>.dlq`; idempotent.
- `publish` stores the message durably before it returns (publisher confirm / committed insert), or raises
  `BrokerUnavailable`. `publish_batch` does the same for several messages at once and says which were
  stored (the outbox relay's way: RabbitMQ waits for the confirms once per batch).
- `get` hands out at most one unacknowledged message per consumer (prefetch 1). A message that is neither
  acked nor rejected (the consumer crashed, its connection dropped, its lease ran out) comes back to the
  queue with `redelivered=True`. After `delivery_limit` deliveries it goes to the dead-letter queue.
- `reject(requeue=False)` dead-letters the message; `reject(requeue=True)` returns it to the queue.
- `run_with_keepalive(fn)` runs a long handler while the connection's heartbeats (or the message lease)
  are kept alive; `fn` must not use the broker itself. Handlers run one at a time on a thread the
  adapter keeps (`HandlerThread`).
- Every method reconnects with backoff after a lost connection, for up to `reconnect_timeout` seconds,
  then raises `BrokerUnavailable`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import HubError

T = TypeVar("T")

DLQ_SUFFIX = ".dlq"


class HandlerThread:
    """The thread `run_with_keepalive` runs handlers on while the caller keeps the connection alive:
    started on first use and kept until `close` (a new thread per task cost about 1 ms of every order).
    One thread, so handlers run one at a time; a handler must not call `run_with_keepalive` itself."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], T]) -> Future:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-handler")
            return self._pool.submit(fn)

    def close(self) -> None:
        """Let the thread end after the handler it may be running (the caller does not wait for it)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)


class BrokerError(HubError):
    """Base class of broker failures."""


class BrokerUnavailable(BrokerError):
    """The broker cannot be reached (after reconnect attempts); the caller should retry later."""


class DeliveryLost(BrokerError):
    """An ack or reject came too late: the connection that delivered the message is gone, so the
    broker will redeliver it. Consumers are idempotent, so this is logged, not fatal."""


@dataclass
class Delivery:
    queue: str
    body: bytes
    message_id: str | None
    redelivered: bool
    delivery_count: int
    headers: dict[str, Any] = field(default_factory=dict)
    # Adapter-private handle (a delivery tag plus connection generation, a row id plus lease token...).
    handle: Any = None


class Broker(ABC):
    """The port. See the module docstring for the promises every adapter keeps."""

    @abstractmethod
    def declare(self, queue: str) -> None: ...

    @abstractmethod
    def publish(self, queue: str, body: bytes, message_id: str | None = None,
                headers: dict[str, Any] | None = None) -> None: ...

    def publish_batch(self, queue: str, messages: list[tuple[bytes, str | None]]
                      ) -> tuple[list[int], BrokerError | None]:
        """Publish `(body, message_id)` messages to `queue`, in order. Returns the indexes of the messages
        stored durably, in order, and the error that stopped the rest (not raised), if any. This default
        publishes one message at a time and stops at the first failure; adapters with a cheaper way
        override it."""
        stored: list[int] = []
        for index, (body, message_id) in enumerate(messages):
            try:
                self.publish(queue, body, message_id=message_id)
            except BrokerError as exc:
                return stored, exc
            stored.append(index)
        return stored, None

    @abstractmethod
    def get(self, queue: str, timeout: float) -> Delivery | None: ...

    @abstractmethod
    def ack(self, delivery: Delivery) -> None: ...

    @abstractmethod
    def reject(self, delivery: Delivery, requeue: bool) -> None: ...

    @abstractmethod
    def run_with_keepalive(self, fn: Callable[[], T]) -> T: ...

    @abstractmethod
    def keepalive(self, seconds: float) -> None:
        """Wait `seconds` while keeping the connection and any held message alive."""

    @abstractmethod
    def depth(self, queue: str) -> int:
        """Messages ready in the queue (not counting one held unacked by a consumer)."""

    @abstractmethod
    def purge(self, queue: str) -> int:
        """Drop every ready message of the queue; returns how many."""

    @abstractmethod
    def dead_letters(self, queue: str, limit: int = 100) -> list[Delivery]:
        """Peek at the dead-letter queue of `queue` without consuming it. The Deliveries have no handle;
        header `x-first-death-reason` says "rejected" or "delivery_limit". RabbitMQ dead-letters
        asynchronously: a message rejected a moment ago may not be listed yet."""

    @abstractmethod
    def replay_dead_letters(self, queue: str) -> int:
        """Move every dead-lettered message of `queue` back to it; returns how many."""

    def release(self, queue: str) -> None:  # noqa: B027 - optional hook, a no-op where nothing is held
        """Stop consuming `queue` and hand back any prefetched message (a worker pausing)."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the broker answers now (used by /ready); never raises."""

    @abstractmethod
    def close(self) -> None: ...
