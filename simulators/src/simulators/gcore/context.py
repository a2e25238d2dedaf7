"""What the Gcore simulator's blueprints share: accounts, tasks, faults, counters and the clock, found in
`current_app.extensions["gcore_sim"]`, plus the answers every Gcore endpoint can give."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Response, current_app, jsonify, request

from .accounts import Accounts
from .faults import Faults
from .reports import Tasks

EXTENSION_KEY = "gcore_sim"
COUNTERS = ("requests", "logins", "failed_logins", "refreshes", "failed_refreshes", "unauthorized",
            "feature_requests", "reports_created", "status_checks", "downloads", "downloads_json", "downloads_csv",
            "downloads_xlsx", "injected_failures", "rate_limited", "stalled_downloads")


@dataclass
class Counters:
    """Request counters for `/_sim/state`, and the login concurrency (`max_concurrent_logins`)."""

    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    logins_in_flight: int = 0
    max_concurrent_logins: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> None:
        with self._lock:
            self.values[name] += 1

    def login_started(self) -> None:
        with self._lock:
            self.logins_in_flight += 1
            self.max_concurrent_logins = max(self.max_concurrent_logins, self.logins_in_flight)

    def login_ended(self) -> None:
        with self._lock:
            self.logins_in_flight -= 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.values) | {"max_concurrent_logins": self.max_concurrent_logins}

    def reset(self) -> None:
        with self._lock:
            self.values = dict.fromkeys(COUNTERS, 0)
            self.max_concurrent_logins = self.logins_in_flight


@dataclass
class GcoreContext:
    accounts: Accounts
    tasks: Tasks
    faults: Faults
    clock: Callable[[], float]
    seed: int
    rows_per_report: int
    counters: Counters = field(default_factory=Counters)


def sim() -> GcoreContext:
    return current_app.extensions[EXTENSION_KEY]


def detail(message: str, status: int) -> tuple[Response, int]:
    """DRF's error body: `{"detail": message}`."""
    return jsonify(detail=message), status


def json_body() -> tuple[object, str | None]:
    """The request's JSON body, or (None, DRF's parse error message)."""
    try:
        return json.loads(request.get_data(as_text=True) or ""), None
    except ValueError as exc:
        return None, f"JSON parse error - {exc}"


def gateway_page(status: int) -> str:
    """The HTML page the gateway in front of Gcore's API answers 5xx errors with (not JSON)."""
    phrase = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
              504: "Gateway Time-out"}.get(status, "Error")
    return (f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n<center><h1>{status} {phrase}"
            f"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
