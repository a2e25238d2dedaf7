"""manager_scale: how fast the manager brings N ERP integrations up, how fast its health overview answers
with N running, and what one integration costs in memory; beside the old way of starting instances one
after another, measured in the same run.

    .venv/bin/python bench/manager_scale.py                  # N = 10, 25, 50 (about 4.5 minutes on 2 cores)
    .venv/bin/python bench/manager_scale.py --sizes 5,10     # a quicker run

For each N: a fresh manager process (a database of its own: PostgreSQL when the server has connections
enough for the largest N, else SQLite, see --database; RabbitMQ with a queue prefix of its own) is sent N
`POST /integrations` (kind erp, active, one demo ERP for all); the clock runs from the first POST until
`GET /integrations` reports every integration running (state running, api_alive, worker_state running).
Then ~10 overview calls are timed, memory is read from /proc (PSS from smaps_rollup, and RSS, over
each instance's process groups), and the manager is stopped, which stops its instances; the script checks
that no instance process is left. The baseline starts N erp-api + erp-worker pairs from this script, one
pair at a time, each waited for (API /alive answering with the worker running) before the next, as the old
system started one `python api.py port workshop` after another. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from _common import progress, run

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

TARGET_READY_S, TARGET_READY_N, TARGET_OVERVIEW_MS = 60.0, 50, 300.0
POSTGRES, SQLITE = "postgres", "sqlite"


def workshop(i: int) -> str:
    return f"Bench Workshop {i:03d}"


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-manager-scale-"))
        self.token = "bench-" + secrets.token_hex(16)
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}."
        self.postgres = reachable(POSTGRES_ADMIN_URL, 5432)
        self.rabbitmq = reachable(RABBITMQ_URL, 5672)
        self.processes: list[ServiceProcess] = []
        self.drops: list = []
        self.slugs: set[str] = set()
        self.erp_url = ""
        self.notes: list[str] = []
        self.failed = False

    # --- shared pieces ------------------------------------------------------------------------------
    def start(self, name: str, argv: list[str], env: dict[str, str]) -> ServiceProcess:
        process = ServiceProcess(name, argv, env, self.tmp).start()
        self.processes.append(process)
        return process

    def database(self, config: str) -> str:
        """A fresh database per run, so no registry row or heartbeat survives from a previous size. For
        `sqlite` this is the manager's registry; each instance then gets a SQLite file of its own."""
        if config != POSTGRES:
            return f"sqlite:///{self.tmp / f'registry-{uuid.uuid4().hex[:6]}.db'}"
        url, drop = create_postgres_database()
        self.drops.append(drop)
        return url

    def broker_env(self, database_url: str) -> dict[str, str]:
        return {"DATABASE_URL": database_url, "AMQP_URL": RABBITMQ_URL if self.rabbitmq else "",
                "HUB_QUEUE_PREFIX": self.prefix, "HUB_LOG_FORMAT": "json", "HUB_LOG_LEVEL": "INFO"}

    # --- the manager --------------------------------------------------------------------------------
    def run_manager(self, n: int, config: str) -> dict:
        first, last = port_range(2 * n + 4)
        data = self.tmp / f"manager-{config}-{n}"
        database_url = self.database(config)
        connections = PgConnections(database_url) if config == POSTGRES else None
        env = {**self.broker_env(database_url), "HUB_API_TOKEN": self.token, "HUB_DATA_DIR": str(data),
               "HUB_PORT_RANGE_START": str(first), "HUB_PORT_RANGE_END": str(last), "HUB_SECRET_KEYS": ""}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        manager = self.start(f"manager-{config}-{n}", ["manager", str(port)], env)
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.token}"
        result: dict = {"n": n, "config": config}
        try:
            manager.wait_http(url + "/alive", timeout=60)
            started = time.perf_counter()
            for i in range(n):
                self.slugs.add(slugify(workshop(i)))
                body = {"kind": "erp", "name": workshop(i), "active": True,
                        "settings": {"adapter": "http", "base_url": self.erp_url}}
                answer = http.post(url + "/integrations", json=body, timeout=30)
                if answer.status_code != 201:
                    raise RuntimeError(f"POST /integrations {i}: {answer.status_code} {answer.text[:300]}")
            result["registered_s"] = time.perf_counter() - started
            result["ready_s"], result["polls"], overview = self.wait_all_ready(http, url, n, started)
            result["overview_ms"] = self.overview_latency(http, url, n)
            groups = {p["pid"] for h in overview for p in h["processes"].values() if p["pid"]}
            cpu = groups_cpu_seconds(groups)
            result["cpu_s"] = cpu / n
            time.sleep(self.args.settle)  # at rest: what N idle integrations cost in CPU
            result["idle_cpu_pct"] = (groups_cpu_seconds(groups) - cpu) / self.args.settle / n * 100
            pss, rss = groups_memory_kib(groups)
            result["pss_kib"], result["rss_kib"] = pss / n, rss / n
            result["manager_rss_kib"] = groups_memory_kib({manager.pid})[1]
            result["restarts"] = sum(h["restarts"] for h in overview)
            if connections:
                result["pg_idle"], result["pg_peak"] = connections.latest, connections.peak
        finally:
            if connections:
                connections.stop()
            stop_started = time.perf_counter()
            manager.stop(timeout=120)
            result["stop_s"] = time.perf_counter() - stop_started
            result["leftovers"] = kill_leftovers(data / "instances")
        if result["leftovers"]:
            self.notes.append(f"N={n}: {len(result['leftovers'])} instance processes outlived the manager "
                              f"(killed): {', '.join(result['leftovers'][:5])}")
        return result

    def wait_all_ready(self, http: requests.Session, url: str, n: int, started: float):
        deadline = started + self.args.ready_timeout
        polls: list[float] = []
        while True:
            t0 = time.perf_counter()
            answer = http.get(url + "/integrations", timeout=60)
            if answer.status_code != 200:
                raise RuntimeError(f"N={n}: GET /integrations answered {answer.status_code}: {answer.text[:300]}")
            overview = answer.json()["integrations"]
            polls.append(time.perf_counter() - t0)
            ready = [h for h in overview if ready_health(h)]
            if len(ready) == n:
                return time.perf_counter() - started, polls, overview
            failed = [h["id"] for h in overview if h["state"] == "failed"]
            if failed or time.perf_counter() > deadline:
                stuck = [f"{h['id']}: {h['state']} api_alive={h['api_alive']} worker={h['worker_state']} "
                         f"{h['last_error'] or ''}" for h in overview if not ready_health(h)]
                raise RuntimeError(f"N={n}: {len(ready)}/{n} ready after {time.perf_counter() - started:.0f} s:\n"
                                   + "\n".join(stuck[:10]))
            time.sleep(self.args.poll_interval)

    def overview_latency(self, http: requests.Session, url: str, n: int) -> list[float]:
        times = []
        for _ in range(self.args.overview_calls):
            t0 = time.perf_counter()
            overview = http.get(url + "/integrations", timeout=60).json()["integrations"]
            times.append((time.perf_counter() - t0) * 1000)
            if sum(ready_health(h) for h in overview) != n:
                self.notes.append(f"N={n}: an overview call during the latency run saw an instance not ready")
            time.sleep(0.2)
        return times

    # --- the baseline -------------------------------------------------------------------------------
    def run_baseline(self, n: int, config: str) -> dict:
        """N erp-api + erp-worker pairs started one after another, each waited for before the next."""
        database_url = self.database(config)
        env = {**self.broker_env(database_url), "HUB_API_TOKEN": self.token, "HUB_ERP_ADAPTER": "http",
               "HUB_ERP_BASE_URL": self.erp_url, "HUB_HOST": "127.0.0.1"}
        pairs: list[ServiceProcess] = []
        started = time.perf_counter()
        try:
            for i in range(n):
                name, api_port, probe_port = workshop(i), free_port(), free_port()
                self.slugs.add(slugify(name))
                data = self.tmp / "baseline" / slugify(name)
                pair_env = {**env, "HUB_DATA_DIR": str(data), "HUB_PROBE_PORT": str(probe_port)}
                if config != POSTGRES:  # as the manager configures its instances: a SQLite file each
                    pair_env["DATABASE_URL"] = f"sqlite:///{data / 'hub.db'}"
                api = self.start(f"baseline-api-{i}", ["erp-api", str(api_port), name], pair_env)
                worker = self.start(f"baseline-worker-{i}", ["erp-worker", name], pair_env)
                pairs += [api, worker]
                wait_pair(api, worker, f"http://127.0.0.1:{api_port}/alive", self.args.ready_timeout)
            return {"n": n, "config": config, "ready_s": time.perf_counter() - started}
        finally:
            for process in pairs:
                process.stop()

    # --- the run ------------------------------------------------------------------------------------
    def run(self) -> dict:
        if not self.rabbitmq:
            self.notes.append("RabbitMQ not reachable: instances use the embedded SQLite queue")
        erp_port = free_port()
        self.erp_url = f"http://127.0.0.1:{erp_port}"
        self.start("demo-erp", ["demo-erp", "--port", str(erp_port)], {}).wait_http(self.erp_url + "/health")
        sizes, runs = sorted(self.args.sizes), []
        config = self.args.database
        if config == "auto":
            config = POSTGRES if self.postgres else SQLITE
            if not self.postgres:
                self.notes.append("PostgreSQL not reachable: registry and instances on SQLite")
        if config == POSTGRES and self.args.database == "auto":
            # PostgreSQL first at the smallest size: it shows how many connections an integration holds,
            # hence whether the larger sizes fit in the server's max_connections.
            progress(f"manager: N={sizes[0]} ({config})")
            try:
                probe = self.run_manager(sizes[0], POSTGRES)
            except RuntimeError as exc:
                probe = None
                self.notes.append(f"PostgreSQL at N={sizes[0]} failed ({str(exc).splitlines()[0]}); every size "
                                  "was measured with SQLite and RabbitMQ")
                config = SQLITE
            if probe:
                runs.append(probe)
                per_integration = probe["pg_peak"] / sizes[0]
                fits = pg_capacity(per_integration)
                if fits < sizes[-1]:
                    self.notes.append(
                        f"PostgreSQL: an integration holds {per_integration:.1f} connections at start "
                        f"({probe['pg_idle'] / sizes[0]:.1f} idle, the manager's included); with max_connections "
                        f"{pg_setting('max_connections')} and the connections in use now, about {fits} integrations "
                        "fit on this server, so every size was measured with SQLite (the manager's registry, and "
                        "one file per instance) and RabbitMQ")
                    config = SQLITE
                else:
                    sizes = sizes[1:]
        for n in sizes:
            progress(f"manager: N={n} ({config})")
            runs.append(self.run_manager(n, config))
        largest = max(self.args.sizes)
        baseline_n = min(self.args.baseline_n or largest, largest)
        progress(f"baseline: N={baseline_n}, sequential ({config})")
        return {"manager": runs, "baseline": self.run_baseline(baseline_n, config), "config": config}

    def cleanup(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as exc:  # noqa: BLE001 - clean up the rest whatever happens
                print(f"stopping {process.name}: {exc}", file=sys.stderr)
        if self.rabbitmq and self.slugs:
            try:
                delete_queues(RABBITMQ_URL, [self.prefix + f"erp.{slug}" for slug in sorted(self.slugs)])
            except Exception as exc:  # noqa: BLE001
                print(f"could not delete the bench queues {self.prefix}*: {exc}", file=sys.stderr)
        for drop in self.drops:
            try:
                drop()
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop a bench database: {exc}", file=sys.stderr)
        if self.failed or self.args.keep_logs:
            print(f"logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --- helpers ----------------------------------------------------------------------------------------
class PgConnections:
    """Counts the server connections to one database (the manager's and all its instances'), sampled every
    0.1 s by a thread from the manager's start until `stop`."""

    def __init__(self, database_url: str):
        self.name = database_url.rsplit("/", 1)[1]
        self.peak = self.latest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-connections", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            while not self._stop.wait(0.1):
                self.latest = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                            (self.name,)).fetchone()[0]
                self.peak = max(self.peak, self.latest)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def pg_setting(name: str) -> int:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        return int(conn.execute(f"SHOW {name}").fetchone()[0])


def pg_capacity(per_integration: float) -> int:
    """How many integrations the server's free connections allow, at `per_integration` connections each."""
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        in_use = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        in_use = in_use.fetchone()[0]
    free = pg_setting("max_connections") - pg_setting("superuser_reserved_connections") - in_use - 5
    return int(free // max(per_integration, 0.1))


def ready_health(h: dict) -> bool:
    return h["state"] == "running" and h["api_alive"] and h["worker_state"] == "running"


def port_range(count: int) -> tuple[int, int]:
    """`count` consecutive ports in 20000-32000, all free now (the manager hands them out without probing).
    Below Linux's ephemeral range (32768-60999), so no outgoing connection takes one meanwhile."""
    for _ in range(100):
        start = random.randrange(20000, 32000 - count)
        if all(_bindable(p) for p in range(start, start + count)):
            return start, start + count - 1
    raise RuntimeError(f"no {count} consecutive free ports found")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_pair(api: ServiceProcess, worker: ServiceProcess, alive_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in (api, worker):
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.log()[-2000:]}")
        try:
            if requests.get(alive_url, timeout=2).json()["worker"]["state"] == "running":
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{api.name} + {worker.name} not ready in {timeout} s")


def _group_members(pgids: set[int]):
    """The /proc entries of every live process in these process groups, with its stat fields."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) in pgids:
            yield entry, fields


def groups_memory_kib(pgids: set[int]) -> tuple[int, int]:
    """(PSS, RSS) in KiB summed over every process of these process groups (gunicorn master + workers...)."""
    pss = rss = 0
    for entry, _ in _group_members(pgids):
        try:
            with open(f"/proc/{entry}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            continue
    return pss, rss


def groups_cpu_seconds(pgids: set[int]) -> float:
    """User + system CPU time of the live processes of these process groups."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _group_members(pgids))  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def kill_leftovers(instances_dir: Path) -> list[str]:
    """Processes still working in an instance folder (the manager's instances run there): killed, listed."""
    root = str(instances_dir.resolve())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            if cwd == root or cwd.startswith(root + "/"):
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                found.append(f"pid {entry} {cmdline[:60]}")
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            continue
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q) - 1]


