"""Group commit of the task store and the batched, claiming outbox relay (SQLite and PostgreSQL; the
relay's RabbitMQ tests need the machine's RabbitMQ)."""

from __future__ import annotations

import json
import threading
import time
from contextlib import suppress

import pytest
from sqlalchemy import text

from hub_runtime.broker.rabbitmq import RabbitMQBroker
from hub_runtime.errors import IdempotencyConflict
from hub_runtime.models import OutboxMessage, Task, TaskEvent
from hub_runtime.outbox import OutboxRelay
from hub_runtime.testing.services import delete_queues

pytestmark = pytest.mark.timeout(60)


def hold_first_batch(store):
    """Make the first batch wait until released, so that submits started meanwhile queue up and are
    written together as the second batch. Returns (release, sizes of the batches written)."""
    release, sizes = threading.Event(), []
    write = store._committer._write

    def held(batch):
        if not sizes:
            release.wait(10)
        sizes.append(len(batch))
        write(batch)

    store._committer._write = held
    return release, sizes


def submit_all(store, calls, settle=lambda: None):
    """Run `store.submit(*call)` for each call on its own thread; returns results (or exceptions) in order."""
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            results[i] = store.submit(*call)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    threads[0].start()
    time.sleep(0.2)  # the first one leads and is held
    for thread in threads[1:]:
        thread.start()
    settle()
    for thread in threads:
        thread.join(15)
    return results


def counts(runtime) -> tuple[int, int, int]:
    with runtime.sessions() as session:
        return (session.query(Task).count(), session.query(TaskEvent).count(),
                session.query(OutboxMessage).count())


