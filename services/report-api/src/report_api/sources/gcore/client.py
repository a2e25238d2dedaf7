"""Gcore's billing report API for one account: the features of a product, a report's creation, its status
checked with backoff until it is done, and its file streamed to disk (never held whole in memory). Safe to
share between threads (one token manager; one HTTP session per thread)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import requests

from hub_runtime.errors import PermanentError

from .kind import GcoreSettings
from .tokens import TokenManager
from .transport import Transport

log = logging.getLogger("report_api.gcore")

FEATURES_PATH = "/billing/v1/report_features"
REPORTS_PATH = "/billing/v1/org/files"
TEMPLATE = "ResellerStatistics"
PAGE = 100
CHUNK = 64 * 1024
DONE, FAILED = "Completed", ("Failed", "Cancelled")


class GcoreClient:
    def __init__(self, settings: GcoreSettings, transport: Transport, tokens: TokenManager):
        self.settings = settings
        self.transport = transport
        self.tokens = tokens

    def call(self, method: str, path: str, *, read: Callable[[requests.Response], object] | None = None,
             **kwargs) -> tuple[requests.Response, object]:
        """An authenticated request; a refused token is renewed once (PermanentError if refused again)."""
        for _ in range(2):
            header = self.tokens.header()
            headers = {**kwargs.pop("headers", {}), "Authorization": header}
            response, made = self.transport.request(method, path, read=_unless_401(read), headers=headers, **kwargs)
            if response.status_code != 401:
                return response, made
            self.tokens.rejected(header)
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
        raise PermanentError("gcore_unauthorized", f"Gcore refused a new token for {method} {path}")

    def features(self, product: str) -> list[int]:
        """The ids of a product's report features (every page)."""
        ids: list[int] = []
        url: str | None = f"{FEATURES_PATH}?product_name={requests.utils.quote(product)}&limit={PAGE}"
        while url:
            page = self._json("GET", url)
            ids += [feature["id"] for feature in page["results"]]
            url = page.get("next")
        if not ids:
            raise PermanentError("gcore_no_features", f"Gcore lists no report features for the product {product!r}")
        return ids

    def create_report(self, features: list[int], date_from: str, date_to: str) -> str:
        """A usage report of these features per client; returns its uuid."""
        body = {"template_code": TEMPLATE, "parameters": {"date_from": date_from, "date_to": date_to,
                                                          "features": features, "group_by": ["client"]}}
        task = self._json("POST", f"{REPORTS_PATH}/report", json=body, expect=201)
        log.info("gcore report created", extra={"gcore_uuid": task["uuid"]})
        return task["uuid"]

    def status(self, uuid: str) -> dict:
        """The report task as Gcore tells it."""
        return self._json("GET", f"{REPORTS_PATH}/{uuid}")

    def wait_done(self, uuid: str, tick: Callable[[str], None] = lambda status: None) -> dict:
        """Check the status with growing waits until `Completed`; `Failed`/`Cancelled` are PermanentError with
        Gcore's reason, and so is a report not done after `poll_timeout_seconds`. `tick(status)` is called
        after each check (to record progress, or stop)."""
        deadline = time.monotonic() + self.settings.poll_timeout_seconds
        wait = self.settings.poll_interval_seconds
        while True:
            task = self.status(uuid)
            status = task.get("status")
            tick(status)
            if status == DONE:
                return task
            if status in FAILED:
                reason = task.get("processing_notes") or "no reason given"
                raise PermanentError(f"gcore_report_{status.lower()}", f"Gcore report {uuid} {status}: {reason}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise PermanentError("gcore_report_timeout", f"Gcore report {uuid} is still {status} after "
                                     f"{self.settings.poll_timeout_seconds:g} s")
            self.transport.wait(min(wait, left))
            wait = min(wait * 1.5, self.settings.poll_max_interval_seconds)

    def download(self, uuid: str, path: Path, accept: str = "text/csv") -> int:
        """The finished report's file streamed into `path`; returns its size in bytes."""

        def save(response: requests.Response) -> int:
            if response.status_code != 200:
                _ = response.content  # the (small) error body, kept for the message
                return -1
            size = 0
            with path.open("wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            return size

        response, size = self.call("GET", f"{REPORTS_PATH}/{uuid}/download", read=save, stream=True,
                                   headers={"Accept": accept})
        if response.status_code != 200:
            raise PermanentError("gcore_download_failed", f"Gcore refused the download of report {uuid} "
                                 f"(HTTP {response.status_code}): {_text(response)}")
        return size

    def _json(self, method: str, path: str, expect: int = 200, **kwargs):
        response, body = self.call(method, path, read=_json_body, **kwargs)
        if response.status_code == 404:
            raise PermanentError("gcore_not_found", f"Gcore knows no {path.split('?')[0]}")
        if response.status_code != expect or body is None:
            raise PermanentError("gcore_refused", f"{method} {path.split('?')[0]}: HTTP {response.status_code}: "
                                 f"{_text(response)}")
        return body


def _json_body(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _unless_401(read):
    if read is None:
        return None
    return lambda response: None if response.status_code == 401 else read(response)


def _text(response: requests.Response) -> str:
    try:
        return response.text[:300].replace("\n", " ")
    except (requests.RequestException, RuntimeError):
        return ""
