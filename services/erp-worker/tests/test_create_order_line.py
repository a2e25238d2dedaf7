"""The use case and the demo ERP's HTTP adapter, against the demo ERP over real HTTP."""

import pytest
import requests

from erp_worker.adapters.demo_http import DemoHttpAdapter
from erp_worker.handlers import create_order_line
from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.worker import Job


def test_adds_one_line_with_the_uniqueid_as_reference(demo_erp, make_job, erp_lines):
    result = create_order_line(DemoHttpAdapter(demo_erp), make_job())
    assert result["already_present"] is False
    added = erp_lines(demo_erp, "u-1")
    assert len(added) == 1 and str(added[0]["id"]) == result["line_id"]


def test_a_first_attempt_is_one_erp_request(demo_erp, make_job):
    adapter = DemoHttpAdapter(demo_erp)
    create_order_line(adapter, make_job(uniqueid="warm-up"))  # logs in
    sent = []
    adapter.http.hooks["response"].append(lambda response, **_: sent.append(response.request.method))
    create_order_line(adapter, make_job(uniqueid="one-request"))
    assert sent == ["POST"]


@pytest.mark.parametrize("again", [{"attempts": 2}, {"attempt": 2}], ids=["redelivered", "retried"])
def test_a_second_run_finds_the_line_instead_of_adding_another(demo_erp, make_job, erp_lines, again):
    adapter = DemoHttpAdapter(demo_erp)
    first = create_order_line(adapter, make_job())
    second = create_order_line(adapter, make_job(**again))
    assert second == {**first, "already_present": True}
    assert len(erp_lines(demo_erp, "u-1")) == 1


@pytest.mark.parametrize("attempts", [1, 2])
def test_a_closed_worksheet_is_refused_on_every_attempt(demo_erp, make_job, erp_lines, attempts):
    with pytest.raises(PermanentError) as exc:
        create_order_line(DemoHttpAdapter(demo_erp), make_job(worksheet="559", attempts=attempts))
    assert exc.value.reason_code == "worksheet_closed"


def test_the_session_stays_warm_and_expiry_means_one_new_login(demo_erp, make_job):
    adapter = DemoHttpAdapter(demo_erp)
    for i in range(3):
        create_order_line(adapter, make_job(uniqueid=f"w-{i}"))
    assert requests.get(demo_erp + "/_sim/state", timeout=5).json()["counters"]["logins"] == 1
    requests.post(demo_erp + "/_sim/faults", json={"expire_sessions": True}, timeout=5)
    create_order_line(adapter, make_job(uniqueid="w-after"))
    assert requests.get(demo_erp + "/_sim/state", timeout=5).json()["counters"]["logins"] == 2


@pytest.mark.parametrize("changes,code", [
    ({"worksheet": "99999"}, "worksheet_not_found"),
    ({"worksheet": "99999", "attempts": 2}, "worksheet_not_found"),
    ({"worksheet": "559"}, "worksheet_closed"),
    ({"product_nr": "999"}, "product_not_found"),
    ({"password": "wrong"}, "erp_login_failed"),
    ({"username": "disabled"}, "erp_login_failed"),
])
def test_permanent_errors_carry_a_stable_code_and_the_erp_text(demo_erp, changes, code, make_job):
    with pytest.raises(PermanentError) as exc:
        create_order_line(DemoHttpAdapter(demo_erp), make_job(**changes))
    assert exc.value.reason_code == code and not isinstance(exc.value, TransientError)
    assert exc.value.reason_text


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_throttling_are_transient(demo_erp, status, make_job):
    requests.post(demo_erp + "/_sim/faults", json={"fail_next": 1, "fail_status": status}, timeout=5)
    with pytest.raises(TransientError) as exc:
        create_order_line(DemoHttpAdapter(demo_erp), make_job())
    assert exc.value.reason_code == "erp_unavailable"


def test_an_unreachable_erp_is_transient(make_job):
    with pytest.raises(TransientError):
        create_order_line(DemoHttpAdapter("http://127.0.0.1:9", timeout=1), make_job())


def test_missing_credentials_are_permanent(demo_erp, make_job):
    no_secret = Job(make_job().task, {})
    with pytest.raises(PermanentError) as exc:
        create_order_line(DemoHttpAdapter(demo_erp), no_secret)
    assert exc.value.reason_code == "credentials_missing"


def test_credentials_never_show_in_their_repr():
    from erp_worker.adapters.base import Credentials

    assert "gygag" not in repr(Credentials("admin", "gygag"))
