"""Uploads: checked before they are kept, versioned, size-limited, private to their user."""

from __future__ import annotations

import os
import time

from report_api.sources.rules.uploads import Uploads
from report_api.storage import STAGED_MAX_AGE


def staging_files(app) -> list:
    return list(app.config["STORAGE"].staging.iterdir())


def test_a_rules_file_is_kept_as_a_new_version_each_time(user, sample):
    first = user.upload("/api/upload-rules/", {"file": ("rules.json", sample.rules)})
    assert first.status_code == 201, first.json
    assert first.json["message"] == "Rules file uploaded and saved as rules.json (version 1)"
    second = user.upload("/api/upload-rules/", {"file": ("rules.json", sample.rules.replace("total", "sum"))})
    assert second.json["uploads"][0]["version"] == 2
    listed = user.get("/api/uploads/?kind=rules").json["uploads"]
    assert [u["version"] for u in listed] == [2, 1]
    assert listed[0]["sha256"] != listed[1]["sha256"]


def test_yaml_rules_are_accepted(user):
    answer = user.upload("/api/upload-rules/", {"file": ("rules.yaml", "total: qty * price\nname: upper(last)\n")})
    assert answer.status_code == 201 and answer.json["uploads"][0]["format"] == "yaml"


def test_bad_rules_are_refused_naming_the_rule(app, user):
    answer = user.upload("/api/upload-rules/", {"file": ("rules.json", '{"ok": "qty", "bad": "frobnicate(qty)"}')})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_rules"
    assert "frobnicate" in answer.json["error"]["message"]
    assert any(key.startswith("bad") for key in answer.json["error"]["fields"])
    syntax = user.upload("/api/upload-rules/", {"file": ("rules.json", '{"x": "qty +* 2"}')})
    assert syntax.status_code == 400 and "x" in str(syntax.json["error"]["fields"])
    not_a_map = user.upload("/api/upload-rules/", {"file": ("rules.json", '["qty"]')})
    assert not_a_map.status_code == 400
    assert user.get("/api/uploads/").json["uploads"] == [] and staging_files(app) == []


def test_empty_and_oversized_rules_files(app, user):
    assert user.upload("/api/upload-rules/", {"file": ("rules.json", "")}).json["error"]["code"] == "empty_file"
    big = '{"x": "' + "qty + " * 1000 + 'qty"}'  # over max_rules_bytes=4096
    answer = user.upload("/api/upload-rules/", {"file": ("rules.json", big)})
    assert answer.status_code == 413 and answer.json["error"]["code"] == "rules_too_large"
    assert user.get("/api/uploads/").json["uploads"] == [] and staging_files(app) == []


def test_csv_uploads_record_their_header(user, sample):
    answer = user.upload("/api/upload-files/", {"input": ("input.csv", sample.input),
                                                "reference": ("reference.csv", sample.reference)})
    assert answer.status_code == 201, answer.json
    assert answer.json["message"] == "Input and reference files uploaded successfully."
    by_kind = {u["kind"]: u for u in answer.json["uploads"]}
    assert by_kind["input"]["columns"] == ["id", "first", "last", "qty", "price", "code"]
    assert by_kind["reference"]["columns"] == ["code", "region", "rate"]


def test_bad_csv_files_are_refused_and_nothing_is_kept(app, user):
    for content in ("", "\n\n", "a,b,a\n1,2,3\n", "a,b\n1,2\n1,2,3,4\n", b"a,b\n\xff\xfe,1\n"):
        answer = user.upload("/api/upload-files/", {"input": ("input.csv", "id,x\n1,2\n"),
                                                    "reference": ("reference.csv", content)})
        assert answer.status_code == 400, (content, answer.json)
        assert answer.json["error"]["code"] in ("invalid_csv",)
    assert user.get("/api/uploads/").json["uploads"] == [] and staging_files(app) == []


