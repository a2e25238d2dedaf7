"""The SP-API simulator's fault switches and time settings, set through `/_sim/faults`.

- `latency_ms`: every SP-API request waits this long first (until cleared).
- `fail_next`: the next N SP-API requests answer `fail_status` (500 `InternalFailure`, 503
  `ServiceUnavailable`) without doing anything.
- `throttle_next`: the next N SP-API requests answer 429 `QuotaExceeded` without spending a token.
- `fatal_next_reports` / `cancel_next_reports`: the next N reports created (by createReport or a
  schedule) end `FATAL` / `CANCELLED`.
- `job_seconds`: simulated seconds a report takes from IN_QUEUE to its end (default `--job-seconds`).
- `url_ttl_s`: lifetime of report document URLs issued from now on, simulated seconds (default 300).
- `expire_tokens: true`: one-shot, every access token issued so far has expired (403).
- `expire_document_urls: true`: one-shot, every document URL issued so far has expired (403 XML).

`POST` merges (omitted keys keep their value), `DELETE` and `/_sim/reset` go back to the defaults.
The switches touch only SP-API calls: not LWA, not document downloads, not `/_sim`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..switches import FaultConfigError, Switches, parse_switches

__all__ = ["ACTIONS", "FaultConfigError", "FaultSettings", "Faults", "parse_fault_body"]

_INT_LIMITS = {
    "latency_ms": (0, 60_000),
    "fail_next": (0, 1_000_000),
    "fail_status": (500, 599),
    "throttle_next": (0, 1_000_000),
    "fatal_next_reports": (0, 1_000_000),
    "cancel_next_reports": (0, 1_000_000),
    "job_seconds": (0, 86_400),
    "url_ttl_s": (1, 604_800),
}
ACTIONS = ("expire_tokens", "expire_document_urls")


@dataclass
class FaultSettings:
    latency_ms: int = 0
    fail_next: int = 0
    fail_status: int = 500
    throttle_next: int = 0
    fatal_next_reports: int = 0
    cancel_next_reports: int = 0
    job_seconds: int = 60
    url_ttl_s: int = 300


def parse_fault_body(body: object) -> tuple[dict[str, int | bool], dict[str, bool]]:
    """Split a `/_sim/faults` body into (settings, actions); raise `FaultConfigError` if invalid."""
    return parse_switches(body, _INT_LIMITS, actions=ACTIONS)


class Faults(Switches):
    def __init__(self, job_seconds: int = 60) -> None:
        super().__init__(FaultSettings(job_seconds=job_seconds))

    @property
    def latency_seconds(self) -> float:
        return self._settings.latency_ms / 1000

    @property
    def url_ttl(self) -> int:
        return self._settings.url_ttl_s

    def take_failure(self) -> int | None:
        """The status to fail this request with, if `fail_next` is still counting down."""
        return self._settings.fail_status if self._take("fail_next") else None

    def take_throttle(self) -> bool:
        return self._take("throttle_next")

    def new_report(self) -> tuple[float, str]:
        """(simulated seconds, outcome) of a report being created; takes the report countdowns."""
        if self._take("fatal_next_reports"):
            return float(self._settings.job_seconds), "FATAL"
        if self._take("cancel_next_reports"):
            return float(self._settings.job_seconds), "CANCELLED"
        return float(self._settings.job_seconds), "DONE"
