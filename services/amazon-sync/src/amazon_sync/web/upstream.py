"""Calls to Amazon made while a request waits (LWA exchanges, report schedules): their failures as API
errors. A credential Amazon refuses is the caller's 400; Amazon unreachable or throttling past the
retries is a 502 the caller may retry."""

from __future__ import annotations

from contextlib import contextmanager

from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.web.errors import ApiError


@contextmanager
def upstream_errors(what: str):
    try:
        yield
    except TransientError as exc:
        raise ApiError(502, "upstream_unavailable", f"{what}: Amazon did not answer in time ({exc.reason_code}); "
                       "try again later") from None
    except PermanentError as exc:
        status = 400 if exc.reason_code.startswith(("lwa_", "spapi_invalid", "credentials_")) else 502
        raise ApiError(status, exc.reason_code, f"{what}: {exc}") from None
