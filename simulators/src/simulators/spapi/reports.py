"""Reports and report schedules (Reports API 2021-06-30), and their life in simulated time.

A report waits `IN_QUEUE` for the first quarter of its processing time, is `IN_PROGRESS` for the rest and
then ends as decided when it was created: `DONE` (its document made at that moment from the seller's
data), `FATAL` (with an error document, as Amazon gives for some report types) or `CANCELLED` (a fault
asked, or an orders report found no orders: Amazon cancels reports without data). Only an `IN_QUEUE`
report can be cancelled. States are computed from the clock when asked, so no thread runs; a due schedule
makes its report the same way, dated at its due time, the next time anyone calls. No Flask here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .clock import iso_offset
from .documents import Document, Documents
from .report_content import BY_LAST_UPDATE, BY_ORDER_DATE, INVENTORY

REPORT_TYPES = (INVENTORY, BY_ORDER_DATE, BY_LAST_UPDATE)
PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
PERIODS = ("PT5M", "PT15M", "PT30M", "PT1H", "PT2H", "PT4H", "PT8H", "PT12H", "P1D", "P2D", "P3D", "PT84H", "P7D",
           "P14D", "P15D", "P18D", "P30D", "P1M")
_PERIOD_SECONDS = {"PT5M": 300, "PT15M": 900, "PT30M": 1800, "PT1H": 3600, "PT2H": 7200, "PT4H": 14400,
                   "PT8H": 28800, "PT12H": 43200, "P1D": 86400, "P2D": 172800, "P3D": 259200, "PT84H": 302400,
                   "P7D": 604800, "P14D": 1209600, "P15D": 1296000, "P18D": 1555200, "P30D": 2592000}
QUEUE_SHARE = 0.25
FATAL_DETAILS = "The report could not be generated because of an internal error. Request the report again."


def after_period(epoch: float, period: str) -> float:
    """`epoch` plus one period (`P1M`: the same day and time next month, or the month's last day)."""
    if period != "P1M":
        return epoch + _PERIOD_SECONDS[period]
    when = dt.datetime.fromtimestamp(epoch, dt.UTC)
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day).timestamp()


