"""The broker port's contract, run against both adapters and the in-memory fake of fast tests (`backend`
is parametrized: sqlite, rabbitmq, memory).

RabbitMQ comes from `AMQP_URL` (default the local guest account); when it is unreachable its tests skip,
or fail with `REQUIRE_RABBITMQ=1`. Every queue is named `test-<run>-...` and deleted afterwards.
Connection cuts go through a `TcpProxy`, never through the shared RabbitMQ itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from hub_runtime.broker.base import Broker, BrokerUnavailable, DeliveryLost
from hub_runtime.broker.rabbitmq import RabbitMQBroker
from hub_runtime.broker.sqlite_queue import SQLiteQueueBroker
from hub_runtime.testing.fakes import InMemoryBroker, InMemoryQueues
from hub_runtime.testing.services import RABBITMQ_URL, delete_queues, free_port, need
from hub_runtime.testing.tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(30)

RUN = f"test-{uuid.uuid4().hex[:8]}-"
T = TypeVar("T")


class Backend:
    """Makes brokers of one kind on one store, and names queues; `cleanup` closes and deletes them."""

    def __init__(self, kind: str, target: Any) -> None:
        self.kind = kind
        self.target = target  # the SQLite file, the AMQP URL, or the InMemoryQueues
        self.brokers: list[Broker] = []
        self.queues: list[str] = []

    def make(self, **options: Any) -> Broker:
        if self.kind == "sqlite":
            options.pop("heartbeat", None)
            broker: Broker = SQLiteQueueBroker(self.target, **options)
        elif self.kind == "memory":
            broker = InMemoryBroker(self.target, delivery_limit=options.get("delivery_limit", 5))
        else:
            options.pop("lease_seconds", None)
            options.setdefault("reconnect_timeout", 5.0)
            broker = RabbitMQBroker(self.target, **options)
        self.brokers.append(broker)
        return broker

    def queue(self) -> str:
        name = f"{RUN}{uuid.uuid4().hex[:6]}"
        self.queues.append(name)
        return name

    def cleanup(self) -> None:
        for broker in self.brokers:
            broker.close()
        if self.kind == "rabbitmq" and self.queues:
            delete_queues(self.target, self.queues)


@pytest.fixture
def rabbit_url() -> str:
    need("RabbitMQ", RABBITMQ_URL, 5672, "REQUIRE_RABBITMQ")
    return RABBITMQ_URL


@pytest.fixture(params=["sqlite", "rabbitmq", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        target: Any = str(tmp_path / "not-yet-there" / "queue.db")  # the adapter creates the folder
    elif request.param == "memory":
        target = InMemoryQueues()
    else:
        target = request.getfixturevalue("rabbit_url")
    backend = Backend(request.param, target)
    yield backend
    backend.cleanup()


@pytest.fixture
def broker(backend: Backend) -> Broker:
    return backend.make()


@pytest.fixture
def queue(backend: Backend, broker: Broker) -> str:
    name = backend.queue()
    broker.declare(name)
    return name


def eventually(check: Callable[[], T], timeout: float = 5.0) -> T:
    """RabbitMQ dead-letters asynchronously: poll until `check()` is truthy (or return its last value)."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def via(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}").geturl()


# -- both adapters ------------------------------------------------------------------------------------


def test_publish_get_ack(broker: Broker, queue: str) -> None:
    broker.publish(queue, b"hello")
    delivery = broker.get(queue, timeout=5)
    assert delivery is not None
    assert (delivery.body, delivery.redelivered, delivery.delivery_count) == (b"hello", False, 1)
    broker.ack(delivery)
    started = time.monotonic()
    assert broker.get(queue, timeout=0.3) is None
    assert 0.25 <= time.monotonic() - started < 2
    assert broker.depth(queue) == 0


def test_message_id_and_headers_round_trip(broker: Broker, queue: str) -> None:
    broker.publish(queue, b"{}", message_id="order-42", headers={"trace": "abc", "attempt": 3})
    delivery = broker.get(queue, timeout=5)
    assert delivery is not None
    assert delivery.message_id == "order-42"
    assert delivery.headers == {"trace": "abc", "attempt": 3}
    broker.ack(delivery)


def test_fifo(broker: Broker, queue: str) -> None:
    for n in range(5):
        broker.publish(queue, str(n).encode(), message_id=f"m{n}")
    received = []
    for _ in range(5):
        delivery = broker.get(queue, timeout=5)
        assert delivery is not None
        received.append(delivery.message_id)
        broker.ack(delivery)
    assert received == [f"m{n}" for n in range(5)]


