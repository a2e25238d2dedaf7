"""A warm headless Chromium for web-automation adapters.

One browser per worker, kept logged in between orders. It is restarted after a crash, after
`max_orders` orders, after `max_age` seconds or when its resident memory passes `max_rss_bytes`, and
closed when the worker has been idle (e.g. paused) for `idle_close` seconds. Its memory is measured while
the worker waits for orders, and between orders at most every `rss_interval` seconds (a walk over /proc
costs tens of milliseconds of CPU: not something to pay on every order). Debian's chromium and
chromedriver are used as installed; nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import urllib3
from prometheus_client import Counter, Gauge
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

log = logging.getLogger("erp_worker.browser")

BROWSER_RSS = Gauge("hub_browser_rss_bytes", "Memory (PSS) of the worker's browser (driver + chromium)")
BROWSER_STARTS = Counter("hub_browser_starts_total", "Browser (re)starts", ["reason"])

# What a dead browser or chromedriver raises: WebDriver errors, or the HTTP client's own when the driver
# process is gone.
BROWSER_ERRORS = (WebDriverException, urllib3.exceptions.HTTPError, OSError)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--no-first-run", "--disable-default-apps", "--mute-audio",
         "--window-size=1280,900", "--js-flags=--max-old-space-size=128")


def browser_installed() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class BrowserSession:
    def __init__(self, *, max_orders: int = 500, max_age: float = 3600, max_rss_bytes: int = 700 * 2**20,
                 idle_close: float = 300, page_load_timeout: float = 30, rss_interval: float = 10):
        self.max_orders = max_orders
        self.max_age = max_age
        self.max_rss_bytes = max_rss_bytes
        self.idle_close = idle_close
        self.page_load_timeout = page_load_timeout
        self.rss_interval = rss_interval
        self._measured_at = 0.0  # monotonic time of the last memory measurement
        self._unmeasured = 0  # orders since then
        self.driver: webdriver.Chrome | None = None
        self.orders = 0
        self.started_at = 0.0
        self.last_used = time.monotonic()
        self.peak_rss = 0
        self.last_rss = 0
        self._profile: str | None = None
        self._chromium_pid: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def get(self) -> webdriver.Chrome:
        """The warm browser, (re)started if it is missing, crashed, old or too big. Called once per order
        (each check costs a round trip to the browser); pages of the order use `driver`."""
        reason = self._restart_reason()
        if reason:
            if self.driver is not None:
                log.info("restarting the browser: %s", reason)
            self.close()
            self._start(reason)
        self.last_used = time.monotonic()
        return self.driver

    def order_done(self) -> None:
        self.orders += 1
        self._unmeasured += 1
        self.last_used = time.monotonic()
        if self.last_used - self._measured_at >= self.rss_interval:
            self.measure()

    def measure(self) -> None:
        """Measure the browser's memory now (the restart check before the next order uses it)."""
        self.last_rss = self.rss_bytes()
        self._measured_at, self._unmeasured = time.monotonic(), 0
        BROWSER_RSS.set(self.last_rss)
        self.peak_rss = max(self.peak_rss, self.last_rss)

    def idle(self) -> None:
        """Called while the worker waits: measure the memory of a browser that served orders since the
        last measurement, and close one nobody has used for `idle_close` seconds."""
        if self.driver is None:
            return
        if time.monotonic() - self.last_used > self.idle_close:
            log.info("closing the idle browser")
            self.close()
        elif self._unmeasured:
            self.measure()

    def close(self) -> None:
        if self.driver is not None:
            process = self.driver.service.process
            try:
                if process is not None and process.poll() is None:  # else the driver is gone already
                    self.driver.quit()
            except BROWSER_ERRORS as exc:  # a dead browser cannot be quit politely
                log.debug("quit failed: %s", exc)
            self.driver = None
        if self._chromium_pid:  # chromium outlives a chromedriver that died: end it and its helpers
            for pid in tree_pids(self._chromium_pid):
                with suppress(OSError):
                    if b"chromium" in Path(f"/proc/{pid}/cmdline").read_bytes():  # not a recycled pid
                        os.kill(pid, signal.SIGKILL)
            self._chromium_pid = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
        BROWSER_RSS.set(0)

    def _start(self, reason: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="hub-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile}")
        options.page_load_strategy = "eager"  # every wait is explicit: the DOM is enough
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        self.driver.set_page_load_timeout(self.page_load_timeout)
        self._chromium_pid = next(iter(_children().get(self.driver.service.process.pid, [])), None)
        self.orders = self._unmeasured = 0
        self.last_rss = 0
        self.started_at = self._measured_at = time.monotonic()
        BROWSER_STARTS.labels(reason).inc()
        log.info("browser started (%s)", reason)

    def _restart_reason(self) -> str | None:
        if self.driver is None:
            return "first use"
        if not self.responsive():
            return "crashed"
        if self.orders >= self.max_orders:
            return f"{self.orders} orders served"
        if time.monotonic() - self.started_at > self.max_age:
            return "max age"
        if self.last_rss > self.max_rss_bytes:  # measured after each order: /proc walks are not free
            return "memory limit"
        return None

    def responsive(self) -> bool:
        try:
            self.driver.execute_script("return 1")
            return True
        except BROWSER_ERRORS:
            return False

    # --- memory -------------------------------------------------------------------------------------
    def rss_bytes(self) -> int:
        """Memory (PSS) of chromedriver and every process below it (chromium and its helpers)."""
        if self.driver is None or self.driver.service.process is None:
            return 0
        return tree_rss(self.driver.service.process.pid)


def tree_rss(root_pid: int) -> int:
    return sum(_rss(pid) for pid in tree_pids(root_pid))


def tree_pids(root_pid: int) -> list[int]:
    """The process and every process below it."""
    children, found, stack = _children(), [], [root_pid]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(status.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return children


def _rss(pid: int) -> int:
    """Proportional set size: chromium's processes share most of their pages, so summing plain RSS
    would count them several times over."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
