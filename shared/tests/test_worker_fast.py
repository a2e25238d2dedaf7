"""The worker's state machine on the in-memory broker and task store: every way a message can end, in
milliseconds. test_outbox_and_worker.py runs the same paths over a real database and queue."""

from __future__ import annotations

import pytest

from hub_runtime.broker.base import BrokerUnavailable
from hub_runtime.errors import PermanentError, TaskCancelled, TaskInterrupted, TransientError
from hub_runtime.models import TaskStatus
from hub_runtime.testing.fakes import InMemoryBroker, InMemoryRuntime
from hub_runtime.worker import Job, Worker

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def rt(tmp_path):
    runtime = InMemoryRuntime(tmp_path)
    yield runtime
    runtime.close()


def submitted(rt, key="k1"):
    """A task taken in and its message published, as the API and the outbox relay leave them."""
    task = rt.tasks.submit("erp_order", key, {"n": 1}, {"password": "pw"}).task
    assert rt.relay() == 1
    return task


def process(rt, handler, worker=None):
    """Take the next message and let a worker process it; returns the worker."""
    worker = worker or Worker(rt, handler, relay=False)
    delivery = rt.broker.get(rt.queue, timeout=0)
    assert delivery is not None
    worker.process(delivery)
    assert rt.broker.held() == 0, "the message was neither acked nor rejected"
    return worker


def details(rt, task):
    return [detail for _status, _at, detail in rt.tasks.get(task.id, with_history=True).history]


def test_success_stores_the_result_forgets_the_secret_and_acks(rt):
    task = submitted(rt)
    seen = []
    process(rt, lambda job: seen.append((job.attempt, job.secret)) or {"line_id": "7"})
    done = rt.tasks.get(task.id)
    assert (done.status, done.result, done.attempts) == (TaskStatus.CREATED, {"line_id": "7"}, 1)
    assert seen == [(1, {"password": "pw"})] and rt.tasks.secret_of(task.id) == {}
    assert rt.broker.depth(rt.queue) == 0 and rt.broker.dead_letters(rt.queue) == []


def test_transient_failures_are_retried_then_succeed(rt):
    task = submitted(rt)
    attempts = []

    def flaky(job: Job) -> dict:
        attempts.append(job.attempt)
        if job.attempt < 3:
            raise TransientError("erp_unavailable", "503")
        return {"ok": True}

    process(rt, flaky)
    assert attempts == [1, 2, 3] and rt.tasks.get(task.id).status == TaskStatus.CREATED
    assert sum(d is not None and d.startswith("retry ") for d in details(rt, task)) == 2


def test_transient_failures_give_up_as_retries_exhausted(rt):
    task = submitted(rt)
    calls = []

    def down(job: Job) -> dict:
        calls.append(job.attempt)
        raise TransientError("erp_unavailable", "503")

    process(rt, down)
    failed = rt.tasks.get(task.id)
    assert calls == [1, 2, 3] and (failed.status, failed.reason_code) == (TaskStatus.ERROR, "retries_exhausted")
    assert "last: erp_unavailable: 503" in failed.reason_text
    assert rt.broker.depth(rt.queue) == 0 and rt.broker.dead_letters(rt.queue) == []  # acked, not dead


def test_a_permanent_error_ends_the_task_at_once(rt):
    task = submitted(rt)
    calls = []

    def refused(job: Job) -> dict:
        calls.append(job.attempt)
        raise PermanentError("worksheet_closed", "worksheet 7 is closed")

    process(rt, refused)
    failed = rt.tasks.get(task.id)
    assert calls == [1]
    assert (failed.status, failed.reason_code, failed.reason_text) == (
        TaskStatus.ERROR, "worksheet_closed", "worksheet 7 is closed")
    assert rt.tasks.secret_of(task.id) == {} and rt.broker.dead_letters(rt.queue) == []


def test_a_crash_dead_letters_the_message_and_a_replay_runs_the_task_again(rt):
    task = submitted(rt)

    def crashes(job: Job) -> dict:
        raise KeyError("surprise")

    process(rt, crashes)
    failed = rt.tasks.get(task.id)
    assert (failed.status, failed.reason_code) == (TaskStatus.ERROR, "dead_lettered")
    assert "KeyError" in failed.reason_text
    (dead,) = rt.broker.dead_letters(rt.queue)
    assert dead.message_id == task.id and dead.headers["x-first-death-reason"] == "rejected"
    assert rt.tasks.secret_of(task.id) == {}  # final: its credentials are gone (a replay uses the stored ones)

    assert rt.broker.replay_dead_letters(rt.queue) == 1
    process(rt, lambda job: {"replayed": job.secret})
    assert rt.tasks.get(task.id).result == {"replayed": {}} and rt.tasks.get(task.id).attempts == 2