def test_publish_batch_stores_every_message_in_order(broker: Broker, queue: str) -> None:
    broker.publish(queue, b"single", message_id="s0")
    batch = [(f"b{n}".encode(), f"b{n}") for n in range(5)]
    assert broker.publish_batch(queue, batch) == ([0, 1, 2, 3, 4], None)
    assert broker.publish_batch(queue, []) == ([], None)
    received = []
    for _ in range(6):
        delivery = broker.get(queue, timeout=5)
        assert delivery is not None and not delivery.redelivered and delivery.headers == {}
        received.append((delivery.message_id, delivery.body))
        broker.ack(delivery)
    assert received == [("s0", b"single")] + [(f"b{n}", f"b{n}".encode()) for n in range(5)]
    assert broker.depth(queue) == 0


def test_unacked_message_comes_back(backend: Backend, broker: Broker, queue: str) -> None:
    consumer = backend.make(lease_seconds=0.5)
    broker.publish(queue, b"work", message_id="w1")
    first = consumer.get(queue, timeout=5)
    assert first is not None and not first.redelivered
    if backend.kind != "sqlite":
        consumer.close()  # the consumer's connection goes away without an ack
    else:
        assert broker.get(queue, timeout=0.2) is None  # leased, so nobody else gets it...
        time.sleep(0.6)  # ...until the lease runs out
    again = backend.make().get(queue, timeout=5)
    assert again is not None
    assert (again.message_id, again.redelivered, again.delivery_count) == ("w1", True, 2)
    with pytest.raises(DeliveryLost):
        consumer.ack(first)


def test_reject_dead_letters_and_replay(broker: Broker, queue: str) -> None:
    broker.publish(queue, b"poison", message_id="p1", headers={"k": "v"})
    delivery = broker.get(queue, timeout=5)
    assert delivery is not None
    broker.reject(delivery, requeue=False)

    dead = eventually(lambda: broker.dead_letters(queue))
    assert [(d.message_id, d.body) for d in dead] == [("p1", b"poison")]
    assert dead[0].headers["k"] == "v"
    assert dead[0].headers["x-first-death-reason"] == "rejected"
    assert len(broker.dead_letters(queue)) == 1  # peeking leaves it there
    assert broker.depth(queue) == 0

    assert broker.replay_dead_letters(queue) == 1
    again = broker.get(queue, timeout=5)
    assert again is not None
    assert (again.message_id, again.body, again.headers) == ("p1", b"poison", {"k": "v"})
    assert again.delivery_count == 1
    broker.ack(again)
    assert broker.dead_letters(queue) == []


def test_delivery_limit_dead_letters_a_message_that_keeps_coming_back(backend: Backend) -> None:
    broker = backend.make(delivery_limit=3)
    queue = backend.queue()
    broker.declare(queue)
    broker.publish(queue, b"flaky", message_id="f1")
    for attempt in (1, 2, 3):
        delivery = broker.get(queue, timeout=5)
        assert delivery is not None
        assert (delivery.message_id, delivery.delivery_count) == ("f1", attempt)
        broker.reject(delivery, requeue=True)
    assert broker.get(queue, timeout=0.5) is None
    dead = eventually(lambda: broker.dead_letters(queue))
    assert [d.message_id for d in dead] == ["f1"]
    assert dead[0].headers["x-first-death-reason"] == "delivery_limit"


def test_depth_and_purge(broker: Broker, queue: str) -> None:
    for n in range(3):
        broker.publish(queue, b"x", message_id=f"d{n}")
    assert eventually(lambda: broker.depth(queue) == 3)
    held = broker.get(queue, timeout=5)
    assert held is not None
    assert eventually(lambda: broker.depth(queue) == 2)  # the held one is not counted
    assert broker.purge(queue) == 2
    assert broker.depth(queue) == 0
    broker.ack(held)  # purge leaves a held message alone


