"""`gcore_all`: the wall time of a gcore `all` report (what `POST /reports/all` waits for: the worker's job)
with the three products fetched concurrently, beside the old service's sequential way (the same client code,
one product after another, then the same filtering), against the Gcore simulator with a realistic report
time. Both run in the same process, alternately, the same number of times; their report files are compared.
Ends with `gcore_all: ratio X` (sequential seconds / concurrent seconds, medians)."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import requests

from hub_runtime.testing.services import serving
from report_api.sources.base import JobContext
from report_api.sources.gcore.handler import Gcore, fetch
from report_api.sources.gcore.kind import GcoreSettings
from report_api.sources.gcore.params import PRODUCTS, GcoreParams
from report_api.sources.gcore.rows import client_rows, write_csv
from simulators.gcore.app import create_app as create_sim

sys.path.insert(0, str(Path(__file__).parent))
from _common import progress

LOGIN = {"username": "reseller@example.com", "password": "gcore-sim"}
PARAMS = GcoreParams(product="all", gcore_user_id="200101", start_date="2025-09-01", end_date="2025-09-24")


class _Job:
    def stop_requested(self) -> bool:
        return False

    def cancel_requested(self) -> bool:
        return False


def context(folder: Path, name: str) -> JobContext:
    env = SimpleNamespace(settings=SimpleNamespace(credentials=LOGIN))
    return JobContext(env, name, "bench", folder / f"{name}.csv", _Job(), lambda fraction, rows: None)


def sequential(gcore: Gcore, ctx: JobContext) -> int:
    """The old service's way: one product after another, then the same filtering into one file."""
    client = gcore.client(LOGIN)
    frames = []
    for product in PARAMS.products():
        part = ctx.output.with_name(f".{ctx.task_id}.{product}.partial")
        fetch(client, product, PARAMS, part)
        frames.append(client_rows(part, PARAMS.gcore_user_id, PRODUCTS[product][1]))
    rows = write_csv(frames, ctx.output)
    for product in PARAMS.products():
        ctx.output.with_name(f".{ctx.task_id}.{product}.partial").unlink()
    return rows


def measure(url: str, runs: int) -> tuple[dict[str, list[float]], dict[str, set[str]], int]:
    """Each way's times over `runs` runs, the rows each made, and how many logins Gcore saw."""
    gcore = Gcore(GcoreSettings(api_url=url, poll_interval_seconds=0.5, poll_max_interval_seconds=1.0))
    times: dict[str, list[float]] = {"concurrent": [], "sequential": []}
    outputs: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            for way in ("concurrent", "sequential"):
                ctx = context(Path(tmp), f"{way}-{run}")
                started = time.monotonic()
                rows = gcore.generate(PARAMS, ctx).rows if way == "concurrent" else sequential(gcore, ctx)
                times[way].append(time.monotonic() - started)
                lines = ctx.output.read_text().splitlines()
                assert len(lines) == rows + 1
                previous = outputs.setdefault(way, set(lines))
                assert previous == set(lines), f"{way}: run {run} differs from run 0"
                progress(f"run {run + 1}/{runs} {way}: {times[way][-1]:.2f} s, {rows} rows")
    logins = requests.get(f"{url}/_sim/state", timeout=5).json()["counters"]["logins"]
    return times, outputs, logins


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each way (default 3)")
    parser.add_argument("--job-seconds", type=float, default=4.0, help="how long Gcore takes per report")
    args = parser.parse_args(argv)
    with serving(create_sim(job_seconds=args.job_seconds)) as url:
        times, outputs, logins = measure(url, args.runs)
    same = outputs["concurrent"] == outputs["sequential"]
    print(f"\nGcore report time {args.job_seconds:g} s per product, {args.runs} runs each, "
          f"{len(outputs['concurrent']) - 1} rows")
    print("| way | median s | min s | max s |\n|---|---|---|---|")
    for way, values in times.items():
        print(f"| {way} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    print(f"same rows: {same}; logins to Gcore: {logins}")
    if not same:
        raise SystemExit("the two ways made different reports")
    ratio = statistics.median(times["sequential"]) / statistics.median(times["concurrent"])
    print(f"gcore_all: ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
