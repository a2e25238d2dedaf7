"""Report tasks (`/billing/v1/org/files...`): validating a report request, and each task's life.

A task is `Pending` for the first quarter of its duration, `InProgress` until the end, then `Completed`
(or `Failed` / `Cancelled` when a fault said so at creation). The status is computed from the clock when
asked, so no thread runs jobs. Validation errors are DRF's: `{"field": ["message"]}`, nested under
`parameters` for the template's parameters. No Flask here.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .data import FEATURES, FEATURES_BY_ID, GROUP_BY_CHOICES, UsageReport

# The one report template the simulator knows: per-client usage statistics by feature.
USAGE_TEMPLATE = "ResellerStatistics"
_PARAMETERS = ("date_from", "date_to", "features", "group_by")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIGITS = re.compile(r"-?\d+")
REQUIRED = "This field is required."
DATE_FORMAT = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
PENDING_SHARE = 0.25


class ReportValidationError(Exception):
    """DRF's 400 body: field -> messages (nested for `parameters`)."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class ReportRequest:
    template_code: str
    parameters: dict[str, Any]  # as given (dates as strings), echoed in the task
    feature_ids: tuple[int, ...]
    group_by: tuple[str, ...]
    date_from: dt.date
    date_to: dt.date


def _type_name(value: object) -> str:
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), "NoneType" if value is None else type(value).__name__)


def validate_report_request(body: object) -> ReportRequest:
    """The request body of `POST /billing/v1/org/files/report`, checked strictly."""
    if not isinstance(body, dict):
        raise ReportValidationError({"non_field_errors": [
            f"Invalid data. Expected a dictionary, but got {_type_name(body)}."]})
    errors: dict[str, Any] = {}
    code = body.get("template_code")
    if "template_code" not in body or code is None:
        errors["template_code"] = [REQUIRED if "template_code" not in body else "This field may not be null."]
    elif not isinstance(code, str):
        errors["template_code"] = ["Not a valid string."]
    elif not code.strip():
        errors["template_code"] = ["This field may not be blank."]
    elif code != USAGE_TEMPLATE:
        errors["template_code"] = [f"Object with code={code} does not exist."]
    parameters = body.get("parameters")
    if "parameters" not in body:
        errors["parameters"] = [REQUIRED]
    elif not isinstance(parameters, dict):
        errors["parameters"] = [f'Expected a dictionary of items but got type "{_type_name(parameters)}".']
    if errors:
        raise ReportValidationError(errors)
    return _validate_parameters(code, parameters)


def _validate_parameters(code: str, parameters: dict[str, Any]) -> ReportRequest:
    errors: dict[str, list | dict] = {}
    dates: dict[str, dt.date] = {}
    for name in ("date_from", "date_to"):
        value = parameters.get(name)
        if name not in parameters:
            errors[name] = [REQUIRED]
        elif not isinstance(value, str) or not _DATE.fullmatch(value):
            errors[name] = [DATE_FORMAT]
        else:
            try:
                dates[name] = dt.date.fromisoformat(value)
            except ValueError:
                errors[name] = [DATE_FORMAT]
    feature_ids = _feature_ids(parameters, errors)
    group_by = _group_by(parameters, errors)
    for name in sorted(set(parameters) - set(_PARAMETERS)):
        errors[name] = [f"Unknown parameter of template {code}."]
    if not errors and dates["date_to"] < dates["date_from"]:
        errors["non_field_errors"] = ["date_to must not be earlier than date_from."]
    if errors:
        raise ReportValidationError({"parameters": errors})
    return ReportRequest(code, dict(parameters), feature_ids, group_by, dates["date_from"], dates["date_to"])


