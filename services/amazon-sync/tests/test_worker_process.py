"""The real amazon-sync-worker process, killed with `kill -9` in the middle of a fetch and started again:
the activity resumes where it stopped (items already stored are not asked for again) and nothing is stored
twice. RabbitMQ (which hands a dead consumer's message on at once) and SQLite, the SP-API simulator over
real HTTP."""

from __future__ import annotations

import time
from datetime import timedelta

from service_fixtures import DEMO_CREDENTIALS, UK, amazon_settings
from sqlalchemy import func, select

from amazon_sync.kind import KIND
from amazon_sync.service import AmazonService
from amazon_sync.store.tables import order_items, orders
from hub_runtime.config import RuntimeSettings
from hub_runtime.secrets import write_secrets_file
from hub_runtime.testing.processes import ServiceProcess

NAME = "Killed seller"


def wait_until(predicate, timeout: float, describe) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(describe())
        time.sleep(0.05)


def count(service: AmazonService, table) -> int:
    with service.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(table)
                              .where(table.c.instance == service.runtime.instance.id))


def test_kill_9_mid_fetch_then_restart_resumes_and_duplicates_nothing(tmp_path, api_token, sim, amqp_url,
                                                                     queue_prefix):
    sim.post("/_sim/clock", {"speed": 30})  # getOrderItems at 15 calls/s: a fetch of a month takes seconds
    database_url = f"sqlite:///{tmp_path / 'hub.db'}"
    secrets = tmp_path / "secrets.json"
    write_secrets_file(secrets, {"api_token": api_token, "credentials": DEMO_CREDENTIALS})
    amazon = amazon_settings(sim, orders_api="v0", time_speed=30, backfill_min_days=30, retry_base_seconds=0.5)
    env = {"HUB_DATABASE_URL": database_url, "HUB_AMQP_URL": amqp_url, "HUB_QUEUE_PREFIX": queue_prefix,
           "HUB_DATA_DIR": str(tmp_path / "data"), "HUB_SECRETS_FILE": str(secrets), "HUB_KIND": "amazon",
           "HUB_HEARTBEAT_SECONDS": "0.2", **KIND.environment(amazon)}
    settings = RuntimeSettings(database_url=database_url, amqp_url=amqp_url, queue_prefix=queue_prefix,
                               data_dir=tmp_path / "data", api_token=api_token, credentials=DEMO_CREDENTIALS,
                               _env_file=None)
    service = AmazonService(settings, amazon, NAME, role="api")
    worker = ServiceProcess("amazon-sync-worker", ["amazon-sync-worker", NAME], env, tmp_path)
    try:
        end = sim.now() - timedelta(days=1)
        activity_id = service.activities.queue("orders", {
            "marketplace_id": UK, "start": (end - timedelta(days=20)).isoformat(), "end": end.isoformat(),
            "max_orders": None}, marketplace_id=UK)
        worker.start()
        wait_until(lambda: count(service, order_items) >= 40, 60,
                   lambda: f"no items stored yet\n{worker.log()[-3000:]}")
        worker.kill9()
        stored_orders = count(service, orders)
        items_before = count(service, order_items)
        calls_before = sim.operation("getOrderItems")["calls"]
        assert service.activities.view(activity_id)["status"] == "in_progress"  # killed mid-fetch
        missing = len(service.orders.orders_missing_items(UK, limit=None))
        assert missing > 0, "the fetch ended before the kill: nothing to resume"

        worker.start()
        wait_until(lambda: service.activities.view(activity_id)["status"] in ("completed", "failed"), 90,
                   lambda: f"not done\n{worker.log()[-3000:]}")
        activity = service.activities.view(activity_id)
        assert activity["status"] == "completed", activity
        assert count(service, orders) == stored_orders == activity["counts"]["orders_fetched"]
        assert service.orders.orders_missing_items(UK, limit=None) == []
        assert count(service, order_items) > items_before
        # resumed: only the orders still without items were asked for (and at most a few in flight twice)
        assert sim.operation("getOrderItems")["calls"] - calls_before <= missing + 2
        assert activity["counts"]["orders_new"] == activity["counts"]["orders_updated"] == 0  # none stored twice
    finally:
        worker.stop()
        service.close()
        sim.post("/_sim/clock", {"speed": 600})
