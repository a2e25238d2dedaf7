"""Building blocks for page objects: explicit waits (never sleeps) and the translation of what a browser
sees into the hub's errors. An ERP's page objects subclass `Page`."""

from __future__ import annotations

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from hub_runtime.worker import PermanentError, TransientError

from .adapters.base import ERP_UNAVAILABLE

ERP_TIMEOUT = "erp_timeout"
ERP_PAGE_CHANGED = "erp_page_changed"
BROWSER_FAILED = "browser_failed"


_FIRST_MATCH_JS = """
for (const [name, negate, css] of arguments[0]) {
    if ((document.querySelector(css) !== null) !== negate) return name;
}
return null;"""


_FILL_JS = """
for (const [element, value] of arguments[0]) {
    element.value = value;
    element.dispatchEvent(new Event('input', {bubbles: true}));
    element.dispatchEvent(new Event('change', {bubbles: true}));
}"""


class SessionExpired(Exception):
    """The ERP sent the browser to its login page: log in again and repeat the step."""


class Page:
    """One page of an ERP. `timeout` bounds every explicit wait; waits poll every 50 ms."""

    def __init__(self, driver: WebDriver, base_url: str, timeout: float):
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def open(self, path: str) -> None:
        try:
            self.driver.get(self.base_url + path)
        except TimeoutException:
            raise TransientError(ERP_TIMEOUT, f"page {path} did not load in time") from None

    def wait_for_any(self, what: str, **conditions: str) -> str:
        """Wait until one of the named conditions holds; returns the first that does, in the order given
        (so put the most specific first). A condition is a CSS selector that must match, or `!selector`
        that must not. All are checked in one script call per poll. A timeout is transient."""
        checks = [[name, css.startswith("!"), css.lstrip("!")] for name, css in conditions.items()]

        def first(driver):
            return driver.execute_script(_FIRST_MATCH_JS, checks)

        try:
            return WebDriverWait(self.driver, self.timeout, poll_frequency=0.05).until(first)
        except TimeoutException:
            raise TransientError(ERP_TIMEOUT, f"timed out after {self.timeout:.0f}s waiting for {what} "
                                 f"on {self.driver.current_url}") from None

    def present(self, css: str) -> WebElement | None:
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def text(self, css: str) -> str:
        element = self.present(css)
        return element.text.strip() if element else ""

    def field(self, css: str, page_name: str) -> WebElement:
        """An element the page must have; missing means the ERP changed its page (retrying won't help)."""
        element = self.present(css)
        if element is None:
            raise PermanentError(ERP_PAGE_CHANGED, f"the {page_name} page has no {css}; the ERP's page changed")
        return element

    @staticmethod
    def fill(element: WebElement, value: str) -> None:
        """Type into a field of a freshly loaded form (empty: no clearing round trip), key by key, for ERPs
        whose fields react to key events."""
        element.send_keys(value)

    def fill_form(self, values: dict[WebElement, str]) -> None:
        """Set several plain fields in one script call (fires `input` and `change` like typing would): a
        round trip per form instead of one per key. Use `fill` where the ERP listens to keystrokes."""
        self.driver.execute_script(_FILL_JS, [[element, value] for element, value in values.items()])

    def raise_server_error(self) -> None:
        raise TransientError(ERP_UNAVAILABLE, f"the ERP answered an error page at {self.driver.current_url}")
