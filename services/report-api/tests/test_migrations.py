"""report-api's migrations keep the data: a rules job and schedule made at r0001 read back after the upgrade
as rules jobs and schedules with the same uploads and format (and back after a downgrade), on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from hub_runtime.db import make_engine, make_sessions
from report_api.models import ReportJob, Schedule
from report_api.service import MIGRATIONS

VERSION_TABLE = "alembic_version_report"
AT = datetime(2026, 1, 1, 12, 0)


def migrate(engine: sa.Engine, revision: str, step=command.upgrade) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["version_table"] = VERSION_TABLE
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        step(config, revision)


def rows_at_r0001(conn) -> None:
    """A user, three uploads, a finished xlsx job and a schedule, as r0001's tables hold them."""
    conn.execute(sa.text("INSERT INTO report_users (id, instance, email, name, password_hash, created_at) "
                         "VALUES ('u1', 'rules:demo', 'ann@example.com', 'Ann', 'x', :at)"), {"at": AT})
    for upload_id, kind in (("in1", "input"), ("ref1", "reference"), ("ru1", "rules")):
        conn.execute(sa.text(
            "INSERT INTO report_uploads (id, user_id, kind, name, version, path, size, sha256, fmt, created_at) "
            "VALUES (:id, 'u1', :kind, :kind, 1, :id, 1, 'h', 'csv', :at)"), {"id": upload_id, "kind": kind, "at": AT})
    conn.execute(sa.text(
        "INSERT INTO report_jobs (task_id, user_id, input_id, reference_id, rules_id, fmt, progress, rows_done, "
        "output_path, output_bytes, created_at, finished_at) VALUES ('t1', 'u1', 'in1', 'ref1', 'ru1', 'xlsx', 1.0, "
        "3, 'outputs/t1.xlsx', 100, :at, :at)"), {"at": AT})
    conn.execute(sa.text(
        "INSERT INTO report_schedules (id, instance, user_id, name, cron, input_id, reference_id, rules_id, fmt, "
        "paused, next_run_at, runs, missed_ticks, created_at) VALUES ('s1', 'rules:demo', 'u1', 'weekly', "
        "'0 6 * * 1', 'in1', NULL, 'ru1', 'csv', :paused, :at, 2, 0, :at)"), {"at": AT, "paused": False})


def test_rules_jobs_and_schedules_survive_the_move_to_sources(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine, "r0001")
        with engine.begin() as conn:
            rows_at_r0001(conn)
        migrate(engine, "head")
        with make_sessions(engine)() as session:
            job = session.get(ReportJob, "t1")
            schedule = session.get(Schedule, "s1")
        assert (job.source, job.fmt, job.output_path, job.rows_done) == ("rules", "xlsx", "outputs/t1.xlsx", 3)
        assert job.params == {"input_id": "in1", "reference_id": "ref1", "rules_id": "ru1", "format": "xlsx"}
        assert (schedule.source, schedule.name, schedule.cron, schedule.runs) == ("rules", "weekly", "0 6 * * 1", 2)
        assert schedule.params == {"input_id": "in1", "reference_id": None, "rules_id": "ru1", "format": "csv"}
        columns = {c["name"] for c in sa.inspect(engine).get_columns("report_jobs")}
        assert {"source", "params"} <= columns and not {"input_id", "reference_id", "rules_id"} & columns

        migrate(engine, "r0001", command.downgrade)  # and back: the rules rows get their upload columns again
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT input_id, reference_id, rules_id, fmt FROM report_jobs")).all() == [
                ("in1", "ref1", "ru1", "xlsx")]
            assert conn.execute(sa.text("SELECT input_id, reference_id, fmt FROM report_schedules")).all() == [
                ("in1", None, "csv")]
    finally:
        engine.dispose()
