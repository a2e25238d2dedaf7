"""The outbox relay and the worker loop over the embedded queue, with handlers standing in for an ERP."""

import json
import threading
import time

import pytest
from sqlalchemy import delete

from hub_runtime.broker.base import Broker, BrokerUnavailable
from hub_runtime.errors import NotReplayable, PermanentError, TaskCancelled, TaskInterrupted, TransientError
from hub_runtime.models import OutboxMessage
from hub_runtime.outbox import _READ, OutboxRelay
from hub_runtime.worker import Worker


def relay_of(runtime):
    return OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id)


def run_worker_until(runtime, handler, done, timeout=15):
    worker = Worker(runtime, handler, poll_seconds=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    thread.join(10)
    assert done(), "condition not reached"
    return worker


def test_the_worker_publishes_what_the_api_committed(runtime):
    """No relay call here: the worker's own relay publishes the outbox (SQLite: it polls; PostgreSQL: NOTIFY)."""
    task = runtime.tasks.submit("erp_order", "k", {}).task
    worker = run_worker_until(runtime, lambda job: {"line": 1},
                              lambda: runtime.tasks.get(task.id).status == "created")
    assert worker.relay is not None
    with runtime.sessions() as session:
        assert session.query(OutboxMessage).count() == 0


def test_relay_publishes_then_deletes(runtime):
    task = runtime.tasks.submit("erp_order", "k", {}).task
    assert relay_of(runtime).publish_pending() == 1
    delivery = runtime.broker.get(runtime.queue, timeout=1)
    assert json.loads(delivery.body)["task_id"] == task.id and delivery.message_id == task.id
    with runtime.sessions() as session:
        assert session.query(OutboxMessage).count() == 0


class FailingBroker:
    """Stands in for a broker that is down: the one thing the relay must survive."""

    def __init__(self, real, fail_after: int):
        self.real, self.left = real, fail_after

    def declare(self, queue):
        self.real.declare(queue)

    def publish(self, queue, body, message_id=None, headers=None):
        if self.left == 0:
            raise BrokerUnavailable("down")
        self.left -= 1
        self.real.publish(queue, body, message_id=message_id)

    publish_batch = Broker.publish_batch  # the port's default: one by one, stopping at the first failure


def test_relay_keeps_unpublished_rows_when_the_broker_fails(runtime):
    for key in ("a", "b", "c"):
        runtime.tasks.submit("erp_order", key, {})
    relay = OutboxRelay(runtime.sessions, FailingBroker(runtime.broker, 1), runtime.instance.id)
    with pytest.raises(BrokerUnavailable):
        relay.publish_pending()
    with runtime.sessions() as session:
        rows = session.query(OutboxMessage).order_by(OutboxMessage.id).all()
        assert len(rows) == 2 and rows[0].attempts == 1 and rows[0].last_error == "down"
    assert relay_of(runtime).publish_pending() == 2
    assert runtime.broker.depth(runtime.queue) == 3


def test_sqlite_relay_never_deletes_a_row_whose_id_was_reused(runtime):
    """Two relays on SQLite (two API processes) read the same rows; SQLite gives a new row the id of the
    highest row deleted meanwhile, which the slower relay must not delete unpublished."""
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL claims rows with SKIP LOCKED, and its ids are never reused")
    runtime.tasks.submit("erp_order", "first", {})
    relay = relay_of(runtime)
    with runtime.engine.connect() as conn:
        rows = conn.execute(_READ, {"limit": 10}).all()  # this relay read the row ...
    with runtime.engine.begin() as conn:
        conn.execute(delete(OutboxMessage))  # ... another one published and deleted it meanwhile
    second = runtime.tasks.submit("erp_order", "second", {}).task
    with runtime.sessions() as session:
        assert session.query(OutboxMessage.id).scalar() == rows[0].id  # the new order's row got its id
    with runtime.engine.begin() as conn:
        relay._publish_rows(conn, rows)
    with runtime.sessions() as session:
        assert [m.message_id for m in session.query(OutboxMessage)] == [second.id]


def test_worker_completes_a_task_and_forgets_its_secret(runtime):
    task = runtime.tasks.submit("erp_order", "k", {"n": 1}, {"password": "p"}).task
    relay_of(runtime).publish_pending()
    seen = []

    def handler(job):
        seen.append(job.secret)
        return {"line_id": "1"}

    run_worker_until(runtime, handler, lambda: runtime.tasks.get(task.id).status == "created")
    assert seen == [{"password": "p"}]
    assert runtime.tasks.secret_of(task.id) == {}
    assert runtime.broker.depth(runtime.queue) == 0
    assert runtime.control.health().state == "stopped"  # signed off


def test_permanent_error_ends_at_once_with_its_reason(runtime):
    task = runtime.tasks.submit("erp_order", "k", {}).task
    relay_of(runtime).publish_pending()
    calls = []

    def handler(job):
        calls.append(1)
        raise PermanentError("worksheet_not_found", "no worksheet 9")

    run_worker_until(runtime, handler, lambda: runtime.tasks.get(task.id).status == "error")
    view = runtime.tasks.get(task.id)
    assert (view.reason_code, view.reason_text, len(calls)) == ("worksheet_not_found", "no worksheet 9", 1)


def test_transient_errors_are_retried_then_succeed_or_give_up(runtime):
    ok = runtime.tasks.submit("erp_order", "ok", {}).task
    bad = runtime.tasks.submit("erp_order", "bad", {}).task
    relay_of(runtime).publish_pending()
    calls = {"ok": 0, "bad": 0}

    def handler(job):
        calls[job.task.key] += 1
        if job.task.key == "bad" or calls["ok"] < 3:
            raise TransientError("erp_unavailable", "503")
        return {}

    run_worker_until(runtime, handler, lambda: runtime.tasks.get(bad.id).status == "error")
    assert runtime.tasks.get(ok.id).status == "created" and calls["ok"] == 3
    assert calls["bad"] == 3  # retry_max_attempts
    assert runtime.tasks.get(bad.id).reason_code == "retries_exhausted"


def test_a_crashing_handler_dead_letters_and_replay_retries(runtime):
    task = runtime.tasks.submit("erp_order", "k", {}).task
    relay_of(runtime).publish_pending()
    crash = [True]

    def handler(job):
        if crash[0]:
            raise RuntimeError("bug")
        return {}

    run_worker_until(runtime, handler, lambda: runtime.tasks.get(task.id).status == "error")
    assert runtime.tasks.get(task.id).reason_code == "dead_lettered"
    assert len(runtime.broker.dead_letters(runtime.queue)) == 1
    crash[0] = False
    assert runtime.broker.replay_dead_letters(runtime.queue) == 1
    run_worker_until(runtime, handler, lambda: runtime.tasks.get(task.id).status == "created")


def test_one_dead_lettered_task_is_replayed_through_the_outbox(runtime):
    task = runtime.tasks.submit("erp_order", "k", {}, {"password": "p"}).task
    done = runtime.tasks.submit("erp_order", "ok", {}).task
    crash = [True]

    def handler(job):
        if crash[0] and job.task.key == "k":
            raise RuntimeError("bug")
        return {"secret": job.secret} if job.task.key == "k" else {}

    run_worker_until(runtime, handler, lambda: runtime.tasks.get(task.id).status == "error"
                     and runtime.tasks.get(done.id).status == "created")
    assert runtime.tasks.secret_of(task.id) == {}  # final: its credentials are gone
    with pytest.raises(NotReplayable):  # only a dead letter goes again: not a finished task
        runtime.tasks.replay("ok")
    assert runtime.tasks.replay("unknown") is None
    crash[0] = False
    replayed = runtime.tasks.replay("k")
    assert replayed.status == "error" and replayed.history[-1][2] == "replay requested"
    run_worker_until(runtime, handler, lambda: runtime.tasks.get(task.id).status == "created")
    assert runtime.tasks.get(task.id).result == {"secret": {}}  # a replay works with the stored credentials
    with pytest.raises(NotReplayable):
        runtime.tasks.replay("k")
    # the old copy still in the dead-letter queue, replayed later, finds the task final and does nothing
    assert runtime.broker.replay_dead_letters(runtime.queue) == 1
    run_worker_until(runtime, handler, lambda: runtime.broker.depth(runtime.queue) == 0)
    assert runtime.tasks.get(task.id).attempts == 2


def test_malformed_message_is_dead_lettered(runtime):
    runtime.broker.declare(runtime.queue)
    runtime.broker.publish(runtime.queue, b"not json")
    run_worker_until(runtime, lambda job: {}, lambda: len(runtime.broker.dead_letters(runtime.queue)) == 1)


def test_cancelled_task_is_acknowledged_without_running(runtime):
    task = runtime.tasks.submit("erp_order", "k", {}).task
    relay_of(runtime).publish_pending()
    runtime.tasks.cancel_pending()
    calls = []
    run_worker_until(runtime, lambda job: calls.append(1) or {}, lambda: runtime.broker.depth(runtime.queue) == 0)
    assert calls == [] and runtime.tasks.get(task.id).status == "cancelled"


def test_a_running_task_cancelled_meanwhile_stops_when_its_handler_asks(runtime):
    task = runtime.tasks.submit("report", "k", {}, {"password": "p"}).task
    relay_of(runtime).publish_pending()
    asked = []

    def handler(job):  # stands in for a long report: works until the task is cancelled
        assert not job.cancel_requested()
        assert runtime.tasks.cancel_pending() == []  # by default a running task is left alone
        assert not job.cancel_requested()
        assert runtime.tasks.cancel_pending(include_running=True) == ["k"]
        while not job.cancel_requested():
            asked.append(1)
        raise TaskCancelled

    run_worker_until(runtime, handler, lambda: runtime.tasks.find("k").history[-1][2] == "stopped after the cancel")
    view = runtime.tasks.find("k")
    assert view.status == "cancelled" and asked == []
    assert [(s, d) for s, _, d in view.history[1:]] == [
        ("processing", None), ("cancelled", "cancelled while running"), ("cancelled", "stopped after the cancel")]
    assert runtime.tasks.secret_of(task.id) == {} and runtime.broker.depth(runtime.queue) == 0


def test_a_stop_interrupts_a_handler_that_asks_and_its_task_comes_back(runtime):
    """SIGTERM while a long handler (a report) runs: the handler gives up at its next question, the task goes
    back to `placed` with its credentials, and the message is redelivered to the next worker."""
    task = runtime.tasks.submit("report", "k", {}, {"password": "p"}).task
    relay_of(runtime).publish_pending()
    running = threading.Event()

    def handler(job):  # stands in for a long report: works until the worker is asked to stop
        running.set()
        while not job.stop_requested():
            time.sleep(0.01)
        raise TaskInterrupted

    worker = Worker(runtime, handler, poll_seconds=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    assert running.wait(10)
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    view = runtime.tasks.find("k")
    assert view.status == "placed" and [(s, d) for s, _, d in view.history[1:]] == [
        ("processing", None), ("placed", "interrupted by a stop; will be redelivered")]
    assert runtime.tasks.secret_of(task.id) == {"password": "p"}
    run_worker_until(runtime, lambda job: {"attempts": job.task.attempts},
                     lambda: runtime.tasks.get(task.id).status == "created")
    assert runtime.tasks.get(task.id).result == {"attempts": 2}


def test_the_worker_waits_out_a_database_outage_holding_its_message(fresh_postgres_url, tmp_path, api_token,
                                                                    queue_prefix, caplog):
    """PostgreSQL goes away before the worker starts and again while it handles an order (after the ERP
    step, before the outcome is written): the worker keeps running, holds the message, and records the
    outcome once the database is back; the handler runs once."""
    from sqlalchemy.engine import make_url

    from hub_runtime.config import RuntimeSettings
    from hub_runtime.db import UNAVAILABLE as DATABASE_UNAVAILABLE
    from hub_runtime.runtime import Instance, Runtime
    from hub_runtime.testing.tcp_proxy import TcpProxy

    url = make_url(fresh_postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        settings = RuntimeSettings(database_url=url.set(port=proxy.port).render_as_string(hide_password=False),
                                   data_dir=tmp_path / "data", api_token=api_token, queue_prefix=queue_prefix,
                                   heartbeat_seconds=0.1, _env_file=None)
        runtime = Runtime(settings, Instance("erp", "Bennys Auto"))
        try:
            task = runtime.tasks.submit("erp_order", "k", {}, {"password": "p"}).task
            relay_of(runtime).publish_pending()
            calls = []

            def away_for(seconds: float) -> None:
                proxy.cut()
                threading.Timer(seconds, proxy.restore).start()

            def handler(job):
                calls.append(job.attempt)
                away_for(1.5)  # the ERP line is "written"; the database is gone when the outcome is
                return {"line_id": "1"}

            def created() -> bool:
                try:
                    return runtime.tasks.get(task.id).status == "created"
                except DATABASE_UNAVAILABLE:
                    return False

            away_for(1.0)
            run_worker_until(runtime, handler, created, timeout=30)
        finally:
            runtime.close()
    assert calls == [1]
    warnings = [r.getMessage() for r in caplog.records if r.name == "hub.worker"]
    assert any(m.startswith("database unavailable, looking again") for m in warnings), warnings
    assert any(m.startswith("database unavailable (finish)") for m in warnings), warnings


def test_pause_and_resume_follow_the_desired_state(runtime):
    runtime.control.request("paused")
    task = runtime.tasks.submit("erp_order", "k", {}).task
    relay_of(runtime).publish_pending()
    worker = Worker(runtime, lambda job: {}, poll_seconds=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert runtime.control.wait_for("stopped", 5)
        time.sleep(0.3)
        assert runtime.tasks.get(task.id).status == "placed"
        runtime.control.request("running")
        assert runtime.control.wait_for("running", 5)
        deadline = time.monotonic() + 5
        while runtime.tasks.get(task.id).status != "created" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.tasks.get(task.id).status == "created"
    finally:
        worker.stop()
        thread.join(10)


def test_heartbeat_age_makes_a_silent_worker_dead(runtime):
    runtime.control.beat("running")
    assert runtime.control.health().state == "running"
    runtime.control.heartbeat_timeout = 0.05
    time.sleep(0.1)
    assert runtime.control.health().state == "dead"
