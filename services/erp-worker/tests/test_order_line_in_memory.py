"""The use case against the in-memory ERP: failures on demand, evidence, and exactly one line across a
lost answer or a redelivery, in milliseconds. test_create_order_line.py runs it against the demo ERP."""

import json

import pytest
from in_memory_erp import InMemoryErp

from erp_worker.handlers import create_order_line
from hub_runtime.artifacts import ArtifactStore
from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.models import TaskStatus
from hub_runtime.testing.fakes import InMemoryBroker, InMemoryRuntime
from hub_runtime.worker import Job, Worker


@pytest.mark.parametrize("attempts", [1, 2])
def test_an_unknown_worksheet_is_permanent_and_adds_nothing(make_job, attempts):
    erp = InMemoryErp()
    with pytest.raises(PermanentError) as exc:
        create_order_line(erp, make_job(worksheet="999", attempts=attempts))
    assert exc.value.reason_code == "worksheet_not_found" and not erp.all_lines()
    assert "add_line" not in erp.calls


def test_a_wrong_password_fails_before_touching_a_worksheet(make_job):
    erp = InMemoryErp()
    with pytest.raises(PermanentError) as exc:
        create_order_line(erp, make_job(password="wrong"))
    assert exc.value.reason_code == "erp_login_failed" and erp.calls == ["login"]


def test_a_retry_after_a_lost_answer_finds_the_line_and_adds_none(make_job):
    erp = InMemoryErp()
    erp.fail("add_line", TransientError("erp_unavailable", "the answer was lost"), after=True)
    with pytest.raises(TransientError):
        create_order_line(erp, make_job(uniqueid="lost-1"))
    (saved,) = erp.all_lines()
    retry = create_order_line(erp, make_job(uniqueid="lost-1", attempt=2))
    assert retry == {"line_id": saved.id, "worksheet": "558", "already_present": True}
    assert len(erp.all_lines()) == 1


def test_a_failure_saves_what_the_adapter_saw_as_the_attempts_artifacts(make_job, tmp_path):
    erp, store = InMemoryErp(), ArtifactStore(tmp_path)
    erp.fail("find_worksheet", TransientError("erp_timeout", "slow"))
    job = make_job(uniqueid="ev-1", attempts=2)
    with pytest.raises(TransientError):
        create_order_line(erp, Job(job.task, job.secret, 3, store))
    assert [a.name for a in store.list(job.task.id)] == ["attempt3-page.html"]
    assert store.path(job.task.id, "attempt3-page.html").read_bytes() == b"<html>after find_worksheet</html>"
    assert erp.orders_done == 1


def test_a_success_saves_no_evidence_and_evidence_that_fails_hides_no_error(make_job, tmp_path):
    erp, store = InMemoryErp(), ArtifactStore(tmp_path)
    job = make_job(uniqueid="ev-2")
    create_order_line(erp, Job(job.task, job.secret, 1, store))
    assert store.list(job.task.id) == [] and "evidence" not in erp.calls

    erp.fail("login", PermanentError("erp_login_failed", "locked"))
    erp.fail("evidence", OSError("no screen"))
    with pytest.raises(PermanentError, match="locked"):
        create_order_line(erp, Job(job.task, job.secret, 1, store))
    assert erp.orders_done == 2


def test_a_redelivery_after_the_worker_died_finds_the_line_its_first_delivery_made(tmp_path):
    """The worker saved the line, then died before it committed `created` and acked: the broker hands the
    message out again, the task's attempt count says it may exist, and the line is found."""
    rt, erp = InMemoryRuntime(tmp_path), InMemoryErp()
    order = {"worksheet": "558", "product_nr": "10", "product_amount": "5", "uniqueid": "dies-1"}
    task = rt.tasks.submit("erp_order", "dies-1", order, {"username": "admin", "password": "gygag"}).task
    rt.relay()
    first = rt.broker.get(rt.queue, timeout=0)
    started = rt.tasks.begin(json.loads(first.body)["task_id"])
    create_order_line(erp, Job(started.task, started.secret))
    rt.broker.close()  # killed: its connection goes, the message comes back
    rt.broker = InMemoryBroker(rt.broker.queues)  # the restarted worker's connection

    Worker(rt, lambda job: create_order_line(erp, job), relay=False).process(rt.broker.get(rt.queue, timeout=0))
    done = rt.tasks.get(task.id)
    assert (done.status, done.attempts, done.result["already_present"]) == (TaskStatus.CREATED, 2, True)
    assert len(erp.all_lines()) == 1 and rt.broker.depth(rt.queue) == 0
    rt.close()