def _feature_ids(parameters: dict[str, Any], errors: dict[str, list | dict]) -> tuple[int, ...]:
    """`features`: a non-empty list of report feature ids (integers or digit strings); all if left out."""
    if "features" not in parameters:
        return tuple(feature.id for feature in FEATURES)
    value = parameters["features"]
    if not isinstance(value, list):
        errors["features"] = [f'Expected a list of items but got type "{_type_name(value)}".']
        return ()
    if not value:
        errors["features"] = ["This list may not be empty."]
        return ()
    ids, item_errors = [], {}
    for index, item in enumerate(value):
        if isinstance(item, bool) or not (isinstance(item, int) or (isinstance(item, str) and _DIGITS.fullmatch(item))):
            item_errors[str(index)] = ["A valid integer is required."]
        else:
            ids.append(int(item))
    if item_errors:
        errors["features"] = item_errors
        return ()
    unknown = [fid for fid in ids if fid not in FEATURES_BY_ID]
    if unknown:
        errors["features"] = [f'Invalid pk "{fid}" - object does not exist.' for fid in unknown]
        return ()
    return tuple(dict.fromkeys(ids))


def _group_by(parameters: dict[str, Any], errors: dict[str, list | dict]) -> tuple[str, ...]:
    """`group_by`: a list of `client`, `region`, `resource`; none if left out (then no client columns)."""
    value = parameters.get("group_by", [])
    if not isinstance(value, list):
        errors["group_by"] = [f'Expected a list of items but got type "{_type_name(value)}".']
        return ()
    bad = [item for item in value if not isinstance(item, str) or item not in GROUP_BY_CHOICES]
    if bad:
        errors["group_by"] = [f'"{item}" is not a valid choice.' for item in bad]
        return ()
    return tuple(dict.fromkeys(value))


# --- tasks -------------------------------------------------------------------------------------------------


@dataclass
class Task:
    uuid: str
    user_id: int
    client_id: int
    request: ReportRequest
    created: float
    duration: float  # seconds from creation to the end state
    outcome: str = "Completed"  # or "Failed" / "Cancelled", decided at creation
    failure: str | None = None

    def status(self, now: float) -> str:
        elapsed = now - self.created
        if elapsed >= self.duration:
            return self.outcome
        return "Pending" if elapsed < self.duration * PENDING_SHARE else "InProgress"

    def updated(self, now: float) -> float:
        elapsed = now - self.created
        if elapsed >= self.duration:
            return self.created + self.duration
        return self.created if elapsed < self.duration * PENDING_SHARE else self.created + self.duration * PENDING_SHARE

    def to_dict(self, now: float) -> dict[str, Any]:
        """The `FileTask` of billing_api.yaml."""
        status = self.status(now)
        notes = self.failure if status == "Failed" else None
        return {"uuid": self.uuid, "created_at": _timestamp(self.created), "updated_at": _timestamp(self.updated(now)),
                "user_id": self.user_id, "client_id": self.client_id, "task_type": "Report", "status": status,
                "parameters": self.request.parameters, "processing_notes": notes}

    def usage(self, seed: int, min_rows: int) -> UsageReport:
        req = self.request
        return UsageReport(seed, req.feature_ids, req.group_by, req.date_from, req.date_to, min_rows)


def _timestamp(epoch: float) -> str:
    """DRF's date-time format: ISO 8601 in UTC with microseconds and `Z`."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Tasks:
    """Every user's report tasks, by uuid. Thread-safe."""

    clock: Callable[[], float]
    _tasks: dict[str, Task] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, user_id: int, client_id: int, request: ReportRequest, duration: float, outcome: str = "Completed",
               failure: str | None = None) -> Task:
        task = Task(str(uuid.uuid4()), user_id, client_id, request, self.clock(), duration, outcome, failure)
        with self._lock:
            self._tasks[task.uuid] = task
        return task

    def get(self, task_uuid: str, client_id: int) -> Task | None:
        """The task if it exists and belongs to this client (another client's task is "not found")."""
        with self._lock:
            task = self._tasks.get(task_uuid.lower())
        return task if task is not None and task.client_id == client_id else None

    def of_client(self, client_id: int) -> list[Task]:
        with self._lock:
            return sorted((t for t in self._tasks.values() if t.client_id == client_id), key=lambda t: t.created,
                          reverse=True)

    def delete(self, task_uuid: str, client_id: int) -> bool:
        with self._lock:
            task = self._tasks.get(task_uuid.lower())
            if task is None or task.client_id != client_id:
                return False
            del self._tasks[task.uuid]
            return True

    def all(self) -> list[Task]:
        with self._lock:
            return list(self._tasks.values())

    def clear(self) -> None:
        with self._lock:
            self._tasks.clear()
