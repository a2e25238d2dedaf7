"""Schedules: cron validation, next runs, pause/resume/delete, and firing exactly once per tick."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from hub_runtime.cron import CronError, parse_cron
from hub_runtime.db import transaction
from report_api.models import Schedule
from report_api.schedules import Schedules


@pytest.fixture
def files(sample):
    return {"input_file": ("input.csv", sample.input), "reference_file": ("reference.csv", sample.reference),
            "rules_file": ("rules.json", sample.rules)}


def schedule(user, files, cron="*/5 * * * *", **form):
    answer = user.upload("/api/trigger-scheduled-report/", files, cron=cron, **form)
    assert answer.status_code == 201, answer.json
    return answer.json


@pytest.mark.parametrize("cron", ["", "* * *", "61 * * * *", "* * * * * * * *", "every minute", "0 0 30 2 *"])
def test_wrong_cron_expressions_are_refused(app, user, cron, files):
    answer = user.upload("/api/trigger-scheduled-report/", files, cron=cron)
    assert answer.status_code == 400, (cron, answer.json)
    assert answer.json["error"]["code"] in ("invalid_cron", "invalid_request")
    assert "cron" in answer.json["error"]["fields"]
    assert user.get("/api/uploads/").json["uploads"] == [] and user.get("/api/schedules/").json["schedules"] == []


def test_parse_cron_normalises_and_explains():
    assert parse_cron("  */5   * * * * ") == "*/5 * * * *"
    assert parse_cron("* * * * * */10") == "* * * * * */10"
    with pytest.raises(CronError, match="5 fields"):
        parse_cron("* * *")


def test_a_schedule_answers_with_its_next_runs(user, files):
    created = schedule(user, files, "0 6 * * 1", name="weekly")
    assert created["message"] == "Scheduled report triggered."
    runs = [datetime.fromisoformat(t.rstrip("Z")) for t in created["next_runs"]]
    assert len(runs) == 5 and runs == sorted(runs)
    assert all(t.weekday() == 0 and t.hour == 6 and t.minute == 0 for t in runs)
    assert runs[1] - runs[0] == timedelta(days=7)
    assert created["next_run_at"] == created["next_runs"][0]


def test_pause_resume_delete(user, other_user, files):
    created = schedule(user, files)
    path = f"/api/schedules/{created['id']}/"
    assert user.client.post(path + "pause/", headers=user.headers).json["paused"] is True
    assert user.get(path).json["next_runs"] == []
    resumed = user.client.post(path + "resume/", headers=user.headers).json
    assert resumed["paused"] is False and len(resumed["next_runs"]) == 5
    assert other_user.get(path).status_code == 404
    assert other_user.client.delete(path, headers=other_user.headers).status_code == 404
    assert user.client.delete(path, headers=user.headers).status_code == 200
    assert user.get(path).status_code == 404 and user.get("/api/schedules/").json["schedules"] == []


def _make_due(app, schedule_id: str, when: datetime) -> None:
    with transaction(app.config["SERVICE"].runtime.sessions) as session:
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(next_run_at=when))


def test_a_due_tick_fires_once_even_with_several_schedulers(app, user, run_queued, files):
    created = schedule(user, files, "*/5 * * * *")
    tick = datetime(2026, 1, 1, 12, 5)
    _make_due(app, created["id"], tick)
    service = app.config["SERVICE"]
    schedulers = [Schedules(service.runtime.sessions, service.runtime.instance.id, service.reports, service.storage)
                  for _ in range(4)]
    barrier = threading.Barrier(len(schedulers))
    fired = []

    def fire(scheduler):
        barrier.wait()
        fired.append(scheduler.fire_due(now=tick + timedelta(seconds=30)))

    threads = [threading.Thread(target=fire, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 1
    assert all(s.fire_due(now=tick + timedelta(seconds=31)) == 0 for s in schedulers)  # the next tick is 12:10
    runs = user.get(f"/api/schedules/{created['id']}/runs/").json["reports"]
    assert len(runs) == 1 and runs[0]["task_id"] == f"s-{created['id']}-20260101T120500"
    shown = user.get(f"/api/schedules/{created['id']}/").json
    assert shown["runs"] == 1 and shown["next_run_at"] == "2026-01-01T12:10:00.000Z"
    assert run_queued() == 1
    assert user.get(f"/api/report-status/{runs[0]['task_id']}/").json["state"] == "finished"


def test_missed_ticks_after_downtime_are_coalesced_into_one_run(app, user, files):
    created = schedule(user, files, "*/5 * * * *")
    _make_due(app, created["id"], datetime(2026, 1, 1, 0, 0))
    service = app.config["SERVICE"]
    assert service.schedules.fire_due(now=datetime(2026, 1, 1, 3, 2)) == 1  # down from 00:00 to 03:02
    shown = user.get(f"/api/schedules/{created['id']}/").json
    assert shown["runs"] == 1 and shown["missed_ticks"] == 36  # 00:00..02:55 coalesced into the 03:00 run
    assert shown["last_run_at"] == "2026-01-01T03:00:00.000Z"
    assert shown["next_run_at"] == "2026-01-01T03:05:00.000Z"


def test_a_paused_schedule_does_not_fire(app, user, files):
    created = schedule(user, files, "*/5 * * * *")
    user.client.post(f"/api/schedules/{created['id']}/pause/", headers=user.headers)
    _make_due(app, created["id"], datetime(2026, 1, 1, 0, 0))
    assert app.config["SERVICE"].schedules.fire_due(now=datetime(2026, 1, 1, 0, 1)) == 0


def test_a_tick_queued_before_an_upgrade_is_not_queued_again(app, user, files):
    """The tick's task exists with the payload an older version stored (the process stopped between queueing
    and moving the schedule on, then was upgraded): the schedule moves on instead of failing every pass."""
    created = schedule(user, files, "*/5 * * * *")
    _make_due(app, created["id"], datetime(2026, 1, 1, 12, 5))
    service = app.config["SERVICE"]
    key = f"s-{created['id']}-20260101T120500"
    service.runtime.tasks.submit("report", key, {"user_id": "u", "input_id": "i", "rules_id": "r", "format": "csv"})
    assert service.schedules.fire_due(now=datetime(2026, 1, 1, 12, 6)) == 1
    shown = user.get(f"/api/schedules/{created['id']}/").json
    assert shown["last_task_id"] == key and shown["next_run_at"] == "2026-01-01T12:10:00.000Z"
