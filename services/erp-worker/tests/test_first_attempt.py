"""The use case skips the look-up for an existing line only on a task's very first attempt; every
redelivery or retry looks, so a line an earlier attempt made is found instead of added again."""

import pytest
from in_memory_erp import InMemoryErp

from erp_worker.adapters.base import OrderLine
from erp_worker.handlers import create_order_line, line_may_exist
from hub_runtime.errors import PermanentError


@pytest.mark.parametrize("attempts,attempt,may_exist", [(1, 1, False), (2, 1, True), (1, 2, True), (3, 2, True)])
def test_only_the_first_attempt_of_the_first_delivery_cannot_find_a_line(make_job, attempts, attempt, may_exist):
    assert line_may_exist(make_job(attempts=attempts, attempt=attempt)) is may_exist


def test_the_first_attempt_adds_without_looking(make_job):
    erp = InMemoryErp()
    result = create_order_line(erp, make_job(uniqueid="f-1"))
    assert result == {"line_id": "1", "worksheet": "558", "already_present": False}
    assert "find_line" not in erp.calls and erp.calls.count("add_line") == 1


@pytest.mark.parametrize("again", [{"attempts": 2}, {"attempt": 2}], ids=["redelivered", "retried"])
def test_a_later_attempt_looks_and_finds_the_line_the_first_one_made(make_job, again):
    """E.g. the first delivery saved the line, then the worker was killed before it committed `created`."""
    erp = InMemoryErp()
    first = create_order_line(erp, make_job(uniqueid="f-2"))
    erp.calls.clear()
    again = create_order_line(erp, make_job(uniqueid="f-2", **again))
    assert again == {**first, "already_present": True}
    assert erp.calls == ["login", "find_worksheet", "find_line"] and len(erp.all_lines()) == 1


def test_a_later_attempt_adds_the_line_when_none_exists(make_job):
    erp = InMemoryErp()
    result = create_order_line(erp, make_job(uniqueid="f-3", attempts=2))
    assert result["already_present"] is False and erp.calls == ["login", "find_worksheet", "find_line", "add_line"]


def test_always_look_looks_on_the_first_attempt_too(make_job):
    erp = InMemoryErp()
    erp.lines["558"]["f-4"] = OrderLine("7", "10", "5", "f-4")  # written by another system
    result = create_order_line(erp, make_job(uniqueid="f-4"), always_look=True)
    assert result["already_present"] is True and len(erp.all_lines()) == 1


@pytest.mark.parametrize("attempts", [1, 2])
def test_a_closed_worksheet_gets_no_line_on_either_path(make_job, attempts):
    erp = InMemoryErp({"558": "closed"})
    with pytest.raises(PermanentError) as exc:
        create_order_line(erp, make_job(uniqueid="f-5", attempts=attempts))
    assert exc.value.reason_code == "worksheet_closed" and not erp.all_lines()
