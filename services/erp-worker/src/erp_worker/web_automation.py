"""Building blocks for page objects: explicit waits (never sleeps) and the translation of what a browser
sees into the hub's errors. An ERP's page objects subclass `Page`."""

from __future__ import annotations

import time

from selenium.common.exceptions import JavascriptException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from hub_runtime.errors import PermanentError, TransientError

from .adapters.base import ERP_UNAVAILABLE

ERP_TIMEOUT = "erp_timeout"
ERP_PAGE_CHANGED = "erp_page_changed"
BROWSER_FAILED = "browser_failed"


# Waits run in the page: check the conditions now and on every change of the DOM, answer as soon as one
# holds or after `slice` ms (null). One round trip to the browser per slice, no polling delay. A navigation
# ends the script early (the page unloads); the caller then asks again, on the new page.
_WAIT_JS = """
const [checks, slice] = arguments, done = arguments[arguments.length - 1];
const first = () => {
    for (const [name, negate, css] of checks) {
        if ((document.querySelector(css) !== null) !== negate) return name;
    }
    return null;
};
const now = first();
if (now !== null) return done(now);
let timer = null;
const observer = new MutationObserver(() => {
    const found = first();
    if (found !== null) { observer.disconnect(); clearTimeout(timer); done(found); }
});
observer.observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
timer = setTimeout(() => { observer.disconnect(); done(first()); }, slice);"""

_SLICE = 1.0  # seconds one in-page wait may take before the browser answers "not yet"

# Fill fields found by CSS (firing `input` and `change` like typing would) and return the button to press;
# or the first selector the page lacks, having filled nothing.
_FILL_BY_CSS_JS = """
const [values, button] = arguments;
for (const css of [...values.map(v => v[0]), button]) {
    if (document.querySelector(css) === null) return [css, null];
}
for (const [css, value] of values) {
    const element = document.querySelector(css);
    element.value = value;
    element.dispatchEvent(new Event('input', {bubbles: true}));
    element.dispatchEvent(new Event('change', {bubbles: true}));
}
return [null, document.querySelector(button)];"""


_FILL_JS = """
for (const [element, value] of arguments[0]) {
    element.value = value;
    element.dispatchEvent(new Event('input', {bubbles: true}));
    element.dispatchEvent(new Event('change', {bubbles: true}));
}"""


class SessionExpired(Exception):
    """The ERP sent the browser to its login page: log in again and repeat the step."""


class Page:
    """One page of an ERP. `timeout` bounds every explicit wait."""

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
        that must not. The page itself watches for them (a MutationObserver in an async script), so the
        answer comes as soon as the page changes, with one round trip per second of waiting; a navigation
        on the way (a submitted form, a redirect to the login page) only means asking again on the new
        page. A timeout is transient."""
        checks = [[name, css.startswith("!"), css.lstrip("!")] for name, css in conditions.items()]
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            try:
                found = self.driver.execute_async_script(_WAIT_JS, checks, int(1000 * max(0.0, min(_SLICE, left))))
            except JavascriptException:  # the page unloaded under the script: ask the new one
                found = None
            except TimeoutException:  # the browser did not answer within its script timeout
                found = None
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise TransientError(ERP_TIMEOUT, f"timed out after {self.timeout:.0f}s waiting for {what} "
                                     f"on {self.driver.current_url}")

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

    def fill_by_css(self, values: dict[str, str], button: str, page_name: str) -> WebElement:
        """Fill plain fields given by CSS selector and return the button that sends them, in one round trip
        (no key events: use `fill` for ERPs that listen to keystrokes). A missing field or button means the
        ERP changed its page: PermanentError(ERP_PAGE_CHANGED), with nothing filled."""
        missing, element = self.driver.execute_script(_FILL_BY_CSS_JS, list(values.items()), button)
        if missing is not None:
            raise PermanentError(ERP_PAGE_CHANGED, f"the {page_name} page has no {missing}; the ERP's page changed")
        return element

    def raise_server_error(self) -> None:
        raise TransientError(ERP_UNAVAILABLE, f"the ERP answered an error page at {self.driver.current_url}")
