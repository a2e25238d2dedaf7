"""Time and fault switches of the CarbonAltDelete simulator, set through `/_sim/faults`.

- `latency_ms`: every `/api` request waits this long first (stays until cleared).
- `fail_next`: the next N `/api` requests answer `fail_status` without doing anything.
- `fail_status`: the status of injected failures, 400-599 (default 500). 500 is Starlette's plain-text
  `Internal Server Error`, 502/503/504 Heroku's HTML error page (503 with `Retry-After: 1`).
- `fail_next_report`: the next N reports created end with `reportFileStatus` FAILED.
- `job_duration_ms`: how long a report job takes before `--speed` divides it (default 60000, about what
  production takes).
- `url_ttl_s`: the lifetime of presigned URLs issued from now on (default 300, as the real service).
- `token_ttl_s`: the lifetime (`exp`) of access tokens issued from now on (default 5400, 90 minutes).
- `expire_tokens: true`: one-shot, every access token issued so far is refused from now on (401).
- `expire_refresh_tokens: true`: one-shot, the same for refresh tokens (the client must log in again).

`POST` merges: omitted keys keep their value. `DELETE` clears everything back to the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..switches import FaultConfigError, Switches, parse_switches

__all__ = ["ACTIONS", "FaultConfigError", "FaultSettings", "Faults", "parse_fault_body"]

MAX_LATENCY_MS = 60_000
_INT_LIMITS = {
    "latency_ms": (0, MAX_LATENCY_MS),
    "fail_next": (0, 1_000_000),
    "fail_status": (400, 599),
    "fail_next_report": (0, 1_000_000),
    "job_duration_ms": (0, 86_400_000),
    "url_ttl_s": (1, 604_800),  # S3's own limit for SigV4 presigned URLs is 7 days
    "token_ttl_s": (1, 7 * 24 * 3600),
}
ACTIONS = ("expire_tokens", "expire_refresh_tokens")


@dataclass
class FaultSettings:
    latency_ms: int = 0
    fail_next: int = 0
    fail_status: int = 500
    fail_next_report: int = 0
    job_duration_ms: int = 60_000
    url_ttl_s: int = 300
    token_ttl_s: int = 90 * 60


def parse_fault_body(body: object) -> tuple[dict[str, int | bool], dict[str, bool]]:
    """Split a `/_sim/faults` body into (settings, actions); raise `FaultConfigError` if invalid."""
    return parse_switches(body, _INT_LIMITS, actions=ACTIONS)


class Faults(Switches):
    def __init__(self, url_ttl_s: int = 300, job_duration_ms: int = 60_000) -> None:
        super().__init__(FaultSettings(url_ttl_s=url_ttl_s, job_duration_ms=job_duration_ms))

    @property
    def latency_seconds(self) -> float:
        return self._settings.latency_ms / 1000

    @property
    def url_ttl(self) -> int:
        return self._settings.url_ttl_s

    @property
    def token_ttl(self) -> int:
        return self._settings.token_ttl_s

    @property
    def job_seconds(self) -> float:
        """Before `--speed`."""
        return self._settings.job_duration_ms / 1000

    def take_failure(self) -> int | None:
        """The status to fail this request with, if `fail_next` is still counting down."""
        return self._settings.fail_status if self._take("fail_next") else None

    def take_report_failure(self) -> bool:
        """Whether the report being created will fail (`fail_next_report` still counting down)."""
        return self._take("fail_next_report")
