"""The demo ERP through its web pages (simulators/demo_erp web UI), with Selenium: the worked example of a
web-automation adapter. One page object per page; `DemoWebAdapter` strings them together.

To add an ERP system: copy this module, rewrite the page objects for that ERP's pages (its URLs, ids and
messages), map its messages to the reason codes in `adapters/base.py`, give it a `make` factory like this
module's, and add its line under `[project.entry-points."hub.erp_adapters"]` in pyproject.toml.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from hub_runtime.errors import PermanentError, TransientError

from ..browser import BROWSER_ERRORS, BrowserSession
from ..web_automation import BROWSER_FAILED, Page, SessionExpired
from .base import (
    INVALID_LINE,
    LOGIN_FAILED,
    PRODUCT_NOT_FOUND,
    WORKSHEET_CLOSED,
    WORKSHEET_NOT_FOUND,
    Credentials,
    ErpAdapter,
    OrderLine,
    Worksheet,
)

log = logging.getLogger("erp_worker.demo_web")

SERVER_ERROR = '#page-error[data-error="internal_error"]'  # the ERP's 500 page

_ROWS_JS = """return Array.from(document.querySelectorAll('tr.order-line')).map(r => [
    r.dataset.lineId, r.dataset.reference, r.querySelector('td.product-nr').textContent.trim(),
    r.querySelector('td.quantity').textContent.trim()]);"""

# The header and the (loaded) order lines in one round trip.
_SHEET_JS = """const text = css => (document.querySelector(css)?.textContent ?? '').trim();
return [text('#worksheet-number'), text('#worksheet-status'), text('#worksheet-customer'), (() => {
""" + _ROWS_JS + """
})()];"""


class LoginPage(Page):
    def log_in(self, credentials: Credentials) -> None:
        self.open("/login")
        if self.wait_for_any("the login form", error=SERVER_ERROR, form="form#login-form") == "error":
            self.raise_server_error()
        self.submit(credentials)

    def submit(self, credentials: Credentials) -> None:
        """Fill and send the login form shown now; on success the ERP goes on to `next` (or the list)."""
        self.fill(self.field("input#username", "login"), credentials.username)
        self.fill(self.field("input#password", "login"), credentials.password)
        self.field("button#login-button", "login").click()
        outcome = self.wait_for_any("the login result", refused="#login-error", error=SERVER_ERROR,
                                    done="!form#login-form")
        if outcome == "refused":
            raise PermanentError(LOGIN_FAILED, self.text("#login-error"))
        if outcome == "error":
            self.raise_server_error()


class WorksheetPage(Page):
    """`/worksheets/<number>`: header, status and the order lines, which load late."""

    _rows: list | None = None

    def load(self, number: str) -> Worksheet:
        self.open(f"/worksheets/{quote(number, safe='')}")
        return self.read(number)

    def read(self, number: str) -> Worksheet:
        outcome = self.wait_for_any(f"worksheet {number}", lines="#lines-loaded", error=SERVER_ERROR,
                                    missing="#page-error", login="form#login-form", load_error="#load-error")
        if outcome == "login":
            raise SessionExpired()
        if outcome == "missing":
            code = self.present("#page-error").get_attribute("data-error")
            if code == "worksheet_not_found":
                raise PermanentError(WORKSHEET_NOT_FOUND, self.text("#page-error"))
            raise TransientError("erp_page_error", self.text("#page-error"))
        if outcome in ("error", "load_error"):
            self.raise_server_error()
        shown, status, customer, self._rows = self.driver.execute_script(_SHEET_JS)
        return Worksheet(shown or number, status, customer or None)

    def lines(self) -> list[OrderLine]:
        """The order lines as `read` found them loaded (or as the page shows them now)."""
        rows = self._rows if self._rows is not None else self.driver.execute_script(_ROWS_JS)
        return [OrderLine(str(i), product, quantity, reference) for i, reference, product, quantity in rows]

    def flash(self) -> str:
        return self.text("#flash")


class AddLinePage(Page):
    """`/worksheets/<number>/lines/new`: the add-order-line form with server-side validation."""

    def open_for(self, number: str) -> None:
        self.open(f"/worksheets/{quote(number, safe='')}/lines/new")
        outcome = self.wait_for_any("the add-line form", form="#line-form-worksheet", error=SERVER_ERROR,
                                    login="form#login-form", missing="#page-error")
        if outcome == "login":
            raise SessionExpired()
        if outcome == "error":
            self.raise_server_error()
        if outcome == "missing":
            raise PermanentError(WORKSHEET_NOT_FOUND, self.text("#page-error"))

    def submit(self, product_nr: str, quantity: str, reference: str) -> str:
        """Send the form; returns "saved" (now on the worksheet page) or raises with the ERP's message."""
        save = self.fill_by_css({"input#product-nr": product_nr, "input#quantity": quantity,
                                 "input#reference": reference}, "button#save-line", "add-line")
        save.click()
        outcome = self.wait_for_any("the saved line", saved="#flash", refused="#form-error",
                                    login="form#login-form", error=SERVER_ERROR)
        if outcome == "login":
            raise SessionExpired()
        if outcome == "error":
            self.raise_server_error()
        if outcome == "refused":
            raise _form_error(self.text("#form-error"))
        return outcome


