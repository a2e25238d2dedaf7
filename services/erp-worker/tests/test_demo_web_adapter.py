"""The Selenium adapter against the demo ERP's web pages in a real headless Chromium."""

import threading

import pytest
import requests

from erp_worker.adapters.demo_web import DemoWebAdapter
from erp_worker.handlers import create_order_line
from hub_runtime.artifacts import ArtifactStore
from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.worker import Job


@pytest.fixture
def adapter(demo_erp, browser):
    adapter = DemoWebAdapter(demo_erp, browser, timeout=5)
    yield adapter
    requests.delete(demo_erp + "/_sim/faults", timeout=5)


def faults(erp, **values):
    requests.post(erp + "/_sim/faults", json=values, timeout=5).raise_for_status()


def counters(erp):
    return requests.get(erp + "/_sim/state", timeout=5).json()["counters"]


def test_an_order_becomes_one_line_through_the_pages(adapter, demo_erp, make_job, erp_lines):
    result = create_order_line(adapter, make_job(uniqueid="web-1", amount="4.5"))
    assert result["already_present"] is False
    added = erp_lines(demo_erp, "web-1")
    assert len(added) == 1 and added[0]["quantity"] == "4.5" and str(added[0]["id"]) == result["line_id"]
    again = create_order_line(adapter, make_job(uniqueid="web-1", amount="4.5", attempts=2))  # a redelivery
    assert again == {**result, "already_present": True} and len(erp_lines(demo_erp, "web-1")) == 1


def test_a_redelivery_after_the_line_was_saved_finds_it_instead_of_adding_another(adapter, demo_erp, make_job,
                                                                                   erp_lines):
    """The first delivery saved the line but its worker died before committing `created`: the redelivery
    (attempts 2, counted before the adapter acts) looks on the worksheet page and finds it."""
    first = create_order_line(adapter, make_job(uniqueid="web-2"))
    assert first["already_present"] is False
    logins = counters(demo_erp)["ui_logins"]
    for again in ({"attempts": 2}, {"attempts": 3, "attempt": 2}):
        assert create_order_line(adapter, make_job(uniqueid="web-2", **again)) == {**first, "already_present": True}
    assert len(erp_lines(demo_erp, "web-2")) == 1 and counters(demo_erp)["ui_logins"] == logins


def test_a_first_attempt_goes_straight_to_the_form_and_a_redelivery_opens_the_worksheet(adapter, demo_erp, make_job):
    create_order_line(adapter, make_job(uniqueid="path-0"))  # logged in
    before = counters(demo_erp)
    create_order_line(adapter, make_job(uniqueid="path-1"))
    first = counters(demo_erp)
    create_order_line(adapter, make_job(uniqueid="path-2", attempts=2))
    redelivered = counters(demo_erp)
    # first attempt: form, save, the worksheet page it lands on; a redelivery opens the worksheet first
    assert first["ui_requests"] - before["ui_requests"] == 4  # GET form, POST form, GET sheet, its lines
    assert redelivered["ui_requests"] - first["ui_requests"] == 6  # GET sheet, its lines, then the same 4


def test_the_browser_session_stays_logged_in_between_orders(adapter, demo_erp, browser, make_job):
    create_order_line(adapter, make_job(uniqueid="warm-0"))
    logins, starts = counters(demo_erp).get("ui_logins", 0), browser.started_at
    for i in range(1, 4):
        create_order_line(adapter, make_job(uniqueid=f"warm-{i}"))
    assert counters(demo_erp).get("ui_logins", 0) == logins and browser.started_at == starts


def test_an_expired_session_means_one_new_login_and_the_order_goes_through(adapter, demo_erp, make_job, erp_lines):
    create_order_line(adapter, make_job(uniqueid="exp-0"))
    logins = counters(demo_erp)["ui_logins"]
    faults(demo_erp, ui_expire_sessions=True)
    create_order_line(adapter, make_job(uniqueid="exp-1"))
    assert counters(demo_erp)["ui_logins"] == logins + 1 and len(erp_lines(demo_erp, "exp-1")) == 1