def test_run_with_keepalive_returns_and_raises(broker: Broker) -> None:
    assert broker.run_with_keepalive(lambda: 42) == 42

    def fails() -> None:
        raise ValueError("handler broke")

    with pytest.raises(ValueError, match="handler broke"):
        broker.run_with_keepalive(fails)

    def times_out() -> None:  # the handler's own timeout, not the adapter's wait for it
        raise TimeoutError("ERP took too long")

    with pytest.raises(TimeoutError, match="ERP took too long"):
        broker.run_with_keepalive(times_out)
    # handlers run off the calling thread, on one thread kept between calls (even after a handler raised)
    handler_threads = {broker.run_with_keepalive(threading.get_ident) for _ in range(3)}
    assert len(handler_threads) == 1 and threading.get_ident() not in handler_threads
    started = time.monotonic()
    broker.keepalive(0.3)
    assert 0.25 <= time.monotonic() - started < 2


def test_long_handler_keeps_its_message(backend: Backend, broker: Broker, queue: str) -> None:
    # RabbitMQ: 6 s with heartbeat 2 s would drop an unserved connection. SQLite: 1.5 s with a 0.5 s lease.
    # In memory nothing runs out.
    hold = {"rabbitmq": 6.0, "sqlite": 1.5, "memory": 0.1}[backend.kind]
    consumer = backend.make(heartbeat=2, lease_seconds=0.5)
    other = backend.make()
    broker.publish(queue, b"slow", message_id="s1")
    delivery = consumer.get(queue, timeout=5)
    assert delivery is not None

    def handler() -> Any:
        time.sleep(hold)
        return other.get(queue, timeout=0.2)  # the message must still be ours

    assert consumer.run_with_keepalive(handler) is None
    consumer.ack(delivery)
    assert other.get(queue, timeout=0.5) is None


def test_two_consumers_never_share_a_message(backend: Backend, broker: Broker, queue: str) -> None:
    first, second = backend.make(), backend.make()
    broker.publish(queue, b"a", message_id="a")
    broker.publish(queue, b"b", message_id="b")
    one = first.get(queue, timeout=5)
    two = second.get(queue, timeout=5)
    assert one is not None and two is not None
    assert {one.message_id, two.message_id} == {"a", "b"}
    assert second.get(queue, timeout=0.3) is None
    first.ack(one)
    second.ack(two)


def test_release_hands_back_a_prefetched_message(backend: Backend, broker: Broker, queue: str) -> None:
    first, second = backend.make(), backend.make()
    for message_id in ("r1", "r2", "r3"):
        broker.publish(queue, b"x", message_id=message_id)
    held = first.get(queue, timeout=5)
    assert held is not None and held.message_id == "r1"
    first.release(queue)
    first.ack(held)  # still possible after release
    again = first.get(queue, timeout=5)  # consuming resumes
    assert again is not None and again.message_id == "r2"
    first.ack(again)
    first.keepalive(0.3)  # RabbitMQ now pushes r3 to `first` (prefetch 1)...
    first.release(queue)  # ...and release gives it back
    taken = second.get(queue, timeout=2)
    assert taken is not None and taken.message_id == "r3"
    second.ack(taken)


def _consume_until_empty(kind: str, target: str, queue: str, start_at: float) -> list[str]:
    """Runs in a child process: take, hold briefly, ack; stop when the queue stays empty for 1 s."""
    broker: Broker = SQLiteQueueBroker(target) if kind == "sqlite" else RabbitMQBroker(target)
    time.sleep(max(0.0, start_at - time.time()))
    seen = []
    try:
        while (delivery := broker.get(queue, timeout=1.0)) is not None:
            seen.append(delivery.message_id)
            time.sleep(0.02)
            broker.ack(delivery)
    finally:
        broker.close()
    return seen


def test_competing_processes_take_each_message_once(backend: Backend, broker: Broker, queue: str) -> None:
    if backend.kind == "memory":
        pytest.skip("in-memory queues live in one process")
    expected = [f"c{n}" for n in range(30)]
    for message_id in expected:
        broker.publish(queue, b"job", message_id=message_id)
    start_at = time.time() + 2.0  # both children begin together, once spawned
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_consume_until_empty, backend.kind, backend.target, queue, start_at)
                   for _ in range(2)]
        results = [future.result(timeout=20) for future in futures]
    assert all(results), f"one child got nothing, so they did not compete: {results}"
    assert sorted(results[0] + results[1]) == sorted(expected)