def _form_error(message: str) -> Exception:
    """The ERP's validation message as an order error with a stable code (the text is kept as is)."""
    lowered = message.lower()
    if "temporary error" in lowered or "try again" in lowered:
        return TransientError("erp_busy", message)
    if lowered.startswith("unknown product"):
        return PermanentError(PRODUCT_NOT_FOUND, message)
    if "is closed" in lowered:
        return PermanentError(WORKSHEET_CLOSED, message)
    return PermanentError(INVALID_LINE, message)


class DemoWebAdapter(ErpAdapter):
    def __init__(self, base_url: str, browser: BrowserSession, timeout: float = 10.0):
        self.base_url = base_url
        self.browser = browser
        self.timeout = timeout
        self._credentials: Credentials | None = None
        self._logged_in_driver = None  # the browser the session cookie lives in

    def _page(self, cls: type[Page]) -> Page:
        return cls(self.browser.driver, self.base_url, self.timeout)  # checked once per order, in login()

    def login(self, credentials: Credentials) -> None:
        driver = self._guarded(self.browser.get)
        if credentials == self._credentials and driver is self._logged_in_driver:
            return  # the warm session
        self._credentials, self._logged_in_driver = credentials, None
        self._guarded(lambda: self._page(LoginPage).log_in(credentials))
        self._logged_in_driver = driver

    def find_worksheet(self, number: str) -> Worksheet:
        return self._step(lambda: self._page(WorksheetPage).load(number))

    def find_line(self, worksheet: Worksheet, reference: str) -> OrderLine | None:
        lines = self._step(lambda: self._page(WorksheetPage).lines())
        return next((line for line in lines if line.reference == reference), None)

    def add_line(self, worksheet: Worksheet, product_nr: str, quantity: str, reference: str) -> OrderLine:
        return self.add_new_line(worksheet.number, product_nr, quantity, reference)[1]

    def add_new_line(self, number: str, product_nr: str, quantity: str, reference: str) -> tuple[Worksheet, OrderLine]:
        """Straight to the add-line form, without the worksheet page: the demo ERP answers an unknown
        worksheet with its 404 page and refuses a line on a closed one with `Worksheet N is closed` on the
        form, so neither needs the worksheet's header first. The save lands on the worksheet page, where
        the line must then be listed (its late-loaded lines are the one wait for them in an order)."""

        def add() -> tuple[Worksheet, OrderLine | None]:
            form = self._page(AddLinePage)
            form.open_for(number)
            form.submit(product_nr, quantity, reference)
            sheet = self._page(WorksheetPage)
            worksheet = sheet.read(number)
            return worksheet, next((line for line in sheet.lines() if line.reference == reference), None)

        worksheet, line = self._step(add)
        if line is None:
            raise TransientError("erp_line_not_listed", "the ERP said the line was added but does not list it")
        return worksheet, line

    def order_done(self) -> None:
        self.browser.order_done()

    def idle(self) -> None:
        self.browser.idle()

    def evidence(self) -> dict[str, bytes]:
        driver = self.browser.driver
        if driver is None:
            return {}
        try:
            return {"screenshot.png": driver.get_screenshot_as_png(), "page.html": driver.page_source.encode()}
        except BROWSER_ERRORS:
            return {}

    def close(self) -> None:
        log.info("closing the browser (peak memory %.0f MiB)", self.browser.peak_rss / 2**20)
        self.browser.close()

    def _step(self, step):
        """Run a step; if the ERP's session expired on the way, log in again and repeat it once."""
        try:
            return self._guarded(step)
        except SessionExpired:
            log.info("ERP session expired; logging in again")
            self._logged_in_driver = None
            self.login(self._credentials)
            try:
                return self._guarded(step)
            except SessionExpired:
                raise TransientError("erp_session_expired", "the ERP keeps ending the session") from None

    def _guarded(self, step):
        """A crashed or unreachable browser is transient: the next attempt starts a new one."""
        try:
            return step()
        except BROWSER_ERRORS as exc:
            self._logged_in_driver = None
            raise TransientError(BROWSER_FAILED, f"{type(exc).__name__}: {exc}"[:300]) from None


def make(erp, settings) -> DemoWebAdapter:
    """The `selenium-demo` entry point of hub.erp_adapters: the demo ERP's web pages, in headless Chromium."""
    browser = BrowserSession(max_orders=settings.browser_max_orders, max_age=settings.browser_max_minutes * 60,
                             max_rss_bytes=settings.browser_max_mb * 2**20,
                             idle_close=settings.browser_idle_close_seconds,
                             page_load_timeout=erp.timeout_seconds * 3)
    return DemoWebAdapter(erp.base_url, browser, timeout=erp.timeout_seconds)