def next_run(due: float, period: str, now: float) -> float:
    """The first time after `now` on the schedule through `due` (runs missed meanwhile are skipped)."""
    if period in _PERIOD_SECONDS:
        seconds = _PERIOD_SECONDS[period]
        return due + (int((now - due) // seconds) + 1) * seconds
    while due <= now:
        due = after_period(due, period)
    return due


@dataclass
class Report:
    report_id: str
    seller_id: str
    report_type: str
    marketplace_ids: tuple[str, ...]
    data_start: float
    data_end: float
    created: float
    duration: float  # simulated seconds from creation to the end state
    outcome: str  # DONE, FATAL or CANCELLED, decided at creation
    options: dict[str, str] = field(default_factory=dict)
    schedule_id: str | None = None
    cancelled_at: float | None = None
    document: Document | None = None
    settled: bool = False  # the end state was reached and its document made

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "CANCELLED"
        elapsed = now - self.created
        if elapsed >= self.duration:
            return self.outcome
        return "IN_QUEUE" if elapsed < self.duration * QUEUE_SHARE else "IN_PROGRESS"

    def to_dict(self, now: float) -> dict:
        """The `Report` of the model; processing times and the document id only once they exist."""
        status = self.status(now)
        body: dict = {"reportId": self.report_id, "reportType": self.report_type, "processingStatus": status,
                      "marketplaceIds": list(self.marketplace_ids)}
        if self.schedule_id:
            body["reportScheduleId"] = self.schedule_id
        body |= {"dataStartTime": iso_offset(self.data_start), "dataEndTime": iso_offset(self.data_end),
                 "createdTime": iso_offset(self.created)}
        if self.cancelled_at is not None:
            body["processingEndTime"] = iso_offset(self.cancelled_at)
        elif status != "IN_QUEUE":
            body["processingStartTime"] = iso_offset(self.created + self.duration * QUEUE_SHARE)
            if status != "IN_PROGRESS":
                body["processingEndTime"] = iso_offset(self.created + self.duration)
        if self.document is not None and status in ("DONE", "FATAL"):
            body["reportDocumentId"] = self.document.document_id
        return body


@dataclass
class Schedule:
    schedule_id: str
    seller_id: str
    report_type: str
    marketplace_ids: tuple[str, ...]
    period: str
    next_time: float
    options: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        body = {"reportScheduleId": self.schedule_id, "reportType": self.report_type,
                "marketplaceIds": list(self.marketplace_ids), "period": self.period,
                "nextReportCreationTime": iso_offset(self.next_time)}
        if self.options:
            body["reportOptions"] = dict(self.options)
        return body


class CancelRefused(Exception):
    """cancelReport on a report that is no longer IN_QUEUE; carries its status."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class Reports:
    """Every seller's reports and schedules. `decide()` gives a new report's (duration, outcome) from the
    fault settings; `build(report)` its text when it is done (None: no data). Thread-safe."""

    def __init__(self, documents: Documents, decide: Callable[[], tuple[float, str]],
                 build: Callable[[Report], str | None]) -> None:
        self.documents = documents
        self._decide = decide
        self._build = build
        self._lock = threading.RLock()
        self._reports: dict[str, Report] = {}
        self._schedules: dict[str, Schedule] = {}
        self._ids = itertools.count(50_013_019_871)

    # --- reports -----------------------------------------------------------------------------------------

    def create(self, seller_id: str, report_type: str, marketplace_ids: tuple[str, ...], data_start: float,
               data_end: float, created: float, options: dict[str, str] | None = None,
               schedule_id: str | None = None) -> Report:
        duration, outcome = self._decide()
        with self._lock:
            report = Report(str(next(self._ids)), seller_id, report_type, marketplace_ids, data_start, data_end,
                            created, duration, outcome, dict(options or {}), schedule_id)
            self._reports[report.report_id] = report
        return report

    def get(self, seller_id: str, report_id: str, now: float) -> Report | None:
        with self._lock:
            report = self._reports.get(report_id)
            if report is None or report.seller_id != seller_id:
                return None
            self._settle(report, now)
            return report

    def of_seller(self, seller_id: str, now: float) -> list[Report]:
        """The seller's reports, newest first."""
        with self._lock:
            reports = [r for r in self._reports.values() if r.seller_id == seller_id]
            for report in reports:
                self._settle(report, now)
        return sorted(reports, key=lambda r: (r.created, int(r.report_id)), reverse=True)

    def all(self, now: float) -> list[Report]:
        with self._lock:
            for report in self._reports.values():
                self._settle(report, now)
            return sorted(self._reports.values(), key=lambda r: int(r.report_id))

    def cancel(self, report: Report, now: float) -> None:
        with self._lock:
            status = report.status(now)
            if status != "IN_QUEUE":
                raise CancelRefused(status)
            report.cancelled_at = now
            report.settled = True

    def _settle(self, report: Report, now: float) -> None:
        """Make the document once the report reaches DONE or FATAL."""
        if report.settled or report.status(now) not in ("DONE", "FATAL", "CANCELLED"):
            return
        report.settled = True
        if report.outcome == "FATAL":
            text = json.dumps({"errorDetails": FATAL_DETAILS})
            report.document = self.documents.add(report.seller_id, text, compressed=False)
        elif report.outcome == "DONE":
            text = self._build(report)
            if text is None:
                report.outcome = "CANCELLED"
            else:
                report.document = self.documents.add(report.seller_id, text)

    # --- schedules ---------------------------------------------------------------------------------------

    def create_schedule(self, seller_id: str, report_type: str, marketplace_ids: tuple[str, ...], period: str,
                        next_time: float, options: dict[str, str] | None = None) -> Schedule:
        """A new schedule; one of the same report type and marketplaces is cancelled and replaced."""
        with self._lock:
            for old in list(self._schedules.values()):
                if (old.seller_id, old.report_type, set(old.marketplace_ids)) == (
                        seller_id, report_type, set(marketplace_ids)):
                    del self._schedules[old.schedule_id]
            schedule = Schedule(str(next(self._ids)), seller_id, report_type, marketplace_ids, period, next_time,
                                dict(options or {}))
            self._schedules[schedule.schedule_id] = schedule
            return schedule

    def schedule(self, seller_id: str, schedule_id: str) -> Schedule | None:
        with self._lock:
            schedule = self._schedules.get(schedule_id)
            return schedule if schedule is not None and schedule.seller_id == seller_id else None

    def schedules_of(self, seller_id: str, report_types: list[str] | None = None) -> list[Schedule]:
        with self._lock:
            return [s for s in self._schedules.values()
                    if s.seller_id == seller_id and (report_types is None or s.report_type in report_types)]

    def cancel_schedule(self, schedule: Schedule) -> None:
        with self._lock:
            self._schedules.pop(schedule.schedule_id, None)

    def run_schedules(self, now: float) -> list[Report]:
        """Make the report of every schedule that is due (one per schedule; missed runs are skipped)."""
        made = []
        with self._lock:
            for schedule in list(self._schedules.values()):
                if schedule.next_time > now:
                    continue
                due = schedule.next_time
                start = due - (after_period(due, schedule.period) - due)
                made.append(self.create(schedule.seller_id, schedule.report_type, schedule.marketplace_ids, start,
                                        due, due, schedule.options, schedule.schedule_id))
                schedule.next_time = next_run(schedule.next_time, schedule.period, now)
        return made

    def clear(self) -> None:
        with self._lock:
            self._reports.clear()
            self._schedules.clear()
        self.documents.clear()
