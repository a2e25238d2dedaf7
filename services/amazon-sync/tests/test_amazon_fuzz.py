"""Fuzzing amazon-sync's API from its own OpenAPI document (schemathesis + hypothesis), with the SP-API
simulator behind it: whatever the input, no 500 and no answer outside the documented schema. (Driven by
hand, as erp-api's fuzz test is: schemathesis' pytest plugin does not load under pytest 9.)

Left out: the check that every schema-valid request is accepted. Some rules are not schema rules (a range
over 30 days, an end date in the future, a marketplace outside the list) and rightly answer 400."""

import hypothesis
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from service_fixtures import DEMO_CREDENTIALS, amazon_settings

from amazon_sync.app import create_app
from hub_runtime.config import RuntimeSettings

TOKEN = "f" * 32
OPERATIONS = [
    "POST /api/connect/", "POST /api/test-connection/", "POST /api/refresh-token/", "POST /api/manual-refresh/",
    "GET /api/connection-status/", "POST /api/fetch-data/", "POST /api/fetch-missing-items/",
    "GET /api/download-processed/", "POST /api/download-processed/", "GET /api/processed-status/",
    "POST /api/inventory/reports/", "GET /api/inventory/reports/", "POST /api/inventory/report-schedules/",
    "GET /api/inventory/report-schedules/list/", "DELETE /api/inventory/report-schedules/{schedule_id}/",
    "GET /api/activities/", "GET /api/activities/stats/", "GET /api/activities/{activity_id}/", "POST /api/sync/",
    "POST /api/sync-schedules/", "GET /api/sync-schedules/", "DELETE /api/sync-schedules/{schedule_id}/",
]


@pytest.fixture(scope="module")
def operations(tmp_path_factory, sim_url):
    from service_fixtures import Sim

    tmp = tmp_path_factory.mktemp("fuzz")
    settings = RuntimeSettings(database_url=f"sqlite:///{tmp / 'hub.db'}", data_dir=tmp, api_token=TOKEN,
                               credentials=DEMO_CREDENTIALS, _env_file=None)
    app = create_app(settings, amazon_settings(Sim(sim_url), request_attempts=1), "Fuzzed seller")
    app.testing = True
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, headers={"Authorization": f"Bearer {TOKEN}"})
    yield {f"{op.method.upper()} {op.path}": op for op in (result.ok() for result in schema.get_all_operations())}
    app.config["SERVICE"].close()


def test_every_operation_is_fuzzed(operations):
    assert set(OPERATIONS) <= set(operations), sorted(set(OPERATIONS) - set(operations))


@pytest.mark.parametrize("name", OPERATIONS)
def test_no_input_makes_a_500_or_breaks_the_schema(operations, name):
    operation = operations[name]

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(max_examples=25, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def check(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    check()
