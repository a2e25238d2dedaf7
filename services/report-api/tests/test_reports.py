"""Generating reports: request checks, the worker's run, status, downloads, and privacy between users."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from hub_runtime.outbox import OutboxRelay
from hub_runtime.worker import Worker
from report_api.generation import make_handler


@pytest.fixture
def files(sample):
    return {"input": ("input.csv", sample.input), "reference": ("reference.csv", sample.reference),
            "rules": ("rules.json", sample.rules)}


def expected(input_csv: str, reference_csv: str) -> list[dict]:
    """The sample rules computed by hand in plain Python: a value that is not a number makes every cell that
    uses it empty (an error); max() skips missing values (a row without a reference row)."""
    reference = {row["code"]: row for row in csv.DictReader(io.StringIO(reference_csv))}
    rows = []
    for row in csv.DictReader(io.StringIO(input_csv)):
        ref = reference.get(row["code"], {})
        try:
            price = float(row["price"])
        except ValueError:
            price = None
        qty = int(row["qty"])
        rate = float(ref["rate"]) if ref.get("rate") else None
        total = qty * price if price is not None else None
        present = [v for v in (price, rate) if v is not None]
        weighted = qty * max(present) if price is not None and present else None
        rows.append({"name": f"{row['first']} {row['last']}", "total": total, "region": ref.get("region"),
                     "weighted": weighted})
    return rows


def parse_report(text: str) -> list[dict]:
    def value(cell: str):
        if cell == "":
            return None
        try:
            return float(cell)
        except ValueError:
            return cell

    return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def generate(user, files, **form):
    answer = user.upload("/api/generate-report/", files, **form)
    assert answer.status_code == 202, answer.json
    return answer.json["task_id"]


def test_a_report_from_files_in_the_request(user, run_queued, files, sample):
    task_id = generate(user, files)
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == "placed" and status["download_url"] is None
    assert user.get(f"/api/reports/{task_id}/download").status_code == 409  # not ready yet
    assert run_queued() == 1
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == "finished", status
    assert status["rows"] == 3 and status["error_rows"] == 1
    assert status["errors_by_column"] == {"total": 1, "weighted": 1}
    assert status["progress"]["fraction"] == 1.0
    assert [h["status"] for h in status["history"]] == ["placed", "processing", "finished"]
    download = user.get(status["download_url"])
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    assert parse_report(download.get_data(as_text=True)) == expected(sample.input, sample.reference)
    latest = user.get("/api/download-report-view/")
    assert latest.get_data() == download.get_data()
    assert user.get("/api/download-report-view/?as=json").json == {"body": download.get_data(as_text=True)}


def test_without_files_the_latest_uploads_are_used(user, run_queued, files):
    user.upload("/api/upload-files/", {"input": ("old.csv", "id,first,last,qty,price,code\n9,Old,One,1,1,A\n")})
    user.upload("/api/upload-files/", {"input": files["input"], "reference": files["reference"]})
    user.upload("/api/upload-rules/", {"file": files["rules"]})
    answer = user.post_json("/api/generate-report/")
    assert answer.status_code == 202, answer.json
    run_queued()
    status = user.get(f"/api/report-status/{answer.json['task_id']}/").json
    assert status["state"] == "finished" and status["rows"] == 3


def test_xlsx_on_request(user, run_queued, files):
    task_id = generate(user, files, format="xlsx")
    run_queued()
    download = user.get(f"/api/reports/{task_id}/download")
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as book:
        names = book.namelist()
        assert "xl/workbook.xml" in names and any(n.startswith("xl/worksheets/") for n in names)
        strings = book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in names else ""
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "John Smith" in strings + sheet and "weighted" in strings + sheet


def test_rules_that_do_not_fit_the_files_are_refused_before_anything_is_kept(app, user, files):
    rules = ("rules.json", '{"a": "qty + nosuchcolumn"}')
    answer = user.upload("/api/generate-report/", {**files, "rules": rules})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "rules_do_not_fit"
    assert "nosuchcolumn" in answer.json["error"]["message"]
    assert user.get("/api/uploads/").json["uploads"] == [] and user.get("/api/reports/").json["reports"] == []


def test_a_reference_without_the_join_keys_is_refused(user, files):
    rules = ("rules.json", '{"columns": {"r": "region"}, "join": ["code"]}')
    reference = ("reference.csv", "zone,region\nA,North\n")
    answer = user.upload("/api/generate-report/", {**files, "rules": rules, "reference": reference})
    assert answer.status_code == 400, answer.json
    assert "code" in answer.json["error"]["message"]


def test_generating_needs_an_input_and_rules(user, files):
    answer = user.post_json("/api/generate-report/")
    assert answer.status_code == 400 and answer.json["error"]["code"] == "no_input_file"
    user.upload("/api/upload-files/", {"input": files["input"]})
    assert user.post_json("/api/generate-report/").json["error"]["code"] == "no_rules_file"
    unknown = user.post_json("/api/generate-report/", {"rules_id": "0" * 32})
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "upload_not_found"
    bad_format = user.post_json("/api/generate-report/", {"format": "pdf"})
    assert bad_format.status_code == 400 and "format" in bad_format.json["error"]["fields"]


def test_clear_queue_stops_a_running_report(app, client, api_token, user, files):
    """The operator clears the queue while a report is being generated: the engine stops at its next
    check, nothing is written, and the report reads `cancelled`."""
    task_id = generate(user, files)
    service = app.config["SERVICE"]
    runtime = service.runtime
    generate_report = make_handler(service.reports, service.storage)

    def handler(job):
        answer = client.put("/clear_queue", headers={"Authorization": f"Bearer {api_token}"})
        assert answer.status_code == 200 and answer.json["cancelled_keys"] == [task_id], answer.json
        return generate_report(job)

    OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id).publish_pending()
    runtime.broker.declare(runtime.queue)
    Worker(runtime, handler, relay=False).process(runtime.broker.get(runtime.queue, timeout=5))
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == "cancelled" and status["download_url"] is None, status
    assert [(h["status"], h["detail"]) for h in status["history"]][1:] == [
        ("processing", None), ("cancelled", "cancelled while running"), ("cancelled", "stopped after the cancel")]
    assert not service.storage.output_path(task_id, "csv").exists()
    assert user.get(f"/api/reports/{task_id}/download").status_code == 409


def test_a_worker_stopping_mid_report_hands_it_back_to_start_over(app, user, files):
    """SIGTERM while a report is being generated: the engine stops at its next check and removes its partial
    file, the report reads `placed` again, and the next worker generates it."""
    task_id = generate(user, files)
    service = app.config["SERVICE"]
    runtime = service.runtime
    generate_report = make_handler(service.reports, service.storage)

    def stopped_meanwhile(job):
        worker.stop()  # what SIGTERM does
        return generate_report(job)

    OutboxRelay(runtime.sessions, runtime.broker, runtime.instance.id).publish_pending()
    runtime.broker.declare(runtime.queue)
    worker = Worker(runtime, stopped_meanwhile, relay=False)
    worker.process(runtime.broker.get(runtime.queue, timeout=5))
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == "placed", status
    assert status["history"][-1]["detail"] == "interrupted by a stop; will be redelivered"
    assert list((service.storage.root / "outputs").iterdir()) == []

    Worker(runtime, generate_report, relay=False).process(runtime.broker.get(runtime.queue, timeout=5))
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == "finished" and status["download_url"], status


def test_a_malformed_input_row_ends_the_report_in_error_with_a_reason(user, run_queued, files):
    broken = "id,first,last,qty,price,code\n1,John,Smith,2,10.5,A\n2,Ann,Lee,3\n3,\"Bo,Kim,1,4,Z\n"
    task_id = generate(user, {**files, "input": ("broken.csv", broken)})
    run_queued()
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == "error" and status["reason_code"] == "invalid_input", status
    assert status["download_url"] is None
    assert user.get(f"/api/reports/{task_id}/download").status_code == 409


def test_users_see_only_their_own_reports(user, other_user, run_queued, files):
    task_id = generate(user, files)
    run_queued()
    assert other_user.get(f"/api/report-status/{task_id}/").status_code == 404
    assert other_user.get(f"/api/reports/{task_id}/download").status_code == 404
    assert other_user.get("/api/reports/").json["reports"] == []
    assert other_user.get("/api/download-report-view/").status_code == 404
    assert [r["task_id"] for r in user.get("/api/reports/").json["reports"]] == [task_id]


def test_old_report_files_are_pruned_and_their_jobs_stay(app, user, run_queued, files):
    task_id = generate(user, files)
    run_queued()
    reports = app.config["SERVICE"].reports
    assert reports.prune_outputs(older_than_days=1) == 0
    path = app.config["STORAGE"].output_path(task_id, "csv")
    assert path.exists()
    assert reports.prune_outputs(older_than_days=-1) == 1  # "finished before tomorrow"
    assert not path.exists()
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == "finished" and status["download_url"] is None
    assert user.get(f"/api/reports/{task_id}/download").status_code == 410