def wait_queued(store, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(store._committer._queue) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def test_one_batch_with_new_repeated_and_conflicting_keys(runtime):
    store = runtime.tasks
    store.submit("erp_order", "old-same", {"n": 1}, {"password": "p"})
    store.submit("erp_order", "old-other", {"n": 1}, {"password": "p"})
    release, sizes = hold_first_batch(store)
    calls = [
        ("erp_order", "first", {"n": 0}, None),
        ("erp_order", "new-a", {"n": 1}, {"password": "p"}),
        ("erp_order", "new-b", {"n": 2}, None),
        ("erp_order", "twice-same", {"n": 3}, None),
        ("erp_order", "twice-same", {"n": 3}, None),
        ("erp_order", "twice-other", {"n": 4}, None),
        ("erp_order", "twice-other", {"n": 5}, None),
        ("erp_order", "old-same", {"n": 1}, {"password": "p"}),
        ("erp_order", "old-other", {"n": 1}, {"password": "q"}),
    ]

    def settle():
        wait_queued(store, len(calls) - 1)
        release.set()

    results = submit_all(store, calls, settle)
    assert sizes == [1, len(calls) - 1], "the submits made while the first was written form one batch"
    by = dict(zip(range(len(calls)), results, strict=True))
    assert by[0].created and by[1].created and by[2].created
    twice_same = [by[3], by[4]]
    assert sorted(r.created for r in twice_same) == [False, True]
    assert twice_same[0].task.id == twice_same[1].task.id
    twice_other = [by[5], by[6]]
    assert sum(isinstance(r, IdempotencyConflict) for r in twice_other) == 1
    assert sum(getattr(r, "created", False) for r in twice_other) == 1
    assert not by[7].created and by[7].task.key == "old-same"
    assert isinstance(by[8], IdempotencyConflict)
    # 2 earlier + first, new-a, new-b, twice-same, twice-other: one event and one message each
    assert counts(runtime) == (7, 7, 7)
    assert store.find("new-a").payload == {"n": 1} and store.secret_of(by[1].task.id) == {"password": "p"}


def _fail_inserts(runtime, table: str, key: str | None = None) -> None:
    """A trigger that makes inserts into `table` fail (only for tasks with `key`, if given)."""
    with runtime.engine.begin() as conn:
        if runtime.engine.dialect.name == "sqlite":
            when = f"WHEN NEW.key = '{key}'" if key else ""
            conn.execute(text(f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} {when} "
                              "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
        else:
            condition = f"NEW.key = '{key}'" if key else "true"
            conn.execute(text(f"CREATE FUNCTION fail_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                              f"IF {condition} THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                              "RETURN NEW; END $$"))
            conn.execute(text(f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} "
                              f"FOR EACH ROW EXECUTE FUNCTION fail_{table}()"))


def test_a_failing_batch_leaves_nothing_half_written(runtime):
    store = runtime.tasks
    _fail_inserts(runtime, "outbox")  # tasks and events go in first; the outbox insert then fails
    release, sizes = hold_first_batch(store)
    calls = [("erp_order", f"k{i}", {"n": i}, {"password": "p"}) for i in range(5)]

    def settle():
        wait_queued(store, 4)
        release.set()

    results = submit_all(store, calls, settle)
    assert sizes[:2] == [1, 4]
    assert all(isinstance(r, Exception) for r in results), results
    assert counts(runtime) == (0, 0, 0)


def test_one_bad_entry_fails_alone(runtime):
    store = runtime.tasks
    _fail_inserts(runtime, "tasks", key="bad")
    release, sizes = hold_first_batch(store)
    calls = [("erp_order", "a", {}, None), ("erp_order", "b", {}, None), ("erp_order", "bad", {}, None),
             ("erp_order", "c", {}, None)]

    def settle():
        wait_queued(store, 3)
        release.set()

    results = submit_all(store, calls, settle)
    assert sizes[:2] == [1, 3]
    assert [isinstance(r, Exception) for r in results] == [False, False, True, False]
    assert all(r.created for i, r in enumerate(results) if i != 2)
    assert counts(runtime) == (3, 3, 3)


def test_many_threads_submitting_store_each_task_once(runtime):
    store = runtime.tasks
    keys = [f"k{i % 40}" for i in range(120)]  # each key three times, concurrently
    results: list = []
    lock = threading.Lock()

    def run(chunk):
        for key in chunk:
            outcome = store.submit("erp_order", key, {"key": key})
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(keys[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 120 and sum(r.created for r in results) == 40
    assert counts(runtime) == (40, 40, 40)
    with runtime.sessions() as session:
        bodies = [json.loads(b) for (b,) in session.query(OutboxMessage.body)]
    assert sorted(b["key"] for b in bodies) == sorted(set(keys))


# --- the relay on RabbitMQ ----------------------------------------------------------------------------

@pytest.fixture
def rabbit(amqp_url, runtime):
    brokers: list[RabbitMQBroker] = []

    def make() -> RabbitMQBroker:
        broker = RabbitMQBroker(amqp_url, reconnect_timeout=5.0)
        brokers.append(broker)
        return broker

    yield make
    for queue in (runtime.queue, runtime.queue + "-missing"):
        with suppress(Exception):  # best effort
            delete_queues(amqp_url, [queue])
    for broker in brokers:
        broker.close()


def test_publish_batch_confirms_each_message_once(rabbit, runtime):
    broker = rabbit()
    broker.declare(runtime.queue)
    messages = [(f"m{i}".encode(), f"id-{i}") for i in range(50)]
    confirmed, error = broker.publish_batch(runtime.queue, messages)
    assert error is None and confirmed == list(range(50))
    assert broker.depth(runtime.queue) == 50
    got = []
    while (delivery := broker.get(runtime.queue, timeout=1)) is not None:
        got.append(delivery.message_id)
        broker.ack(delivery)
    assert got == [m for _, m in messages]
    missing = runtime.queue + "-missing"
    confirmed, error = broker.publish_batch(missing, messages[:3])
    assert confirmed == [] and error is not None and "no such queue" in str(error)


def test_relay_publishes_batches_on_rabbitmq(rabbit, runtime):
    for i in range(30):
        runtime.tasks.submit("erp_order", f"k{i}", {})
    relay = OutboxRelay(runtime.sessions, rabbit(), runtime.instance.id, batch=8)
    assert [relay.publish_pending() for _ in range(5)] == [8, 8, 8, 6, 0]
    assert counts(runtime)[2] == 0
    assert rabbit().depth(runtime.queue) == 30


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_relays_share_the_rows_without_publishing_twice(rabbit, runtime):
    n = 400
    for i in range(n):
        runtime.tasks.submit("erp_order", f"k{i}", {})
    relays = [OutboxRelay(runtime.sessions, rabbit(), runtime.instance.id, batch=20) for _ in range(2)]
    published = [0, 0]

    def drain(i):
        while (count := relays[i].publish_pending()) or counts(runtime)[2]:
            published[i] += count

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(published) == n and all(published), published  # both worked, nothing twice
    assert counts(runtime)[2] == 0
    consumer = rabbit()
    ids = []
    while (delivery := consumer.get(runtime.queue, timeout=1)) is not None:
        ids.append(delivery.message_id)
        consumer.ack(delivery)
    assert len(ids) == n and len(set(ids)) == n


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_rows_claimed_by_one_relay_are_skipped_by_another(rabbit, runtime):
    for i in range(5):
        runtime.tasks.submit("erp_order", f"k{i}", {})
    other = OutboxRelay(runtime.sessions, rabbit(), runtime.instance.id)
    with runtime.engine.begin() as conn:  # a relay that claimed every row and is still publishing
        conn.execute(text("SELECT id FROM outbox FOR UPDATE")).all()
        assert other.publish_pending() == 0
    assert other.publish_pending() == 5



def test_publish_batch_republishes_unconfirmed_messages_after_a_cut(amqp_url, runtime, rabbit):
    from urllib.parse import urlsplit, urlunsplit

    from hub_runtime.testing.tcp_proxy import TcpProxy

    rabbit().declare(runtime.queue)
    parts = urlsplit(amqp_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672) as proxy:
        netloc = f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
        broker = RabbitMQBroker(urlunsplit(parts._replace(netloc=netloc)), reconnect_timeout=10)
        try:
            broker.publish_batch(runtime.queue, [(b"warm", "warm")])  # connected, batch channel open
            proxy.cut()
            threading.Timer(0.5, proxy.restore).start()
            messages = [(f"m{i}".encode(), f"id-{i}") for i in range(20)]
            confirmed, error = broker.publish_batch(runtime.queue, messages)  # reconnects, publishes all
            assert error is None and confirmed == list(range(20))
        finally:
            broker.close()
    consumer = rabbit()
    ids = set()
    while (delivery := consumer.get(runtime.queue, timeout=1)) is not None:
        ids.add(delivery.message_id)
        consumer.ack(delivery)
    assert ids == {"warm"} | {m for _, m in messages}


# --- waking the relay in another process ----------------------------------------------------------------

@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_commit_wakes_a_listening_relay_at_once(runtime):
    """The relay runs in the worker process; on PostgreSQL the task store's batch statement calls pg_notify,
    so the relay publishes long before its 30 s poll would."""
    relay = OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id, poll_seconds=30, linger_seconds=0)
    relay.start()
    try:
        time.sleep(0.5)  # past the first look and the LISTEN
        started = time.monotonic()
        runtime.tasks.submit("erp_order", "woken", {})
        while counts(runtime)[2] and time.monotonic() - started < 5:
            time.sleep(0.02)
        assert counts(runtime)[2] == 0, "the relay was not woken"
        assert runtime.broker.depth(runtime.queue) == 1
    finally:
        relay.stop()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_relay_listens_again_after_its_connection_is_killed(runtime):
    relay = OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id, poll_seconds=30, linger_seconds=0)
    relay.start()
    try:
        time.sleep(0.5)
        with runtime.engine.connect() as conn:  # what a server restart or a network cut does to it
            killed = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND query LIKE 'LISTEN%'")).all()
        assert killed == [(True,)]
        time.sleep(1.5)  # the listener retries after 0.5 s
        started = time.monotonic()
        runtime.tasks.submit("erp_order", "after-kill", {})
        while counts(runtime)[2] and time.monotonic() - started < 5:
            time.sleep(0.02)
        assert counts(runtime)[2] == 0
    finally:
        relay.stop()
