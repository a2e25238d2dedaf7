"""Report jobs: created PROCESSING, done (or failed) after the job duration, files put in S3 when done.

A job takes `job_seconds / speed`. Halfway `reportStatus` (the report's data) turns DONE; at the end the
files are rendered and put in S3 one by one (`doneReportFiles` counts up to `countReportFiles`) and only
then `reportFileStatus` turns DONE, so a client that waits for `reportFileStatus` never sees a missing
file. A failing job turns `reportFileStatus` FAILED at the end and puts no file. The creation answer has
`reportFileStatus: null` (the public client sets PROCESSING itself after creating).
"""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from dataclasses import dataclass, field

from .data import DemoData
from .files import CONTENT_TYPES, file_name, render_all
from .s3 import S3Endpoint

JSON_VERSION = 3
FILES_PER_REPORT = 5  # what files.render_all produces

log = logging.getLogger("carbonaltdelete")


@dataclass
class Report:
    id: str
    company_id: str
    name: str
    reporting_period_id: str
    base_reporting_period_id: str
    organizational_unit_id: str
    report_type: str
    created_on: datetime.datetime
    will_fail: bool = False
    report_status: str = "PROCESSING"
    report_file_status: str = "PROCESSING"
    done_report_files: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)

    def to_dict(self, just_created: bool = False) -> dict:
        return {"id": self.id, "name": self.name, "jsonVersion": JSON_VERSION,
                "createdOn": self.created_on.isoformat(), "reportStatus": self.report_status,
                "reportFileStatus": None if just_created else self.report_file_status,
                "doneReportFiles": None if just_created else self.done_report_files,
                "countReportFiles": None if just_created else FILES_PER_REPORT}


def object_key(report: Report, report_type: str, file_type: str) -> str:
    return f"{report.company_id}/reports/{report.id}/{file_name(report_type, file_type)}"


class Reports:
    def __init__(self, data: DemoData, s3: S3Endpoint, speed: float = 1.0) -> None:
        self.data = data
        self._s3 = s3
        self._speed = speed
        self._lock = threading.Lock()
        self._reports: dict[str, Report] = {}
        self._threads: list[threading.Thread] = []

    def create(self, company_id: str, name: str, period_id: str, base_period_id: str, unit_id: str,
               report_type: str, job_seconds: float, fail: bool) -> Report:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        report = Report(str(uuid.uuid4()), company_id, name, period_id, base_period_id, unit_id, report_type, now,
                        will_fail=fail)
        worker = threading.Thread(target=self._run, args=(report, job_seconds / self._speed),
                                  name=f"report-{report.id[:8]}", daemon=True)
        with self._lock:
            self._reports[report.id] = report
            self._threads = [t for t in self._threads if t.is_alive()] + [worker]
        worker.start()
        return report

    def get(self, company_id: str, report_id: str) -> Report | None:
        with self._lock:
            report = self._reports.get(report_id)
        return report if report is not None and report.company_id == company_id else None

    def all(self, company_id: str) -> list[Report]:
        with self._lock:
            return [report for report in self._reports.values() if report.company_id == company_id]

    def delete(self, company_id: str, report_id: str) -> bool:
        with self._lock:
            report = self._reports.get(report_id)
            if report is None or report.company_id != company_id:
                return False
            del self._reports[report_id]
        report.cancelled.set()
        return True

    def cancel_all(self) -> None:
        """Stop every running job (no more files) and forget every report."""
        with self._lock:
            reports, threads = list(self._reports.values()), self._threads
            self._reports, self._threads = {}, []
        for report in reports:
            report.cancelled.set()
        for thread in threads:
            thread.join(timeout=10)

    def _run(self, report: Report, seconds: float) -> None:
        try:
            self._work(report, seconds)
        except Exception:
            log.exception("report job %s failed", report.id)
            report.report_file_status = "FAILED"

    def _work(self, report: Report, seconds: float) -> None:
        if report.cancelled.wait(seconds / 2):
            return
        report.report_status = "DONE"
        if report.cancelled.wait(seconds / 2):
            return
        if report.will_fail:
            report.report_file_status = "FAILED"
            return
        files = render_all(self.data, report.organizational_unit_id, report.reporting_period_id)
        for (report_type, file_type), body in files.items():
            if report.cancelled.is_set():
                return
            self._s3.put(object_key(report, report_type, file_type), body, CONTENT_TYPES[file_type],
                         file_name(report_type, file_type))
            report.done_report_files += 1
        report.report_file_status = "DONE"
