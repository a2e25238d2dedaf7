"""Fuzzing report-api from its own OpenAPI document (schemathesis + hypothesis, driven by hand as in
erp-api): whatever the input, no 500 and no answer outside the documented schema. The document describes
the upload endpoints as multipart (and generate/schedule as multipart or JSON), so their bodies are
generated too; what well-formed files make of a report is the service tests' part."""

import hypothesis
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from report_api.app import create_app
from report_api.settings import ReportSettings

TOKEN = "f" * 20


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    settings = ReportSettings(database_url=f"sqlite:///{tmp / 'hub.db'}", data_dir=tmp, api_token=TOKEN,
                              heartbeat_seconds=0.01, login_max_failures=1000, _env_file=None)
    app = create_app(settings, "Fuzz reports")
    app.testing = True
    client = app.test_client()
    access = client.post("/api/auth/register/", json={"email": "fuzz@example.com", "name": "F",
                                                      "password": "fuzzing password"}).json["access"]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, headers={"Authorization": f"Bearer {TOKEN}"})
    operations = {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in schema.get_all_operations())}
    return operations, access


@pytest.mark.parametrize("name", [
    "POST /api/auth/register/", "POST /api/auth/login/", "POST /api/auth/refresh/", "GET /api/uploads/",
    "POST /api/upload-rules/", "POST /api/upload-files/",
    "POST /api/generate-report/", "GET /api/report-status/{task_id}/", "GET /api/reports/{task_id}/download",
    "POST /api/trigger-scheduled-report/", "POST /api/schedules/{schedule_id}/pause/",
    "DELETE /api/schedules/{schedule_id}/",
])
def test_no_input_makes_a_500_or_breaks_the_schema(fuzz, name):
    operations, access = fuzz
    operation = operations[name]

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(max_examples=40, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def check(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {access}"}
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    check()
