"""Helpers the benchmarks share: progress lines, the demo ERP, process CPU time, and the run-report-clean-up
frame of every script's main() (RabbitMQ clean-up is `hub_runtime.testing.services.delete_queues`)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import requests


def progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def reset_erp(erp_url: str) -> None:
    requests.post(erp_url + "/_sim/reset", timeout=10).raise_for_status()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of the live processes of a process group."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def run(bench, render: Callable[[dict], str]) -> int:
    """Run a benchmark, always clean up after it (keeping its logs if it failed), print its report."""
    started = time.perf_counter()
    try:
        results = bench.run()
    except BaseException:
        bench.failed = True
        raise
    finally:
        bench.cleanup()
    bench.notes.append(f"whole run {time.perf_counter() - started:.0f} s")
    print(render(results))
    return 0
