"""Reports 2021-06-30 for one seller: a report requested, its status checked until Amazon is done with it, its
document downloaded (and gunzipped), and report schedules.

A report ends DONE, FATAL or CANCELLED. CANCELLED is not only a cancellation asked for: Amazon also
cancels a report that has no data to return (e.g. no orders in the range), so a caller that can take "no
data" for an answer should catch `spapi_report_cancelled`."""

from __future__ import annotations

import gzip
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import quote

from hub_runtime.errors import PermanentError, TransientError

from ..kind import AmazonSettings
from ..marketplaces import by_id
from .transport import Transport, timestamp
from .waits import pause

log = logging.getLogger("amazon_sync.spapi")

BASE = "/reports/2021-06-30"
# Amazon's schedule periods (the model's enum for createReportSchedule; there is no PT24H: a day is P1D)
SCHEDULE_PERIODS = ("PT5M", "PT15M", "PT30M", "PT1H", "PT2H", "PT4H", "PT8H", "PT12H", "P1D", "P2D", "P3D",
                    "PT84H", "P7D", "P14D", "P15D", "P18D", "P30D", "P1M")
PROCESSING_STATUSES = ("IN_QUEUE", "IN_PROGRESS", "DONE", "CANCELLED", "FATAL")
GZIP_MAGIC = b"\x1f\x8b"


