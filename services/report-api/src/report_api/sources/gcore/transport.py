"""HTTP to Gcore with timeouts and retries: 5xx, 429 (waiting what `Retry-After` says) and timeouts or lost
connections are tried again with exponential backoff, up to `request_attempts` tries; then `TransientError`.
One `requests.Session` per thread, so threads share the connection settings but never a session."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from hub_runtime.errors import TransientError

from .kind import GcoreSettings

log = logging.getLogger("report_api.gcore")

RETRY_AFTER_MAX = 300.0  # never wait longer than this on one Retry-After


class Stopped(Exception):
    """A wait between tries or status checks was cut short: the job is being cancelled or the worker stops."""


@dataclass
class Transport:
    settings: GcoreSettings
    stop: threading.Event = field(default_factory=threading.Event)  # set: waits end at once with `Stopped`
    _local: threading.local = field(default_factory=threading.local)

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.settings.api_url.rstrip("/") + path

    def wait(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped

    def request(self, method: str, path: str, *, read: Callable[[requests.Response], object] | None = None,
                **kwargs) -> tuple[requests.Response, object]:
        """The answer (any status but 5xx and 429) and what `read` made of it; `read` runs inside the retry
        loop, so a body cut off while it streams is tried again too. TransientError after the last try."""
        kwargs.setdefault("timeout", self.settings.request_timeout_seconds)
        attempts = self.settings.request_attempts
        problem = ""
        for attempt in range(1, attempts + 1):
            retry_after = None
            try:
                response = self.session.request(method, self.url(path), **kwargs)
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"{method} {path}: HTTP {response.status_code}"
                    retry_after = _retry_after(response) if response.status_code == 429 else None
                    response.close()
                else:
                    try:
                        return response, (read(response) if read is not None else None)
                    finally:
                        response.close()
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"{method} {path}: {type(exc).__name__}"
            if attempt == attempts:
                break
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            log.warning("gcore request failed, trying again", extra={"problem": problem, "attempt": attempt,
                                                                     "wait_seconds": round(delay, 2)})
            self.wait(delay)
        raise TransientError("gcore_unavailable", f"{problem} (after {attempts} tries)")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.settings.retry_max_seconds, self.settings.retry_base_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return min(max(float(response.headers.get("Retry-After", "")), 0.0), RETRY_AFTER_MAX)
    except ValueError:
        return None
