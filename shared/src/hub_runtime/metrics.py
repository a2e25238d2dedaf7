"""Prometheus metrics of the runtime. Counters live in the process that does the work (the API counts
received tasks, the worker counts created/failed ones and the end-to-end latency); the API's /metrics
also reads the queue depth and task counts by status at scrape time.

An API served by several gunicorn worker processes sets `PROMETHEUS_MULTIPROC_DIR` to an empty folder
before prometheus_client is imported and the workers are forked (erp-api's cli): prometheus_client then
keeps each process's values in files there, and `/metrics` answers with the sum over the processes,
whichever of them serves the scrape."""

from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

TASKS_RECEIVED = Counter("hub_tasks_received_total", "Tasks accepted (new, not duplicates)", ["instance", "kind"])
TASKS_DUPLICATE = Counter("hub_tasks_duplicate_total", "Requests answered with an existing task", ["instance"])
TASKS_CREATED = Counter("hub_tasks_created_total", "Tasks completed successfully", ["instance", "kind"])
TASKS_FAILED = Counter("hub_tasks_failed_total", "Tasks ended in error", ["instance", "kind", "reason_code"])
TASK_RETRIES = Counter("hub_task_retries_total", "Transient failures retried", ["instance", "reason_code"])
TASK_LATENCY = Histogram(
    "hub_task_end_to_end_seconds", "From acceptance to final status", ["instance", "kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
OUTBOX_PUBLISHED = Counter("hub_outbox_published_total", "Outbox messages handed to the broker", ["instance"])
WORKER_UP = Gauge("hub_worker_running", "1 while this worker consumes, 0 while paused", ["instance"],
                  multiprocess_mode="livemax")

log = logging.getLogger("hub.metrics")


class LiveStateCollector(Collector):
    """Reads queue depth and tasks by status when Prometheus scrapes, so every API replica reports the
    same truth from the database and broker."""

    def __init__(self, runtime):
        self.runtime = runtime

    def describe(self):
        return []  # read live: nothing to check for name clashes at registration

    def collect(self):
        instance = self.runtime.instance.id
        depth = GaugeMetricFamily("hub_queue_depth", "Messages ready in the broker queue", labels=["instance"])
        try:
            depth.add_metric([instance], self.runtime.broker.depth(self.runtime.queue))
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because the broker is down
            log.warning("queue depth unavailable: %s", exc)
        yield depth
        by_status = GaugeMetricFamily("hub_tasks", "Tasks by status", labels=["instance", "status"])
        for status, count in self.runtime.tasks.count_by_status().items():
            by_status.add_metric([instance, status], count)
        yield by_status


def process_gone(pid: int) -> None:
    """A worker process exited: drop its live gauges (its counters stay counted)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, path)


def exposition(runtime=None) -> bytes:
    """The process's metrics (the sum over the processes in multiprocess mode), plus the live queue/task
    state when a runtime is given."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if runtime is not None:
        live = CollectorRegistry(auto_describe=False)
        live.register(LiveStateCollector(runtime))
        text += generate_latest(live)
    return text
