from datetime import datetime

import pytest
import requests

from hub_runtime.tasks import TaskView
from hub_runtime.testing.services import serving
from hub_runtime.worker import Job
from simulators.demo_erp.app import create_app


@pytest.fixture
def demo_erp():
    """The demo ERP served over real HTTP in this process; yields its base URL."""
    with serving(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """One warm headless Chromium for a test module (skipped without Chromium unless REQUIRE_BROWSER=1)."""
    import os

    from erp_worker.browser import BrowserSession, browser_installed

    if not browser_installed():
        message = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(message)
    session = BrowserSession()
    yield session
    session.close()


def _job(uniqueid="u-1", worksheet="558", product_nr="10", amount="5", username="admin", password="gygag",
         attempts=1, attempt=1):
    """`attempts`: the task's delivery count as `TaskStore.begin` left it (2+ = a redelivery);
    `attempt`: the worker's retry within one delivery (2+ = a retry after a transient error)."""
    payload = {"workshop": "Bennys Auto", "worksheet": worksheet, "product_nr": product_nr,
               "product_amount": amount, "uniqueid": uniqueid}
    now = datetime.now()
    task = TaskView("t1", uniqueid, "erp_order", "processing", None, None, attempts, payload, None, now, now)
    return Job(task, {"username": username, "password": password}, attempt)


def _lines(erp, reference):
    state = requests.get(erp + "/_sim/state", timeout=5).json()
    sheets = state["worksheets"]
    sheet = sheets["558"] if isinstance(sheets, dict) else next(s for s in sheets if s["number"] == "558")
    return [line for line in sheet["lines"] if line["reference"] == reference]


@pytest.fixture
def make_job():
    """make_job(uniqueid=..., worksheet=..., ..., attempts=1, attempt=1) -> a Job as the worker would hand it
    to the handler (by default the task's first attempt, which does not look for an existing line)."""
    return _job


@pytest.fixture
def erp_lines():
    """erp_lines(erp_url, reference) -> the demo ERP's lines on worksheet 558 with that reference."""
    return _lines
