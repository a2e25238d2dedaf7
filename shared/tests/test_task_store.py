"""The task store on SQLite and PostgreSQL: idempotent intake, transitions, cancel, no secrets in views."""

import threading

import pytest

from hub_runtime.errors import IdempotencyConflict
from hub_runtime.models import OutboxMessage, TaskEvent


def test_submit_is_idempotent_and_conflicts_on_another_body(runtime):
    store = runtime.tasks
    first = store.submit("erp_order", "k1", {"a": 1}, {"password": "p"})
    again = store.submit("erp_order", "k1", {"a": 1}, {"password": "p"})
    assert first.created and not again.created and first.task.id == again.task.id
    with pytest.raises(IdempotencyConflict):
        store.submit("erp_order", "k1", {"a": 2}, {"password": "p"})
    with pytest.raises(IdempotencyConflict):
        store.submit("erp_order", "k1", {"a": 1}, {"password": "other"})
    with runtime.sessions() as session:
        assert session.query(OutboxMessage).count() == 1


def test_cancelled_tasks_forget_their_credentials(runtime):
    store = runtime.tasks
    queued = store.submit("erp_order", "queued", {}, {"password": "gygag"}).task
    running = store.submit("erp_order", "running", {}, {"password": "gygag"}).task
    store.begin(running.id)
    assert sorted(store.cancel_pending(include_running=True)) == ["queued", "running"]
    assert store.secret_of(queued.id) == {} and store.secret_of(running.id) == {}


def test_concurrent_submits_of_one_key_store_one_task(runtime):
    results, errors = [], []

    def submit():
        try:
            results.append(runtime.tasks.submit("erp_order", "race", {"a": 1}))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.created for r in results) == 1 and len({r.task.id for r in results}) == 1


def test_transitions_record_history(runtime):
    store = runtime.tasks
    task = store.submit("erp_order", "k", {"a": 1}).task
    started = store.begin(task.id)
    assert started.task.status == "processing" and started.task.attempts == 1 and started.secret == {}
    assert started.task.payload == {"a": 1} and started.task.created_at == task.created_at
    store.note(task.id, "retry 1")
    finished = store.finish(task.id, "created", result={"line_id": "7"})
    assert finished == store.get(task.id)
    view = store.find("k")
    assert view.status == "created" and view.result == {"line_id": "7"} and view.attempts == 1
    assert [h[0] for h in view.history] == ["placed", "processing", "processing", "created"]
    assert store.begin(task.id) is None  # final: nothing to do on redelivery


def test_begin_hands_over_the_secret_and_finish_keeps_result_and_records_reason(runtime):
    store = runtime.tasks
    task = store.submit("erp_order", "k", {"a": 1}, {"password": "gygag"}).task
    assert store.begin(task.id).secret == {"password": "gygag"}
    store.finish(task.id, "processing", result={"step": 1})
    view = store.finish(task.id, "error", "unknown_worksheet", "worksheet 9 not found")
    assert (view.status, view.reason_code, view.reason_text) == ("error", "unknown_worksheet", "worksheet 9 not found")
    assert view.result == {"step": 1}  # no result given: the stored one stays
    assert store.secret_of(task.id) == {"password": "gygag"}  # not forgotten unless asked
    assert store.find("k").history[-1][2] == "worksheet 9 not found"
    assert store.begin(task.id) is None  # an error that was not dead-lettered is final


def test_begin_ignores_unknown_tasks_and_tasks_of_other_instances(runtime, settings):
    from hub_runtime.runtime import Instance, Runtime

    other = Runtime(settings, Instance("erp", "Other Garage"), run_migrations=False)
    task = other.tasks.submit("erp_order", "k", {}).task
    try:
        assert runtime.tasks.begin(task.id) is None and runtime.tasks.begin("no-such-task") is None
        assert other.tasks.get(task.id).status == "placed" and other.tasks.get(task.id).attempts == 0
    finally:
        other.close()


def test_dead_lettered_tasks_can_be_begun_again(runtime):
    task = runtime.tasks.submit("erp_order", "k", {}).task
    runtime.tasks.begin(task.id)
    runtime.tasks.finish(task.id, "error", "dead_lettered", "boom")
    assert runtime.tasks.begin(task.id).task.attempts == 2


def test_cancel_pending_keeps_processing_tasks_and_drops_outbox(runtime):
    store = runtime.tasks
    a = store.submit("erp_order", "a", {}).task
    store.submit("erp_order", "b", {})
    store.begin(a.id)
    assert store.cancel_pending() == ["b"]
    assert store.find("b").status == "cancelled" and store.find("a").status == "processing"
    with runtime.sessions() as session:
        assert session.query(OutboxMessage).count() == 1


def test_views_carry_no_secret_and_secrets_can_be_forgotten(runtime):
    task = runtime.tasks.submit("erp_order", "k", {"a": 1}, {"password": "gygag"}).task
    assert "gygag" not in repr(task)
    assert runtime.tasks.secret_of(task.id) == {"password": "gygag"}
    runtime.tasks.finish(task.id, "created", forget_secret=True)
    assert runtime.tasks.secret_of(task.id) == {}


def test_pending_and_counts_are_per_instance(runtime, settings):
    from hub_runtime.runtime import Instance, Runtime

    other = Runtime(settings, Instance("erp", "Other Garage"), run_migrations=False)
    runtime.tasks.submit("erp_order", "k", {})
    other.tasks.submit("erp_order", "k", {})  # the same key in another instance is another task
    assert runtime.tasks.count_pending() == 1 and len(other.tasks.pending()) == 1
    assert runtime.tasks.count_by_status() == {"placed": 1}
    with runtime.sessions() as session:
        assert session.query(TaskEvent).count() == 2
    other.close()