class ReportsClient:
    def __init__(self, settings: AmazonSettings, transport: Transport, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.transport = transport
        self.clock = clock

    def create(self, report_type: str, marketplace_ids: list[str], data_start: datetime | None = None,
               data_end: datetime | None = None, options: dict[str, str] | None = None) -> str:
        """Ask for a report; returns its reportId."""
        body: dict = {"reportType": report_type, "marketplaceIds": list(marketplace_ids)}
        if data_start is not None:
            body["dataStartTime"] = timestamp(data_start)
        if data_end is not None:
            body["dataEndTime"] = timestamp(data_end)
        if options:
            body["reportOptions"] = dict(options)
        answer = self.transport.call("createReport", "POST", f"{BASE}/reports", region=self._region(marketplace_ids),
                                     json=body)
        report_id = _field(answer, "reportId", "createReport")
        log.info("SP-API report requested", extra={"report_type": report_type, "report_id": report_id})
        return report_id

    def get(self, report_id: str) -> dict:
        """The report as Amazon describes it (processingStatus, reportDocumentId when DONE, ...)."""
        return self.transport.call("getReport", "GET", f"{BASE}/reports/{quote(report_id, safe='')}",
                                   region=self._region())

    def wait(self, report_id: str, poll_seconds: float | None = None, timeout_seconds: float | None = None,
             stop: threading.Event | None = None) -> dict:
        """Check the report every `poll_seconds` until it is DONE and return it. FATAL ends in PermanentError
        `spapi_report_fatal`, CANCELLED in `spapi_report_cancelled` (Amazon cancels a report with no data
        too), still not done after `timeout_seconds` in TransientError `spapi_report_timeout`. Both times
        are upstream time (settings' defaults when None); `stop` (default: the transport's) ends the wait
        with `Stopped`."""
        speed = self.settings.time_speed
        poll = (poll_seconds if poll_seconds is not None else self.settings.report_poll_seconds) / speed
        timeout = (timeout_seconds if timeout_seconds is not None else self.settings.report_timeout_seconds) / speed
        stop = stop if stop is not None else self.transport.stop
        deadline = self.clock() + timeout
        while True:
            report = self.get(report_id)
            status = report.get("processingStatus")
            if status == "DONE":
                return report
            if status == "FATAL":
                raise PermanentError("spapi_report_fatal", f"report {report_id} ({report.get('reportType')}) "
                                     "ended FATAL; its document, if any, says why")
            if status == "CANCELLED":
                raise PermanentError("spapi_report_cancelled", f"report {report_id} ({report.get('reportType')}) "
                                     "was CANCELLED: cancelled on request, or Amazon had no data for it")
            left = deadline - self.clock()
            if left <= 0:
                raise TransientError("spapi_report_timeout", f"report {report_id} still {status} after "
                                     f"{timeout * speed:g} s")
            pause(stop, min(poll, left))

    def cancel(self, report_id: str) -> None:
        """Cancel a report still IN_QUEUE (Amazon refuses the others: `SpApiError`)."""
        self.transport.call("cancelReport", "DELETE", f"{BASE}/reports/{quote(report_id, safe='')}",
                            region=self._region())

    def find(self, report_types: list[str], *, processing_statuses: list[str] | None = None,
             marketplace_ids: list[str] | None = None, created_since: datetime | None = None,
             created_until: datetime | None = None, page_size: int = 100) -> Iterator[dict]:
        """Reports of these types (getReports, every page), newest first as Amazon lists them."""
        params: dict = {"reportTypes": list(report_types), "processingStatuses": processing_statuses,
                        "marketplaceIds": marketplace_ids, "createdSince": created_since,
                        "createdUntil": created_until, "pageSize": page_size}
        region = self._region(marketplace_ids)
        while True:
            answer = self.transport.call("getReports", "GET", f"{BASE}/reports", region=region, params=params)
            yield from answer.get("reports") or []
            token = answer.get("nextToken")
            if not token:
                return
            params = {"nextToken": token}  # Amazon takes the token alone

    def document(self, document_id: str) -> bytes:
        """The report document's content, gunzipped when Amazon compressed it. Its presigned URL is fetched
        without the access token; one that expired (403) is asked for again once."""
        for attempt in (1, 2):
            info = self.transport.call("getReportDocument", "GET",
                                       f"{BASE}/documents/{quote(document_id, safe='')}", region=self._region())
            url = _field(info, "url", "getReportDocument")
            response = self.transport.fetch(url)
            if response.status_code == 200:
                return _content(response.content, info.get("compressionAlgorithm"), document_id)
            if response.status_code == 403 and attempt == 1:
                log.info("report document URL refused (expired); asking for a new one",
                         extra={"document_id": document_id})
                continue
            if response.status_code == 403:
                raise TransientError("spapi_document_expired", f"report document {document_id}: a fresh URL "
                                     "was refused too (HTTP 403)")
            raise PermanentError("spapi_document_unavailable", f"report document {document_id}: HTTP "
                                 f"{response.status_code}")
        raise AssertionError("unreachable")

    # -- schedules --

    def create_schedule(self, report_type: str, marketplace_ids: list[str], period: str,
                        next_creation_time: datetime | None = None, options: dict[str, str] | None = None) -> str:
        """A schedule making this report every `period` (one of `SCHEDULE_PERIODS`); returns its id. Amazon
        keeps one schedule per report type and marketplaces: a new one replaces it."""
        if period not in SCHEDULE_PERIODS:
            raise ValueError(f"unknown schedule period {period!r}; valid: {', '.join(SCHEDULE_PERIODS)}")
        body: dict = {"reportType": report_type, "marketplaceIds": list(marketplace_ids), "period": period}
        if next_creation_time is not None:
            body["nextReportCreationTime"] = timestamp(next_creation_time)
        if options:
            body["reportOptions"] = dict(options)
        answer = self.transport.call("createReportSchedule", "POST", f"{BASE}/schedules",
                                     region=self._region(marketplace_ids), json=body)
        return _field(answer, "reportScheduleId", "createReportSchedule")

    def list_schedules(self, report_types: list[str]) -> list[dict]:
        """The seller's schedules of these report types."""
        answer = self.transport.call("getReportSchedules", "GET", f"{BASE}/schedules", region=self._region(),
                                     params={"reportTypes": list(report_types)})
        return list(answer.get("reportSchedules") or [])

    def get_schedule(self, schedule_id: str) -> dict:
        return self.transport.call("getReportSchedule", "GET", f"{BASE}/schedules/{quote(schedule_id, safe='')}",
                                   region=self._region())

    def cancel_schedule(self, schedule_id: str) -> None:
        self.transport.call("cancelReportSchedule", "DELETE", f"{BASE}/schedules/{quote(schedule_id, safe='')}",
                            region=self._region())

    def _region(self, marketplace_ids: list[str] | None = None) -> str:
        return by_id((marketplace_ids or self.settings.marketplace_ids)[0]).region


def _field(answer: dict, name: str, operation: str) -> str:
    value = answer.get(name)
    if not isinstance(value, str) or not value:
        raise TransientError("spapi_bad_answer", f"{operation}: the answer has no {name}")
    return value


def _content(data: bytes, compression: str | None, document_id: str) -> bytes:
    if compression == "GZIP" and data.startswith(GZIP_MAGIC):  # not already decoded by Content-Encoding
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise TransientError("spapi_document_corrupt", f"report document {document_id}: {exc}") from None
    return data