# --- report -----------------------------------------------------------------------------------------
CONFIGS = {POSTGRES: "PostgreSQL + RabbitMQ", SQLITE: "SQLite + RabbitMQ"}


def report(results: dict, bench: Bench) -> str:
    config, base = results["config"], results["baseline"]
    runs = results["manager"]
    largest = max((r for r in runs if r["config"] == config), key=lambda r: r["n"])
    per_instance = base["ready_s"] / base["n"]
    extrapolated = base["n"] < largest["n"]
    base_s = per_instance * largest["n"]
    queue = "RabbitMQ" if bench.rabbitmq else "embedded queue"
    header = ["N", "database", "POSTs [s]", "all ready [s]", "overview while starting, max [s]",
              "overview p50/p95 [ms]", "CPU per start [s]", "idle CPU per integration [%]",
              "PSS/RSS per integration [MiB]", "manager RSS [MiB]",
              "PG conns peak/idle", "stop all [s]", "restarts"]
    rows = [[str(r["n"]), "PostgreSQL" if r["config"] == POSTGRES else "SQLite", f"{r['registered_s']:.2f}",
             f"{r['ready_s']:.1f}", f"{max(r['polls']):.1f}",
             f"{percentile(r['overview_ms'], 50):.0f}/{percentile(r['overview_ms'], 95):.0f}", f"{r['cpu_s']:.2f}",
             f"{r['idle_cpu_pct']:.1f}",
             f"{r['pss_kib'] / 1024:.1f}/{r['rss_kib'] / 1024:.1f}", f"{r['manager_rss_kib'] / 1024:.0f}",
             f"{r['pg_peak']}/{r['pg_idle']}" if "pg_peak" in r else "-", f"{r['stop_s']:.1f}", str(r["restarts"])]
            for r in runs]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = [
        f"manager_scale on {os.cpu_count()} CPUs ({queue}): N ERP integrations (erp-api + erp-worker each) "
        "registered active with POST /integrations to one manager, one demo ERP for all",
        "all ready: from the first POST until GET /integrations shows every one running, API alive and worker "
        f"running (polled every {bench.args.poll_interval:g} s); overview: {bench.args.overview_calls} calls "
        "once all are up; memory: the instances' process groups, from /proc/<pid>/smaps_rollup",
        "",
        "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)),
        *("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows),
        "",
        f"baseline ({CONFIGS[config] if bench.rabbitmq else config}; the old way: pairs started one after another "
        f"from this script, each waited for): N={base['n']} all ready in {base['ready_s']:.1f} s "
        f"({per_instance:.2f} s per integration)"
        + (f"; extrapolated linearly to N={largest['n']}: {base_s:.1f} s" if extrapolated else ""),
    ]
    cores = os.cpu_count() or 1
    lines.append(f"starting is CPU-bound: {largest['cpu_s']:.2f} CPU s per integration (its processes' user + "
                 f"system time once ready), so N={largest['n']} on {cores} CPUs takes at least "
                 f"{largest['cpu_s'] * largest['n'] / cores:.1f} s whoever starts them")
    p95 = percentile(largest["overview_ms"], 95)
    for r in runs:
        if r["n"] >= TARGET_READY_N:
            verdict = "met" if r["ready_s"] < TARGET_READY_S else "MISSED"
            lines.append(f"target: {TARGET_READY_N} ready in < {TARGET_READY_S:.0f} s: {verdict} "
                         f"(N={r['n']}, {r['config']}: {r['ready_s']:.1f} s)")
    verdict = "met" if p95 < TARGET_OVERVIEW_MS else "MISSED"
    lines.append(f"target: overview < {TARGET_OVERVIEW_MS:.0f} ms: {verdict} (p95 {p95:.0f} ms at N={largest['n']})")
    lines += [f"note: {n}" for n in bench.notes]
    ratio = base_s / largest["ready_s"]
    lines.append(f"manager_scale: ratio {ratio:.2f} (N={largest['n']}: all ready in {largest['ready_s']:.1f} s vs "
                 f"sequential {base_s:.1f} s; overview p95 {p95:.1f} ms; "
                 f"{largest['pss_kib'] / 1024:.1f} MiB per integration)")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,25,50", help="numbers of integrations, comma-separated")
    parser.add_argument("--baseline-n", type=int, default=0,
                        help="integrations started sequentially for the baseline (default 0: the largest size); "
                             "extrapolated linearly to the largest size when smaller")
    parser.add_argument("--database", choices=["auto", POSTGRES, SQLITE], default="auto",
                        help="where the registry and the instances keep their data; auto: PostgreSQL when it is "
                             "reachable and has connections enough for the largest size, else SQLite")
    parser.add_argument("--overview-calls", type=int, default=10, help="timed GET /integrations once all are up")
    parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds between readiness polls")
    parser.add_argument("--ready-timeout", type=float, default=180.0, help="give up waiting for readiness")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds of rest over which idle CPU is measured, before reading memory")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes numbers, e.g. 10,25,50")
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--sizes needs at least one positive number")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    return run(bench, lambda results: report(results, bench))


if __name__ == "__main__":
    sys.exit(main())