def test_a_malformed_message_is_dead_lettered(rt):
    rt.broker.publish(rt.queue, b"not json", message_id="bad")
    process(rt, lambda job: pytest.fail("the handler must not run"))
    assert [d.message_id for d in rt.broker.dead_letters(rt.queue)] == ["bad"]


def test_a_task_cancelled_before_it_runs_is_acked_without_running(rt):
    task = submitted(rt)
    assert rt.tasks.cancel_pending() == [task.key]
    process(rt, lambda job: pytest.fail("the handler must not run"))
    assert rt.tasks.get(task.id).status == TaskStatus.CANCELLED and rt.broker.depth(rt.queue) == 0


def test_a_running_task_cancelled_meanwhile_stops_when_its_handler_asks(rt):
    task = submitted(rt)

    def report(job: Job) -> dict:
        assert not job.cancel_requested()
        rt.tasks.cancel_pending(include_running=True)  # /clear_queue while it runs
        if job.cancel_requested():
            raise TaskCancelled
        return {"finished": True}

    process(rt, report)
    cancelled = rt.tasks.get(task.id)
    assert (cancelled.status, cancelled.reason_text) == (TaskStatus.CANCELLED, "stopped after the cancel")
    assert rt.broker.depth(rt.queue) == 0 and rt.broker.dead_letters(rt.queue) == []


def test_a_stop_hands_the_task_back_and_the_next_worker_runs_it(rt):
    task = submitted(rt)

    def long_report(job: Job) -> dict:
        worker.stop()  # SIGTERM while it runs
        if job.stop_requested():
            raise TaskInterrupted
        return {"finished": True}

    worker = Worker(rt, long_report, relay=False)
    process(rt, long_report, worker)
    assert rt.tasks.get(task.id).status == TaskStatus.PLACED
    assert rt.broker.depth(rt.queue) == 1  # requeued, not dead-lettered

    redelivered = []
    process(rt, lambda job: redelivered.append(job.task.attempts) or {"finished": True})
    assert redelivered == [2] and rt.tasks.get(task.id).status == TaskStatus.CREATED
    assert "redelivered (delivery 2)" in details(rt, task)


def test_a_stop_while_waiting_to_retry_hands_the_task_back(rt):
    task = submitted(rt)

    def fails_then_stops(job: Job) -> dict:
        worker.stop()
        raise TransientError("erp_unavailable", "503")

    worker = Worker(rt, fails_then_stops, relay=False)
    process(rt, fails_then_stops, worker)
    assert rt.tasks.get(task.id).status == TaskStatus.PLACED and rt.broker.depth(rt.queue) == 1
    assert "worker stopping; will be redelivered" in details(rt, task)


def test_a_message_published_twice_runs_its_task_once(rt):
    """The outbox relay publishes at least once: a duplicate of a finished task is acked, not run."""
    task = rt.tasks.submit("erp_order", "k1", {"n": 1}).task
    messages = rt.tasks.take_outbox()
    assert rt.broker.publish_batch(rt.queue, messages * 2) == ([0, 1], None)
    process(rt, lambda job: {"line_id": "1"})
    process(rt, lambda job: pytest.fail("a final task must not run again"))
    assert rt.tasks.get(task.id).result == {"line_id": "1"} and rt.broker.depth(rt.queue) == 0


def test_the_default_publish_batch_stops_at_the_first_failure(rt):
    class FailsOnTheThird(InMemoryBroker):
        def publish(self, queue, body, message_id=None, headers=None):
            if message_id == "m2":
                raise BrokerUnavailable("down")
            super().publish(queue, body, message_id, headers)

    broker = FailsOnTheThird(rt.broker.queues)
    messages = [(b"x", f"m{n}") for n in range(4)]
    confirmed, error = broker.publish_batch(rt.queue, messages)  # the port's default: one by one
    assert confirmed == [0, 1] and isinstance(error, BrokerUnavailable)
    assert rt.broker.depth(rt.queue) == 2
    broker.close()
