"""Calls to Amazon made while a request waits (LWA exchanges, report schedules): their failures as API
errors. What Amazon refuses is the caller's 4xx (a credential LWA rejects or input SP-API finds invalid:
400; a schedule or report it does not know: 404; a seller not authorised for the call: 403); Amazon
unreachable or throttling past the retries is a 502 the caller may retry."""

from __future__ import annotations

from contextlib import contextmanager

from hub_runtime.errors import PermanentError, TransientError
from hub_runtime.web.errors import ApiError

STATUS = {"spapi_not_found": 404, "spapi_unauthorized": 403}


@contextmanager
def upstream_errors(what: str):
    try:
        yield
    except TransientError as exc:
        raise ApiError(502, "upstream_unavailable", f"{what}: Amazon did not answer in time "
                       f"({exc.reason_code}: {exc.reason_text}); try again later") from None
    except PermanentError as exc:
        raise ApiError(STATUS.get(exc.reason_code, 400), exc.reason_code, f"{what}: {exc.reason_text}") from None
