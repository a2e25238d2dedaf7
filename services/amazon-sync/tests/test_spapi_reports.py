"""Reports 2021-06-30 against a scripted upstream: a report's creation, its status checked until DONE (FATAL,
CANCELLED, a timeout and a stop end the wait), its gzipped document downloaded without the access token
(an expired URL asked for again once), and schedules."""

from __future__ import annotations

import gzip
import threading
from datetime import UTC, datetime

import pytest
from spapi_stub import CREDENTIALS, LWA_PATH, error

from amazon_sync.spapi.limits import RateLimiter
from amazon_sync.spapi.lwa import AccessTokens
from amazon_sync.spapi.reports import SCHEDULE_PERIODS, ReportsClient
from amazon_sync.spapi.transport import SpApiError, Transport
from amazon_sync.spapi.waits import Stopped
from hub_runtime.errors import PermanentError, TransientError

BASE = "/reports/2021-06-30"
INVENTORY = "GET_FBA_MYI_ALL_INVENTORY_DATA"
UK, DE = "A1F83G8C2ARO7P", "A1PA6795UKMFR9"
TSV = "sku\tasin\tafn-total-quantity\nSKU-1\tB000000001\t7\n"


def reports(upstream, stop=None, **overrides) -> ReportsClient:
    settings = upstream.settings(**overrides)
    transport = Transport(settings, CREDENTIALS, AccessTokens(settings), RateLimiter(settings), stop=stop)
    return ReportsClient(settings, transport)


def report(status: str, **more) -> tuple[int, dict]:
    return 200, {"reportId": "r-1", "reportType": INVENTORY, "processingStatus": status,
                 "createdTime": "2026-11-05T00:00:00Z", **more}


def test_create_sends_the_specification(upstream):
    upstream.queue("POST", f"{BASE}/reports", (202, {"reportId": "r-1"}))
    report_id = reports(upstream).create(INVENTORY, [UK, DE], data_start=datetime(2026, 11, 1, tzinfo=UTC),
                                         data_end=datetime(2026, 11, 2, tzinfo=UTC), options={"x": "y"})
    assert report_id == "r-1"
    [seen] = upstream.calls("POST", f"{BASE}/reports")
    assert seen.body == {"reportType": INVENTORY, "marketplaceIds": [UK, DE], "dataStartTime": "2026-11-01T00:00:00Z",
                         "dataEndTime": "2026-11-02T00:00:00Z", "reportOptions": {"x": "y"}}


def test_wait_checks_until_done(upstream):
    upstream.queue("GET", f"{BASE}/reports/r-1", report("IN_QUEUE"), report("IN_PROGRESS"),
                   report("DONE", reportDocumentId="d-1"))
    done = reports(upstream).wait("r-1", poll_seconds=1, timeout_seconds=600)
    assert done["reportDocumentId"] == "d-1"
    assert len(upstream.calls("GET", f"{BASE}/reports/r-1")) == 3


@pytest.mark.parametrize(("status", "reason"), [("FATAL", "spapi_report_fatal"),
                                                 ("CANCELLED", "spapi_report_cancelled")])
def test_fatal_and_cancelled_are_permanent(upstream, status, reason):
    upstream.queue("GET", f"{BASE}/reports/r-1", report("IN_PROGRESS"), report(status))
    with pytest.raises(PermanentError) as caught:
        reports(upstream).wait("r-1")
    assert caught.value.reason_code == reason


def test_a_report_not_done_in_time_is_transient(upstream):
    upstream.default("GET", f"{BASE}/reports/r-1", report("IN_PROGRESS"))
    # speed 1000: 0.05 s of wall time
    with pytest.raises(TransientError, match="spapi_report_timeout"):
        reports(upstream).wait("r-1", poll_seconds=10, timeout_seconds=50)
    assert len(upstream.calls("GET", f"{BASE}/reports/r-1")) >= 2


def test_a_stop_ends_the_wait(upstream):
    stop = threading.Event()

    def in_progress(seen):
        stop.set()
        return report("IN_PROGRESS")

    upstream.default("GET", f"{BASE}/reports/r-1", in_progress)
    with pytest.raises(Stopped):
        reports(upstream, stop=stop, time_speed=1).wait("r-1", poll_seconds=60, timeout_seconds=3600)


def test_cancel(upstream):
    upstream.queue("DELETE", f"{BASE}/reports/r-1", (200, None))
    reports(upstream).cancel("r-1")
    upstream.queue("DELETE", f"{BASE}/reports/r-2", (400, error("InvalidInput", "only IN_QUEUE reports")))
    with pytest.raises(SpApiError, match="spapi_invalid_input"):
        reports(upstream).cancel("r-2")