@pytest.mark.parametrize("changes,code,text", [
    ({"worksheet": "99999"}, "worksheet_not_found", "Worksheet 99999 not found"),
    ({"worksheet": "99999", "attempts": 2}, "worksheet_not_found", "Worksheet 99999 not found"),
    ({"worksheet": "559"}, "worksheet_closed", "559"),
    ({"worksheet": "559", "attempts": 2}, "worksheet_closed", "559"),
    ({"product_nr": "999"}, "product_not_found", "Unknown product 999"),
    ({"amount": "10001"}, "erp_rejected_line", "Quantity must not exceed 10000"),
    ({"password": "wrong"}, "erp_login_failed", "Invalid username or password"),
    ({"username": "disabled", "password": "disabled"}, "erp_login_failed", "User is inactive"),
])
def test_erp_messages_become_permanent_errors_with_their_text(adapter, changes, code, text, make_job):
    with pytest.raises(PermanentError) as exc:
        create_order_line(adapter, make_job(uniqueid="bad-1", **changes))
    assert exc.value.reason_code == code and not isinstance(exc.value, TransientError)
    assert text in exc.value.reason_text


def test_a_changed_element_id_is_a_permanent_page_change(adapter, demo_erp, make_job):
    faults(demo_erp, ui_changed_ids=True)
    with pytest.raises(PermanentError) as exc:
        create_order_line(adapter, make_job(uniqueid="ids-1"))
    assert exc.value.reason_code == "erp_page_changed" and "#product-nr" in exc.value.reason_text


@pytest.mark.parametrize("fault,code", [
    ({"ui_fail_next": 1}, "erp_unavailable"),
    ({"ui_error_banner": 1}, "erp_busy"),
])
def test_error_pages_and_banners_are_transient(adapter, demo_erp, fault, code, make_job):
    create_order_line(adapter, make_job(uniqueid="pre-1"))  # logged in, so the fault hits the order's pages
    faults(demo_erp, **fault)
    with pytest.raises(TransientError) as exc:
        create_order_line(adapter, make_job(uniqueid="tr-1"))
    assert exc.value.reason_code == code
    assert create_order_line(adapter, make_job(uniqueid="tr-1", attempt=2))["already_present"] is False


def test_a_500_after_the_save_is_retried_without_a_second_line(adapter, demo_erp, make_job, erp_lines):
    create_order_line(adapter, make_job(uniqueid="pre-2"))
    faults(demo_erp, ui_fail_after_save=1)
    with pytest.raises(TransientError):
        create_order_line(adapter, make_job(uniqueid="fas-1"))
    assert create_order_line(adapter, make_job(uniqueid="fas-1", attempt=2))["already_present"] is True
    assert len(erp_lines(demo_erp, "fas-1")) == 1


def test_a_slow_erp_past_the_timeout_is_transient(demo_erp, browser, make_job):
    adapter = DemoWebAdapter(demo_erp, browser, timeout=0.5)
    faults(demo_erp, ui_slow_ms=1500)
    try:
        with pytest.raises(TransientError) as exc:
            create_order_line(adapter, make_job(uniqueid="slow-1"))
        assert exc.value.reason_code == "erp_timeout"
    finally:
        requests.delete(demo_erp + "/_sim/faults", timeout=5)


def test_failures_leave_a_screenshot_and_the_page_as_artifacts(adapter, tmp_path, make_job):
    store = ArtifactStore(tmp_path)
    failing = make_job(uniqueid="art-1", worksheet="99999")
    with pytest.raises(PermanentError):
        create_order_line(adapter, Job(failing.task, failing.secret, 2, store))
    names = [a.name for a in store.list(failing.task.id)]
    assert names == ["attempt2-page.html", "attempt2-screenshot.png"]
    assert b"Worksheet 99999 not found" in store.path(failing.task.id, "attempt2-page.html").read_bytes()
    assert store.path(failing.task.id, "attempt2-screenshot.png").read_bytes().startswith(b"\x89PNG")


def test_a_browser_that_died_between_orders_is_replaced_before_the_next(adapter, browser, make_job):
    create_order_line(adapter, make_job(uniqueid="crash-0"))
    started = browser.started_at
    browser.driver.service.process.kill()  # chromedriver (and with it the browser) is gone
    assert create_order_line(adapter, make_job(uniqueid="crash-1"))["already_present"] is False
    assert browser.started_at != started and browser.responsive()


def test_a_browser_crash_mid_order_is_transient_and_the_retry_adds_one_line(adapter, demo_erp, browser, make_job,
                                                                             erp_lines):
    create_order_line(adapter, make_job(uniqueid="crash-2"))
    faults(demo_erp, ui_slow_ms=1500)
    killer = threading.Timer(0.5, browser.driver.service.process.kill)
    killer.start()
    with pytest.raises(TransientError) as exc:
        create_order_line(adapter, make_job(uniqueid="crash-3"))
    killer.join()
    assert exc.value.reason_code == "browser_failed"
    requests.delete(demo_erp + "/_sim/faults", timeout=5)
    create_order_line(adapter, make_job(uniqueid="crash-3", attempt=2))
    assert len(erp_lines(demo_erp, "crash-3")) == 1
