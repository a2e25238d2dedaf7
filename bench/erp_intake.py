"""erp_intake: how fast the hub takes OilMat orders in and carries them into the ERP, beside the old
system's design (Flask + persist-queue, `bench/baseline_persistqueue_app.py`) run in the same script.

    .venv/bin/python bench/erp_intake.py            # or: make bench B=erp_intake
    .venv/bin/python bench/erp_intake.py --quick    # a smoke run of a few seconds per figure

Figures (see bench/README.md): intake throughput (closed loop), latency at a fixed 200 orders/s (open
loop), end-to-end orders/s into the demo ERP, idle resident memory. The load comes from `bench/loadgen.py`
in its own process. The headline is the hub as deployed by default on PostgreSQL + RabbitMQ (its default
process count, `hub_runtime.web.serve.default_workers`: 1 unless HUB_API_WORKERS) against the baseline as
the old system ran (one process: persist-queue is a one-process queue); the hub's intake with 2 API
processes (1 when the headline runs more) is measured and printed beside it (`--compare-workers`).
The embedded defaults (SQLite + embedded queue) are measured for intake as well.
`--workers N` runs hub and baseline with N processes each instead. Everything runs in its own PostgreSQL
database, queue prefix and temporary directory, all removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from _common import group_cpu_seconds, progress, reset_erp, run
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from hub_runtime.db import normalize_url
from hub_runtime.runtime import slugify
from hub_runtime.testing.processes import ServiceProcess
from hub_runtime.testing.services import (
    POSTGRES_ADMIN_URL,
    RABBITMQ_URL,
    create_postgres_database,
    delete_queues,
    free_port,
    reachable,
)
from hub_runtime.web.serve import default_workers

HERE = Path(__file__).resolve().parent
INTAKE_WORKSHOP = "Bench Intake"
E2E_WORKSHOP = "Bench E2E"
E2E_WORKSHEETS = "560-569"

EMBEDDED, BASE = "hub (embedded)", "baseline (persist-queue)"


def prod_label(workers: int) -> str:
    return f"hub PG+RMQ {workers} proc{'s' if workers > 1 else ''}"


@dataclass
class Served:
    """A system under intake load: its API process, URL and workshop, and for the hub its relay (the paused
    erp-worker) with the database URL whose outbox it publishes."""

    key: str
    process: ServiceProcess
    url: str
    workshop: str
    tag: str
    relay: tuple[ServiceProcess, str] | None = None


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-erp-intake-"))
        self.token = "bench-" + secrets.token_hex(16)
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}."
        self.processes: list[ServiceProcess] = []
        self.drop_database = None
        self.database_url: str | None = None
        self.erp_url = ""
        self.used_queues: set[str] = set()
        self.notes: list[str] = []
        self.failed = False
        # processes: the hub as deployed (erp-api's default) unless --workers says; the baseline one process
        self.hub_workers = {"prod": args.workers or default_workers(), "embedded": args.workers or default_workers()}
        self.base_workers = args.workers or 1
        # the hub with another process count beside the headline, intake only (see --compare-workers)
        compare = args.compare_workers
        if compare is None:
            compare = 2 if self.hub_workers["prod"] == 1 else 1
        self.compare_workers = 0 if compare == self.hub_workers["prod"] else compare

    # --- processes ----------------------------------------------------------------------------------
    def start(self, name: str, argv: list[str], env: dict[str, str], ready_url: str) -> ServiceProcess:
        process = ServiceProcess(name, argv, {"HUB_API_TOKEN": self.token, "BASELINE_API_TOKEN": self.token,
                                              **env}, self.tmp).start()
        self.processes.append(process)
        if ready_url:
            process.wait_http(ready_url, timeout=60)
        return process

    def stop(self, *processes: ServiceProcess) -> None:
        for process in processes:
            process.stop()

    def hub_env(self, config: str) -> dict[str, str]:
        env = {
            "HUB_DATA_DIR": str(self.tmp / f"data-{config}"),
            "HUB_QUEUE_PREFIX": self.prefix,
            "HUB_ERP_BASE_URL": self.erp_url,
            "HUB_LOG_FORMAT": "json",
            "HUB_LOG_LEVEL": "INFO",
        }
        if config == "prod":
            env.update(DATABASE_URL=self.database_url, AMQP_URL=RABBITMQ_URL)
        else:
            env.update(DATABASE_URL=f"sqlite:///{self.tmp / 'data-embedded' / 'hub.db'}", AMQP_URL="")
        return env

    def start_hub_api(self, config: str, workshop: str, workers: int | None = None) -> tuple[ServiceProcess, str]:
        """erp-api with `workers` processes; None: as deployed (erp-api's default, or --workers)."""
        port = free_port()
        if config == "prod":
            self.used_queues.add(slugify(workshop))
        argv = ["erp-api", str(port), workshop, "--threads", str(self.args.threads)]
        if workers is not None or self.args.workers:
            argv += ["--workers", str(workers or self.args.workers)]
        url = f"http://127.0.0.1:{port}"
        name = f"erp-api-{config}-{slugify(workshop)}" + (f"-w{workers}" if workers else "")
        return self.start(name, argv, self.hub_env(config), url + "/alive"), url

    def start_baseline(self, with_consumer: bool) -> tuple[ServiceProcess, str]:
        port = free_port()
        argv = ["python", str(HERE / "baseline_persistqueue_app.py"), str(port),
                "--queue-dir", str(self.tmp / f"persistqueue-{uuid.uuid4().hex[:6]}"),
                "--workers", str(self.base_workers), "--threads", str(self.args.threads)]
        if with_consumer:
            argv += ["--erp-url", self.erp_url]
        url = f"http://127.0.0.1:{port}"
        name = "baseline-e2e" if with_consumer else "baseline-intake"
        return self.start(name, argv, {}, url + "/alive"), url

    # --- load ---------------------------------------------------------------------------------------
    def loadgen(self, url: str, workshop: str, tag: str, **options) -> dict:
        argv = [sys.executable, str(HERE / "loadgen.py"), "--url", url, "--token", self.token,
                "--workshop", workshop, "--prefix", f"{tag}-{uuid.uuid4().hex[:6]}-"]
        for key, value in options.items():
            argv += [f"--{key}", str(value)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"loadgen failed ({done.returncode}): {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def intake(self, systems: list[Served]) -> dict[str, dict]:
        """Intake figures of every system, all running at once. The closed-loop figure is measured in
        `--rounds` rounds that take turns between the systems (order A B C, then C B A, ...), so that a
        machine that runs faster or slower for a while (a shared 2-core VM does) favours none of them; its
        rate is the sum of the accepted orders over the sum of the measured windows. Then, for each
        system, the relay catching up and the open-loop latency."""
        a = self.args
        results = {s.key: {"rss_fresh": self.fresh_rss(s.process, s.url, s.workshop)} for s in systems}
        sums = {s.key: dict.fromkeys(("ok", "errors", "total_ok", "window", "load_s", "published", "api_cpu",
                                      "relay_cpu", "machine"), 0) | {"p50": [], "p99": [], "rates": []}
                for s in systems}
        for round_no in range(a.rounds):
            for s in (systems if round_no % 2 == 0 else systems[::-1]):
                total = sums[s.key]
                rows_before = outbox_rows(s.relay[1]) if s.relay else 0
                cpu, relay_cpu, machine = (group_cpu_seconds(s.process.pid),
                                           group_cpu_seconds(s.relay[0].pid) if s.relay else 0.0,
                                           machine_busy_seconds())
                started = time.perf_counter()
                closed = self.loadgen(s.url, s.workshop, f"{s.tag}-c{round_no}", mode="closed",
                                      concurrency=a.concurrency, duration=a.duration / a.rounds, warmup=a.warmup,
                                      procs=a.procs)
                total["load_s"] += time.perf_counter() - started
                for field in ("ok", "errors", "total_ok"):
                    total[field] += closed[field]
                total["window"] += closed["elapsed"]
                total["p50"].append(closed["p50_ms"])
                total["p99"].append(closed["p99_ms"])
                total["rates"].append(closed["rate"])
                total["api_cpu"] += group_cpu_seconds(s.process.pid) - cpu
                total["machine"] += machine_busy_seconds() - machine
                if s.relay:
                    # published meanwhile = rows there before + rows the load added - rows still there
                    total["relay_cpu"] += group_cpu_seconds(s.relay[0].pid) - relay_cpu
                    total["published"] += rows_before + closed["total_ok"] - outbox_rows(s.relay[1])
        for s in systems:
            total, result = sums[s.key], results[s.key]
            p50s = sorted(v for v in total["p50"] if v is not None)
            result["closed"] = {"ok": total["ok"], "errors": total["errors"], "rounds": total["rates"],
                                "rate": total["ok"] / total["window"] if total["window"] else 0.0,
                                "p50_ms": p50s[len(p50s) // 2] if p50s else None,
                                "p99_ms": max((v for v in total["p99"] if v is not None), default=None)}
            # CPU per accepted order during the closed-loop rounds: the API's process group, the relay's (the
            # erp-worker) and the whole machine's (load generator, PostgreSQL, RabbitMQ and all else)
            per_order = 1000 / max(1, total["total_ok"])
            result["cpu_ms_per_order"] = total["api_cpu"] * per_order
            result["machine_cpu_ms_per_order"] = total["machine"] * per_order
            if s.relay:
                result["relay_cpu_ms_per_order"] = total["relay_cpu"] * per_order
                result["relay_rate"] = total["published"] / total["load_s"]
                # let the relay catch up before the latency run, so that it is not measured while a backlog drains
                started = time.perf_counter()
                deadline = started + a.relay_drain_timeout
                while time.perf_counter() < deadline and outbox_rows(s.relay[1]):
                    time.sleep(0.25)
                result["relay_backlog_s"] = time.perf_counter() - started
                result["relay_drained"] = not outbox_rows(s.relay[1])
            result["open"] = self.loadgen(s.url, s.workshop, f"{s.tag}-o", mode="open", rate=a.rate,
                                          concurrency=a.open_connections, duration=a.duration, warmup=a.warmup)
        return results

    def start_relay(self, config: str, api_url: str, workshop: str) -> tuple[ServiceProcess, str]:
        """The workshop's erp-worker, paused before it starts (PUT /stop_worker): it consumes nothing, so
        the orders stay queued in the broker as without a consumer, but its outbox relay publishes them."""
        requests.put(api_url + "/stop_worker", headers={"Authorization": f"Bearer {self.token}"},
                     timeout=10).raise_for_status()
        env = self.hub_env(config)
        worker = self.start(f"erp-worker-{config}-{slugify(workshop)}", ["erp-worker", workshop], env, "")
        self.wait_worker(api_url, "stopped")
        return worker, env["DATABASE_URL"]

    def fresh_rss(self, process: ServiceProcess, url: str, workshop: str) -> int:
        """VmRSS of a just-started API's process group after one order and a rest (KiB)."""
        self.loadgen(url, workshop, "fresh", mode="closed", concurrency=1, count=1)
        time.sleep(self.args.idle_seconds)
        return group_rss_kib(process.pid)

    def e2e(self, api_url: str, workshop: str, tag: str, hub: bool) -> dict:
        """Post N orders over worksheets 560-569 and time until the demo ERP holds N new lines."""
        n = self.args.e2e_orders
        reset_erp(self.erp_url)
        started = time.perf_counter()
        posted = self.loadgen(api_url, workshop, tag, mode="closed", concurrency=8, count=n,
                              worksheets=E2E_WORKSHEETS)
        posted_s = time.perf_counter() - started
        deadline = started + self.args.e2e_timeout
        created = 0
        while time.perf_counter() < deadline:
            created = lines_created(self.erp_url)
            if created >= posted["ok"]:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        result = {"n": n, "posted": posted["ok"], "post_errors": posted["errors"], "posted_s": posted_s,
                  "created": created, "seconds": elapsed, "rate": created / elapsed,
                  "complete": posted["ok"] == n and created >= n}
        if hub:
            statuses: dict[str, int] = {}
            for uniqueid in posted["last_ids"][-5:]:
                answer = requests.get(api_url + "/get_order_status", params={"uniqueid": uniqueid},
                                      headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
                status = answer.json().get("status", f"http_{answer.status_code}")
                statuses[status] = statuses.get(status, 0) + 1
            result["sampled_statuses"] = statuses
        return result

    def warm_one(self, api_url: str, workshop: str) -> None:
        """One order through the whole path (login cached, connections open), then a clean ERP."""
        reset_erp(self.erp_url)
        order = {"workshop": workshop, "worksheet": "558", "product_nr": "10", "product_amount": "1",
                 "uniqueid": f"warm-{uuid.uuid4().hex[:8]}", "username": "admin", "password": "gygag"}
        answer = requests.post(api_url + "/create", json=order, headers={"Authorization": f"Bearer {self.token}"},
                               timeout=10)
        answer.raise_for_status()
        deadline = time.monotonic() + 30
        while lines_created(self.erp_url) < 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up order did not reach the demo ERP in 30 s")
            time.sleep(0.1)
        reset_erp(self.erp_url)

    # --- the run ------------------------------------------------------------------------------------
    def run(self) -> dict:
        a = self.args
        prod = prod_label(self.hub_workers["prod"])
        other = prod_label(self.compare_workers) if self.compare_workers else None
        results: dict = {prod: {}, EMBEDDED: {}, BASE: {}} | ({other: {}} if other else {})
        production = reachable(POSTGRES_ADMIN_URL, 5432) and reachable(RABBITMQ_URL, 5672)
        if not production:
            self.notes.append("PostgreSQL or RabbitMQ not reachable: the production configuration was skipped")
        else:
            self.database_url, self.drop_database = create_postgres_database()
        erp_port = free_port()
        self.erp_url = f"http://127.0.0.1:{erp_port}"
        self.start("demo-erp", ["demo-erp", "--port", str(erp_port)], {}, self.erp_url + "/health")

        headline = "prod" if production else "embedded"
        hub_key = prod if production else EMBEDDED

        # 1 + 2: intake of the hub as deployed (the headline), the hub with one process (when that is not the
        # headline), the baseline and the embedded defaults, all started first and measured in turns
        progress("intake, in turns: " + ", ".join(k for k in (hub_key, other, BASE, EMBEDDED) if k))
        api, url = self.start_hub_api(headline, INTAKE_WORKSHOP)
        systems = [Served(hub_key, api, url, INTAKE_WORKSHOP, "hub", self.start_relay(headline, url, INTAKE_WORKSHOP))]
        if production and other:
            workshop = f"{INTAKE_WORKSHOP} W{self.compare_workers}"
            api, url = self.start_hub_api("prod", workshop, workers=self.compare_workers)
            systems.append(Served(other, api, url, workshop, f"hub{self.compare_workers}",
                                  self.start_relay("prod", url, workshop)))
        base, url = self.start_baseline(with_consumer=False)
        systems.append(Served(BASE, base, url, INTAKE_WORKSHOP, "base"))
        if production and not a.skip_embedded:
            api, url = self.start_hub_api("embedded", INTAKE_WORKSHOP)
            systems.append(Served(EMBEDDED, api, url, INTAKE_WORKSHOP, "emb",
                                  self.start_relay("embedded", url, INTAKE_WORKSHOP)))
        for key, result in self.intake(systems).items():
            results[key]["intake"] = result
        for served in systems:
            self.stop(*([served.relay[0]] if served.relay else []), served.process)

        # 3 + 4: a fresh pair per system: idle memory, then end-to-end into the demo ERP
        progress(f"end-to-end: {hub_key}")
        api, url = self.start_hub_api(headline, E2E_WORKSHOP)
        worker = self.start(f"erp-worker-{headline}", ["erp-worker", E2E_WORKSHOP], self.hub_env(headline), "")
        self.wait_worker(url, "running")
        self.warm_one(url, E2E_WORKSHOP)
        time.sleep(a.idle_seconds)
        results[hub_key]["rss_idle"] = group_rss_kib(api.pid) + group_rss_kib(worker.pid)
        results[hub_key]["rss_parts"] = (group_rss_kib(api.pid), group_rss_kib(worker.pid))
        results[hub_key]["e2e"] = self.e2e(url, E2E_WORKSHOP, "hub-e2e", hub=True)
        results[hub_key]["rss_after"] = group_rss_kib(api.pid) + group_rss_kib(worker.pid)
        self.stop(worker, api)

        progress(f"end-to-end: {BASE}")
        base, url = self.start_baseline(with_consumer=True)
        self.warm_one(url, INTAKE_WORKSHOP)
        time.sleep(a.idle_seconds)
        results[BASE]["rss_idle"] = group_rss_kib(base.pid)
        results[BASE]["e2e"] = self.e2e(url, INTAKE_WORKSHOP, "base-e2e", hub=False)
        results[BASE]["rss_after"] = group_rss_kib(base.pid)
        self.stop(base)

        results["_hub_key"] = hub_key
        results["_compare_key"] = other if production else None
        results["_workers"] = {"hub": self.hub_workers[headline], "base": self.base_workers,
                               "compare": self.compare_workers}
        return results

    def wait_worker(self, api_url: str, state: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(api_url + "/alive", timeout=5).json()["worker"]["state"] == state:
                    return
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the erp-worker did not report {state} within {timeout:g} s")

    def cleanup(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as exc:  # noqa: BLE001 - clean up the rest whatever happens
                print(f"stopping {process.name}: {exc}", file=sys.stderr)
        if self.used_queues:
            try:
                delete_queues(RABBITMQ_URL, [self.prefix + f"erp.{slug}" for slug in self.used_queues])
            except Exception as exc:  # noqa: BLE001
                print(f"could not delete the bench queues {self.prefix}*: {exc}", file=sys.stderr)
        if self.drop_database:
            try:
                self.drop_database()
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop {self.database_url}: {exc}", file=sys.stderr)
        if self.failed or self.args.keep_logs:
            print(f"logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --- helpers ----------------------------------------------------------------------------------------
def lines_created(erp_url: str) -> int:
    return requests.get(erp_url + "/_sim/state", timeout=10).json()["counters"]["lines_created"]


def outbox_rows(database_url: str) -> int:
    """Rows in the outbox, on PostgreSQL or SQLite."""
    engine = create_engine(normalize_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    finally:
        engine.dispose()


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores; /proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def group_rss_kib(pgid: int) -> int:
    """VmRSS summed over every process of a process group (a gunicorn master and its workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{entry}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except (OSError, IndexError, ValueError):
            continue  # the process went away meanwhile
    return total


# --- report -----------------------------------------------------------------------------------------
def _num(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _mib(kib) -> str:
    return "-" if not kib else f"{kib / 1024:.1f}"


def report(results: dict, args: argparse.Namespace, notes: list[str]) -> str:
    hub_key, compare_key = results["_hub_key"], results["_compare_key"]
    workers = results["_workers"]
    columns = [hub_key] + [k for k in (compare_key, EMBEDDED, BASE) if k and k != hub_key and results[k]]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        cells = []
        for key in columns:
            try:
                cells.append(fn(results[key]))
            except (KeyError, TypeError):
                cells.append("-")
        rows.append((label, cells))

    c, o = "closed", "open"
    row(f"1 intake, closed loop, {args.concurrency} conns [ok/s]", lambda r: _num(r["intake"][c]["rate"]))
    row(f"    each of the {args.rounds} rounds [ok/s]",
        lambda r: " ".join(f"{rate:.0f}" for rate in r["intake"][c]["rounds"]))
    row("    accepted / errors in the windows", lambda r: f"{r['intake'][c]['ok']} / {r['intake'][c]['errors']}")
    row("    latency p50 (median round) / p99 (worst) [ms]",
        lambda r: f"{_num(r['intake'][c]['p50_ms'])} / {_num(r['intake'][c]['p99_ms'])}")
    row("    CPU per accepted order [ms]: API processes", lambda r: _num(r["intake"]["cpu_ms_per_order"], "{:.2f}"))
    row("      relay (the paused erp-worker)",
        lambda r: _num(r["intake"]["relay_cpu_ms_per_order"], "{:.2f}") if "relay_rate" in r["intake"] else "n/a")
    row("      whole machine (all processes)", lambda r: _num(r["intake"]["machine_cpu_ms_per_order"], "{:.2f}"))
    row("    relay published during load [msg/s]",
        lambda r: _num(r["intake"]["relay_rate"]) if "relay_rate" in r["intake"] else "n/a")
    row("    relay backlog drained after [s]",
        lambda r: (_num(r["intake"]["relay_backlog_s"]) + ("" if r["intake"]["relay_drained"] else " (not yet)"))
        if "relay_backlog_s" in r["intake"] else "n/a")
    row("    API RSS, fresh, after one order [MiB]", lambda r: _mib(r["intake"]["rss_fresh"]))
    row(f"2 open loop {args.rate:g}/s: p50 / p99 [ms]",
        lambda r: f"{_num(r['intake'][o]['p50_ms'])} / {_num(r['intake'][o]['p99_ms'])}")
    row("    max [ms]; achieved [ok/s]; late starts",
        lambda r: f"{_num(r['intake'][o]['max_ms'], '{:.0f}')}; {_num(r['intake'][o]['rate'])}; "
                  f"{r['intake'][o]['late']}")
    row("    errors", lambda r: str(r["intake"][o]["errors"]))
    row(f"3 end-to-end into demo ERP, N={args.e2e_orders} [orders/s]",
        lambda r: _num(r["e2e"]["rate"]) + ("" if r["e2e"]["complete"] else " (partial)"))
    row("    lines created / seconds", lambda r: f"{r['e2e']['created']} / {r['e2e']['seconds']:.1f}")
    row("    posting N took [s]", lambda r: _num(r["e2e"]["posted_s"]))
    row("    sampled final statuses (last 5)",
        lambda r: ",".join(f"{k}:{v}" for k, v in r["e2e"]["sampled_statuses"].items()) or "-"
        if "sampled_statuses" in r["e2e"] else "n/a")
    row("4 idle RSS api + worker [MiB]", lambda r: _mib(r["rss_idle"]))
    row("    of which api / worker [MiB]",
        lambda r: f"{_mib(r['rss_parts'][0])} / {_mib(r['rss_parts'][1])}" if "rss_parts" in r
        else "one process" if "rss_idle" in r else "-")
    row("    RSS after the e2e run [MiB]", lambda r: _mib(r["rss_after"]))

    label_width = max(len(label) for label, _ in rows) + 2
    widths = [max(len(k), *(len(cells[i]) for _, cells in rows)) + 2 for i, k in enumerate(columns)]
    procs = lambda n: f"{n} process{'es' if n > 1 else ''}"  # noqa: E731
    lines = [
        f"erp_intake on {os.cpu_count()} CPUs; hub and baseline both served by gunicorn gthread, "
        f"{args.threads} threads per process, no gunicorn access log (the hub writes its own JSON line per request)",
        f"compared (headline): the hub as deployed, {procs(workers['hub'])} "
        f"({'--workers' if args.workers else 'erp-api default'}), with the baseline as the old system ran, "
        f"{procs(workers['base'])}" + ("" if args.workers else "; persist-queue is a one-process queue")
        + (f". Also printed: {compare_key} (intake)" if compare_key and results[compare_key] else ""),
        f"load: bench/loadgen.py in its own process ({args.procs} proc), http.client keep-alive, "
        f"a fresh uniqueid per order; {args.warmup:g} s warm-up + {args.duration:g} s measured per run",
        "baseline: Flask + persist-queue (file Queue) endpoint, consumer thread posting lines to the demo ERP",
        "",
        "figure".ljust(label_width) + "".join(k.rjust(w) for k, w in zip(columns, widths, strict=True)),
        "-" * (label_width + sum(widths)),
    ]
    for label, cells in rows:
        lines.append(label.ljust(label_width) + "".join(cell.rjust(w) for cell, w in zip(cells, widths, strict=True)))
    lines.append("")
    for key in columns:
        capacity = results[key].get("intake", {}).get("closed", {}).get("rate") or 0
        if capacity and capacity < args.rate * 1.1 and "open" in results[key]["intake"]:
            notes.append(f"{key}: {args.rate:g}/s is at or above its closed-loop capacity ({capacity:.0f}/s), so "
                         "the open-loop run queues up and its latency grows with the run length")
    lines += [f"note: {n}" for n in notes]

    hub, base = results[hub_key], results[BASE]
    hub_rate, base_rate = hub["intake"]["closed"]["rate"], base["intake"]["closed"]["rate"]
    ratio = hub_rate / base_rate if base_rate else float("nan")
    hub_procs, base_procs = f"{workers['hub']} proc{'s' if workers['hub'] > 1 else ''}", f"{workers['base']} proc"
    if workers["base"] > 1:
        base_procs += "s"
    compared = ""
    if compare_key and results[compare_key]:
        rate_c = results[compare_key]["intake"]["closed"]["rate"]
        n = workers["compare"]
        compared = (f"; hub {n} proc{'s' if n > 1 else ''} {rate_c:.1f}/s = "
                    f"{rate_c / base_rate if base_rate else float('nan'):.2f}x")
        lines.append(f"note: the headline ratio compares the hub as deployed ({hub_procs}, erp-api's default) with "
                     "the baseline in one process (persist-queue is a one-process queue: with --workers 2 it would "
                     f"be two unrelated queues). {compare_key} (HUB_API_WORKERS={n}; safe on PostgreSQL, whose "
                     f"relays claim rows with SKIP LOCKED) takes {rate_c:.1f}/s = "
                     f"{rate_c / base_rate if base_rate else float('nan'):.2f}x the baseline. Each API process "
                     "costs memory: see the API RSS row")
    lines.append(
        f"erp_intake: ratio {ratio:.2f} (hub {hub_procs} {hub_rate:.1f}/s vs persist-queue baseline {base_procs} "
        f"{base_rate:.1f}/s; p99@{args.rate:g}/s {hub['intake']['open']['p99_ms']:.1f} ms; "
        f"e2e {hub['e2e']['rate']:.1f}/s vs {base['e2e']['rate']:.1f}/s; "
        f"idle rss api+worker {hub['rss_idle'] / 1024:.1f} MiB{compared})"
    )
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0,
                        help="measured seconds per load run (closed loop: in all, over the rounds)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="closed loop: rounds taking turns between the systems")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each load run")
    parser.add_argument("--concurrency", type=int, default=24, help="closed loop: keep-alive connections")
    parser.add_argument("--procs", type=int, default=1, help="closed loop: load generator processes")
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: orders per second")
    parser.add_argument("--open-connections", type=int, default=32, help="open loop: connections available")
    parser.add_argument("--e2e-orders", type=int, default=500, help="orders carried end to end")
    parser.add_argument("--e2e-timeout", type=float, default=90.0, help="give up waiting for the ERP after this")
    parser.add_argument("--relay-drain-timeout", type=float, default=20.0,
                        help="how long to let the outbox relay catch up before the latency run")
    parser.add_argument("--idle-seconds", type=float, default=1.0, help="settle time before reading RSS")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes of hub and baseline alike (default: the hub as deployed, "
                             "i.e. erp-api's default: HUB_API_WORKERS, else 1; the baseline 1)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (hub and baseline)")
    parser.add_argument("--skip-embedded", action="store_true", help="do not measure the embedded defaults")
    parser.add_argument("--compare-workers", type=int, default=None,
                        help="also measure the intake of the hub with this many API processes (default: 2 when the "
                             "headline runs 1, else 1; 0: do not)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s runs, 60 orders end to end")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.e2e_orders, args.relay_drain_timeout = 3.0, 0.5, 60, 5.0
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    return run(bench, lambda results: report(results, args, bench.notes))


if __name__ == "__main__":
    sys.exit(main())