def test_a_gzipped_document_is_downloaded_without_the_token_and_gunzipped(upstream):
    upstream.queue("GET", f"{BASE}/documents/d-1", lambda seen: (200, {
        "reportDocumentId": "d-1", "url": f"{upstream.url}/s3/d-1?sig=1", "compressionAlgorithm": "GZIP"}))
    upstream.queue("GET", "/s3/d-1", (200, gzip.compress(TSV.encode())))
    assert reports(upstream).document("d-1") == TSV.encode()
    [download] = upstream.calls("GET", "/s3/d-1")
    assert "X-Amz-Access-Token" not in download.headers


def test_an_uncompressed_document_is_kept_as_it_is(upstream):
    upstream.queue("GET", f"{BASE}/documents/d-1",
                   lambda seen: (200, {"reportDocumentId": "d-1", "url": f"{upstream.url}/s3/d-1"}))
    upstream.queue("GET", "/s3/d-1", (200, TSV.encode()))
    assert reports(upstream).document("d-1") == TSV.encode()


def test_an_expired_document_url_is_asked_for_again_once(upstream):
    def document(seen):
        number = len(upstream.calls("GET", f"{BASE}/documents/d-1"))
        return 200, {"reportDocumentId": "d-1", "url": f"{upstream.url}/s3/d-1?try={number}",
                     "compressionAlgorithm": "GZIP"}

    upstream.default("GET", f"{BASE}/documents/d-1", document)
    upstream.queue("GET", "/s3/d-1", (403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message>"),
                   (200, gzip.compress(TSV.encode())))
    assert reports(upstream).document("d-1") == TSV.encode()
    assert [s.query for s in upstream.calls("GET", "/s3/d-1")] == [{"try": "1"}, {"try": "2"}]

    upstream.default("GET", "/s3/d-1", (403, b"expired"))
    with pytest.raises(TransientError, match="spapi_document_expired"):
        reports(upstream).document("d-1")


def test_schedules(upstream):
    upstream.queue("POST", f"{BASE}/schedules", (201, {"reportScheduleId": "s-1"}))
    client = reports(upstream)
    assert client.create_schedule(INVENTORY, [UK], "P1D", next_creation_time=datetime(2026, 11, 6, 2, tzinfo=UTC)) \
        == "s-1"
    [seen] = upstream.calls("POST", f"{BASE}/schedules")
    assert seen.body == {"reportType": INVENTORY, "marketplaceIds": [UK], "period": "P1D",
                         "nextReportCreationTime": "2026-11-06T02:00:00Z"}
    schedules = [{"reportScheduleId": "s-1", "reportType": INVENTORY, "period": "P1D"}]
    upstream.queue("GET", f"{BASE}/schedules", (200, {"reportSchedules": schedules}))
    assert client.list_schedules([INVENTORY]) == schedules
    assert upstream.calls("GET", f"{BASE}/schedules")[0].query == {"reportTypes": INVENTORY}
    upstream.queue("DELETE", f"{BASE}/schedules/s-1", (200, None))
    client.cancel_schedule("s-1")
    assert len(upstream.calls("DELETE", f"{BASE}/schedules/s-1")) == 1


def test_schedule_periods_are_amazons(upstream):
    assert "P1D" in SCHEDULE_PERIODS and "PT24H" not in SCHEDULE_PERIODS and len(SCHEDULE_PERIODS) == 18
    with pytest.raises(ValueError, match="PT24H"):
        reports(upstream).create_schedule(INVENTORY, [UK], "PT24H")
    assert upstream.api_calls() == []


def test_find_pages_with_the_token_alone(upstream):
    upstream.queue("GET", f"{BASE}/reports", (200, {"reports": [{"reportId": "r-1"}], "nextToken": "n-2"}),
                   (200, {"reports": [{"reportId": "r-2"}]}))
    found = list(reports(upstream).find([INVENTORY], processing_statuses=["DONE"]))
    assert [r["reportId"] for r in found] == ["r-1", "r-2"]
    first, second = upstream.calls("GET", f"{BASE}/reports")
    assert first.query == {"reportTypes": INVENTORY, "processingStatuses": "DONE", "pageSize": "100"}
    assert second.query == {"nextToken": "n-2"}
    assert len(upstream.calls("POST", LWA_PATH)) == 1
