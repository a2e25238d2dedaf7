"""Report sources through the interface only: a small source defined here ("echo": its handler writes its
parameters to the report file) served by an instance that serves nothing else, its jobs and schedules run
end to end; and how sources are found (entry points) and named (settings)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from pydantic import Field, ValidationError
from sqlalchemy import update

from hub_runtime.db import transaction
from report_api.app import create_app
from report_api.models import Schedule
from report_api.settings import ReportSettings
from report_api.sources import (
    JobContext,
    Produced,
    ReportParams,
    ReportRequestError,
    ReportSource,
    UnknownSource,
    load_sources,
)

DONE = "finished"


class EchoParams(ReportParams):
    text: str = Field(max_length=200)
    times: int = Field(1, ge=1, le=10)

    def output_format(self) -> str:
        return "json"


def write_echo(params: EchoParams, ctx: JobContext) -> Produced:
    ctx.progress(0.0)
    if ctx.cancel.is_set():
        ctx.stopped()
    ctx.output.write_text(json.dumps({"user_id": ctx.user_id, **params.model_dump()}))
    return Produced(rows=params.times, summary={"rows": params.times})


def refuse_shouting(user_id: str, params: EchoParams, env) -> None:
    if params.text.isupper():
        raise ReportRequestError("no shouting", code="shouting")


ECHO = ReportSource(name="echo", params=EchoParams, handler=write_echo, check=refuse_shouting,
                    summary="writes its parameters back")


@pytest.fixture
def app(settings):
    app = create_app(settings, "Echo reports", sources={"echo": ECHO})
    app.testing = True
    yield app
    app.config["SERVICE"].runtime.close()


def test_an_echo_report_is_queued_run_and_downloaded(user, run_queued):
    answer = user.post_json("/api/sources/echo/reports/", {"text": "hello", "times": 3})
    assert answer.status_code == 202, answer.json
    task_id = answer.json["task_id"]
    status = user.get(answer.json["status_url"]).json
    assert (status["source"], status["params"], status["state"]) == ("echo", {"text": "hello", "times": 3}, "placed")
    assert status["inputs"] == {} and status["format"] == "json"
    assert run_queued() == 1
    status = user.get(f"/api/report-status/{task_id}/").json
    assert status["state"] == DONE and status["rows"] == 3, status
    download = user.get(status["download_url"])
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.json == {"user_id": user.tokens["user"]["id"], "text": "hello", "times": 3}
    assert [r["task_id"] for r in user.get("/api/reports/").json["reports"]] == [task_id]


def test_echo_parameters_are_checked_before_anything_is_queued(user):
    for body, field in (({"times": 2}, "text"), ({"text": "x", "times": 0}, "times"), ({"text": "x", "y": 1}, "y")):
        answer = user.post_json("/api/sources/echo/reports/", body)
        assert answer.status_code == 400 and field in answer.json["error"]["fields"], answer.json
    refused = user.post_json("/api/sources/echo/reports/", {"text": "HELLO"})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "shouting"
    assert user.get("/api/reports/").json["reports"] == []


def test_an_echo_schedule_fires_a_report_of_its_source(app, user, run_queued):
    answer = user.post_json("/api/sources/echo/schedules/", {"cron": "*/5 * * * *", "name": "echoes",
                                                              "params": {"text": "tick"}})
    assert answer.status_code == 201, answer.json
    schedule_id = answer.json["id"]
    assert (answer.json["source"], answer.json["params"]) == ("echo", {"text": "tick", "times": 1})
    assert user.post_json("/api/sources/echo/schedules/", {"cron": "nope", "params": {"text": "x"}}).json[
        "error"]["code"] == "invalid_cron"
    service = app.config["SERVICE"]
    tick = datetime(2026, 1, 1, 12, 5)
    with transaction(service.runtime.sessions) as session:
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(next_run_at=tick))
    assert service.schedules.fire_due(now=tick + timedelta(seconds=1)) == 1
    assert run_queued() == 1
    runs = user.get(f"/api/schedules/{schedule_id}/runs/").json["reports"]
    assert [(r["source"], r["state"]) for r in runs] == [("echo", DONE)]
    assert user.get(runs[0]["download_url"]).json["text"] == "tick"
    assert [s["id"] for s in user.get("/api/schedules/").json["schedules"]] == [schedule_id]
    assert user.client.delete(f"/api/schedules/{schedule_id}/", headers=user.headers).status_code == 200


def test_an_instance_serves_only_its_sources(app, user):
    listed = user.get("/api/sources/").json["sources"]
    assert [(s["name"], s["uses_uploads"]) for s in listed] == [("echo", False)]
    assert "text" in listed[0]["params"]["properties"]
    assert user.post_json("/api/generate-report/").status_code == 404  # the rules source's route is not here
    with pytest.raises(ReportRequestError, match="does not serve the report source 'rules'"):
        app.config["SERVICE"].reports.request(user.tokens["user"]["id"], "rules", {})


def test_sources_are_found_by_their_entry_points(tmp_path, api_token):
    from report_api.sources.rules import SOURCE

    assert load_sources()["rules"] is SOURCE and load_sources(["rules"]) == {"rules": SOURCE}
    with pytest.raises(UnknownSource, match="'carbon'.*installed: .*gcore, rules"):
        load_sources(["carbon"])
    with pytest.raises(ValidationError, match="no report source 'carbon' is installed"):
        ReportSettings(data_dir=tmp_path, api_token=api_token, report_sources="rules, carbon", _env_file=None)
    assert ReportSettings(data_dir=tmp_path, api_token=api_token, report_sources=" rules ",
                          _env_file=None).source_names == ["rules"]