def test_an_oversized_request_is_413_and_leaves_nothing(app, user):
    big = "id,x\n" + "1,2\n" * 20000  # 80 kB over max_upload_bytes=64 kB
    answer = user.upload("/api/upload-files/", {"input": ("input.csv", big)})
    assert answer.status_code == 413 and answer.json["error"]["code"] == "upload_too_large"
    assert user.get("/api/uploads/").json["uploads"] == [] and staging_files(app) == []


def test_missing_or_unexpected_fields(user, sample):
    assert user.upload("/api/upload-files/", {}).json["error"]["code"] == "no_file"
    answer = user.upload("/api/upload-files/", {"inptu": ("input.csv", sample.input)})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "unknown_field"


def test_file_names_cannot_escape_the_storage_folder(app, user, sample):
    answer = user.upload("/api/upload-files/", {"input": ("../../etc/passwd.csv", sample.input)})
    assert answer.json["uploads"][0]["name"] == "passwd.csv"
    storage = app.config["STORAGE"]
    uploads = Uploads(storage, app.config["SERVICE"].runtime.sessions)
    recorded = uploads.list(user.tokens["user"]["id"])[0]
    assert uploads.path_of(recorded).resolve().is_relative_to(storage.root.resolve())


def test_users_see_only_their_own_uploads(user, other_user, sample):
    user.upload("/api/upload-files/", {"input": ("input.csv", sample.input)})
    assert len(user.get("/api/uploads/").json["uploads"]) == 1
    assert other_user.get("/api/uploads/").json["uploads"] == []


def test_the_openapi_document_describes_the_uploads_as_multipart(client):
    doc = client.get("/openapi.json").json
    paths, schemas = doc["paths"], doc["components"]["schemas"]

    def schema(content: dict) -> dict:
        return schemas[content["schema"]["$ref"].rsplit("/", 1)[1]]

    rules = paths["/api/upload-rules/"]["post"]["requestBody"]
    assert rules["required"] is True and list(rules["content"]) == ["multipart/form-data"]
    assert schema(rules["content"]["multipart/form-data"])["properties"] == {
        "file": {"type": "string", "format": "binary", "title": "File"}}
    generate = paths["/api/generate-report/"]["post"]["requestBody"]
    assert generate["required"] is False  # every field has a default: an empty request takes the latest uploads
    form = schema(generate["content"]["multipart/form-data"])["properties"]
    assert {"input", "reference", "rules", "format", "input_id"} <= set(form)
    assert generate["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GenerateJson"}
    scheduled = paths["/api/trigger-scheduled-report/"]["post"]["requestBody"]
    assert scheduled["required"] is True  # the cron has no default
    fields = schema(scheduled["content"]["multipart/form-data"])["properties"]
    assert {"input_file", "rules_file", "cron"} <= set(fields)


def test_leftovers_of_killed_processes_are_removed_and_nothing_else(app, user, sample):
    storage = app.config["STORAGE"]
    user.upload("/api/upload-rules/", {"file": ("rules.json", sample.rules)})
    kept = {p for p in storage.root.rglob("*") if p.is_file()}
    old_part, fresh_part = storage.staging / "part-old", storage.staging / "part-fresh"
    partial = storage.root / "outputs" / ".t1.csv.1a2b3c4d.partial"
    finished = storage.root / "outputs" / "t2.csv"
    for path in (old_part, fresh_part, partial, finished):
        path.write_bytes(b"x")
    a_day_ago = time.time() - STAGED_MAX_AGE - 60
    os.utime(old_part, (a_day_ago, a_day_ago))

    assert storage.remove_leftovers(partial_reports=False) == 1  # the hourly pass: stale staging files only
    assert not old_part.exists() and fresh_part.exists() and partial.exists()
    assert storage.remove_leftovers(partial_reports=True) == 1  # a worker starting: no report is being written
    assert not partial.exists() and fresh_part.exists() and finished.exists()
    assert kept <= {p for p in storage.root.rglob("*") if p.is_file()}