def test_one_broker_shared_by_threads(broker: Broker, queue: str) -> None:
    """Publishing threads and a consuming thread on one broker object (as in the API process)."""
    expected = {f"t{t}-{n}" for t in range(4) for n in range(25)}
    received: list[str] = []

    def consume() -> None:
        while len(received) < len(expected) and (delivery := broker.get(queue, timeout=5)) is not None:
            received.append(delivery.message_id)
            broker.ack(delivery)

    def publish(t: int) -> None:
        for n in range(25):
            broker.publish(queue, b"x", message_id=f"t{t}-{n}")

    with ThreadPoolExecutor(max_workers=5) as pool:
        consumer = pool.submit(consume)
        for future in [pool.submit(publish, t) for t in range(4)]:
            future.result(timeout=20)
        consumer.result(timeout=20)
    assert sorted(received) == sorted(expected)


def test_ping(broker: Broker) -> None:
    assert broker.ping() is True


# -- RabbitMQ: connection loss, through a proxy ---------------------------------------------------------


@pytest.fixture
def rabbit_queue(rabbit_url: str) -> Iterator[str]:
    """A declared queue, made by a direct connection, for brokers that go through a proxy."""
    name = f"{RUN}{uuid.uuid4().hex[:6]}"
    setup = RabbitMQBroker(rabbit_url)
    setup.declare(name)
    setup.close()
    yield name
    delete_queues(rabbit_url, [name])


@pytest.fixture
def proxy(rabbit_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(rabbit_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672) as proxy:
        yield proxy


def test_reconnects_after_a_cut_and_a_stale_ack_is_lost(rabbit_url: str, rabbit_queue: str,
                                                         proxy: TcpProxy) -> None:
    broker = RabbitMQBroker(via(proxy, rabbit_url), reconnect_timeout=10)
    try:
        broker.publish(rabbit_queue, b"before", message_id="before")
        delivery = broker.get(rabbit_queue, timeout=5)
        assert delivery is not None
        proxy.cut()
        proxy.restore()
        broker.publish(rabbit_queue, b"after", message_id="after")  # reconnects
        with pytest.raises(DeliveryLost):
            broker.ack(delivery)
        received = {}
        for _ in range(2):
            again = broker.get(rabbit_queue, timeout=5)
            assert again is not None
            received[again.message_id] = again
            broker.ack(again)
        assert received["before"].redelivered and received["before"].delivery_count == 2
        assert not received["after"].redelivered
    finally:
        broker.close()


def test_ack_right_after_a_cut_is_lost(rabbit_url: str, rabbit_queue: str, proxy: TcpProxy) -> None:
    broker = RabbitMQBroker(via(proxy, rabbit_url), reconnect_timeout=10)
    try:
        broker.publish(rabbit_queue, b"x", message_id="x1")
        delivery = broker.get(rabbit_queue, timeout=5)
        assert delivery is not None
        proxy.cut()
        with pytest.raises(DeliveryLost):
            broker.ack(delivery)
        proxy.restore()
        again = broker.get(rabbit_queue, timeout=5)
        assert again is not None and again.message_id == "x1" and again.redelivered
        broker.ack(again)
    finally:
        broker.close()


def test_cut_beyond_reconnect_timeout(rabbit_url: str, rabbit_queue: str, proxy: TcpProxy) -> None:
    broker = RabbitMQBroker(via(proxy, rabbit_url), reconnect_timeout=1.0)
    try:
        assert broker.ping() is True
        proxy.cut()
        started = time.monotonic()
        assert broker.ping() is False
        assert time.monotonic() - started < 2.0
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            broker.publish(rabbit_queue, b"lost")
        assert 0.9 <= time.monotonic() - started < 4.0
        confirmed, error = broker.publish_batch(rabbit_queue, [(b"lost", "l1")])  # said, not raised
        assert confirmed == [] and isinstance(error, BrokerUnavailable)
        proxy.restore()
        assert broker.ping() is True
        broker.publish(rabbit_queue, b"kept")
        assert broker.depth(rabbit_queue) == 1
    finally:
        broker.close()


def test_unreachable_broker_never_logs_the_password(caplog: pytest.LogCaptureFixture) -> None:
    url = f"amqp://hub:s3cret-pw@127.0.0.1:{free_port()}/%2F"
    broker = RabbitMQBroker(url, reconnect_timeout=0.5)
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    assert broker.ping() is False
    assert time.monotonic() - started < 2.0
    with pytest.raises(BrokerUnavailable) as failure:
        broker.publish("nowhere", b"x")
    assert "s3cret-pw" not in str(failure.value)
    assert "s3cret-pw" not in caplog.text
    assert "127.0.0.1" in caplog.text
