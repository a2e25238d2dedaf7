"""erp_browser: orders carried into the demo ERP through its web pages by the hub's warm browser session
(`erp-worker` with HUB_ERP_ADAPTER=selenium-demo), beside what the old scripts did (a new Chromium and a
new login per order, a plain Selenium script) run in the same script.

    .venv/bin/python bench/erp_browser.py            # or: make bench B=erp_browser
    .venv/bin/python bench/erp_browser.py --quick    # a smoke run with a few orders per figure

Figures (see bench/README.md): end-to-end seconds per order (POST /create until the status reads
`created`) for orders posted one after another, throughput for orders posted all at once, the same orders
through the new-browser-per-order baseline, and the peak memory of the worker with its browser. The hub runs
on PostgreSQL + RabbitMQ in its own database, queue prefix and temporary directory, all removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests
from _common import group_cpu_seconds, progress, reset_erp, run
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from erp_worker.browser import CHROMEDRIVER, CHROMIUM, FLAGS, browser_installed, tree_rss
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

WORKSHOP = "Bench Browser"
WORKSHEETS = [str(n) for n in range(560, 570)]
PRODUCT, USERNAME, PASSWORD = "10", "admin", "gygag"
MIB = 2**20


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-erp-browser-"))
        self.token = "bench-" + secrets.token_hex(16)
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}."
        self.processes: list[ServiceProcess] = []
        self.drop_database = None
        self.database_url = ""
        self.erp_url = self.api_url = self.probe_url = ""
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.notes: list[str] = []
        self.failed = False

    # --- processes ----------------------------------------------------------------------------------
    def start(self, name: str, argv: list[str], env: dict[str, str], ready_url: str) -> ServiceProcess:
        process = ServiceProcess(name, argv, {"HUB_API_TOKEN": self.token, **env}, self.tmp).start()
        self.processes.append(process)
        if ready_url:
            process.wait_http(ready_url, timeout=60)
        return process

    def hub_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "AMQP_URL": RABBITMQ_URL,
            "HUB_QUEUE_PREFIX": self.prefix,
            "HUB_DATA_DIR": str(self.tmp / "data"),
            "HUB_ERP_BASE_URL": self.erp_url,
            "HUB_ERP_ADAPTER": "selenium-demo",
            "HUB_LOG_FORMAT": "json",
            "HUB_LOG_LEVEL": "INFO",
        }

    def start_hub(self) -> tuple[ServiceProcess, ServiceProcess]:
        erp_port, api_port, probe_port = free_port(), free_port(), free_port()
        self.erp_url = f"http://127.0.0.1:{erp_port}"
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.probe_url = f"http://127.0.0.1:{probe_port}"
        self.start("demo-erp", ["demo-erp", "--port", str(erp_port)], {}, self.erp_url + "/health")
        api = self.start("erp-api", ["erp-api", str(api_port), WORKSHOP], self.hub_env(), self.api_url + "/alive")
        worker = self.start("erp-worker", ["erp-worker", WORKSHOP],
                            {**self.hub_env(), "HUB_PROBE_PORT": str(probe_port)}, self.probe_url + "/alive")
        deadline = time.monotonic() + 30
        while self.http.get(self.api_url + "/alive", timeout=5).json()["worker"]["state"] != "running":
            if time.monotonic() > deadline:
                raise RuntimeError("the erp-worker did not report running within 30 s")
            time.sleep(0.1)
        return api, worker

    # --- the hub ------------------------------------------------------------------------------------
    def order(self, tag: str, i: int) -> dict:
        return {"workshop": WORKSHOP, "worksheet": WORKSHEETS[i % len(WORKSHEETS)], "product_nr": PRODUCT,
                "product_amount": "1", "uniqueid": f"{tag}-{uuid.uuid4().hex[:8]}-{i}",
                "username": USERNAME, "password": PASSWORD}

    def post(self, order: dict, session: requests.Session | None = None) -> None:
        answer = (session or self.http).post(self.api_url + "/create", json=order, timeout=10)
        if answer.status_code != 200:
            raise RuntimeError(f"POST /create answered {answer.status_code}: {answer.text[:300]}")

    def wait_created(self, uniqueid: str) -> float:
        """Poll the order's status until it is `created`; returns time.perf_counter() when seen."""
        deadline = time.monotonic() + self.args.order_timeout
        while True:
            status = self.http.get(self.api_url + "/get_order_status", params={"uniqueid": uniqueid},
                                   timeout=10).json()
            if status.get("status") == "created":
                return time.perf_counter()
            if status.get("status") in ("error", "cancelled"):
                raise RuntimeError(f"order {uniqueid} ended {status.get('status')}: {status}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"order {uniqueid} not created after {self.args.order_timeout:g} s: {status}")
            time.sleep(self.args.poll)

    def one_by_one(self, orders: list[dict]) -> list[dict]:
        """Post, wait until created, post the next. Wall-clock stamps kept to line up with the logs."""
        timings = []
        for order in orders:
            posted_at, started = time.time(), time.perf_counter()
            self.post(order)
            seconds = self.wait_created(order["uniqueid"]) - started
            timings.append({"uniqueid": order["uniqueid"], "posted_at": posted_at, "seconds": seconds,
                            "seen_at": posted_at + seconds})
        return timings

    def all_at_once(self, orders: list[dict]) -> dict:
        """Post every order at once (8 connections), then wait until all are created. One worker takes them
        in order, so waiting for each in turn costs one poll per order."""
        local = threading.local()

        def post(order: dict) -> None:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.headers["Authorization"] = f"Bearer {self.token}"
            self.post(order, local.session)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(post, orders))
        posted = time.perf_counter() - started
        finished = max(self.wait_created(order["uniqueid"]) for order in orders)
        elapsed = finished - started
        return {"n": len(orders), "posted_s": posted, "seconds": elapsed, "rate": len(orders) / elapsed}

    # --- the run ------------------------------------------------------------------------------------
    def run(self) -> dict:
        a = self.args
        if not (reachable(POSTGRES_ADMIN_URL, 5432) and reachable(RABBITMQ_URL, 5672)):
            raise SystemExit("erp_browser needs PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672")
        if not browser_installed():
            raise SystemExit(f"erp_browser needs {CHROMIUM} and {CHROMEDRIVER}")
        self.database_url, self.drop_database = create_postgres_database()
        results: dict = {}

        progress("starting demo-erp, erp-api and erp-worker (selenium-demo) on PostgreSQL + RabbitMQ")
        _api, worker = self.start_hub()
        sampler = MemorySampler(worker.pid, a.sample_interval)

        # the first order starts the browser and logs in: shown, not counted
        progress("warm-up order (browser start + login)")
        first = self.one_by_one([self.order("first", 0)])[0]
        results["first_s"] = first["seconds"]

        sampler.start()
        progress(f"warm session: {a.orders} orders one after another")
        reset_erp(self.erp_url)
        orders = [self.order("seq", i) for i in range(a.orders)]
        cpu = CpuWatch(self.processes)
        results["seq"] = self.one_by_one(orders)
        results["cpu_seq"] = cpu.result()
        results["seq_erp"] = erp_counters(self.erp_url)

        progress(f"warm session: {a.burst} orders posted at once")
        reset_erp(self.erp_url)
        cpu = CpuWatch(self.processes)
        results["burst"] = self.all_at_once([self.order("burst", i) for i in range(a.burst)])
        results["cpu_burst"] = cpu.result()
        results["burst_erp"] = erp_counters(self.erp_url)
        sampler.stop()
        results["memory"] = sampler.result()
        results["worker_metrics"] = probe_metrics(self.probe_url)
        results["worker_warnings"] = warnings_in(self.tmp / "erp-worker.log")
        results["breakdown"] = breakdown(results["seq"], self.tmp / "erp-api.log", self.tmp / "erp-worker.log",
                                         self.tmp / "demo-erp.log")
        worker.stop()  # its browser goes with it: the baseline gets the machine to itself

        progress(f"baseline: {a.baseline_orders} orders, a new browser and a new login each")
        reset_erp(self.erp_url)
        baseline_orders = (orders * (a.baseline_orders // max(1, len(orders)) + 1))[:a.baseline_orders]
        cpu = CpuWatch(self.processes, children=False)
        results["base"] = run_baseline(self.erp_url, baseline_orders, self.tmp)
        results["cpu_base"] = cpu.result(extra_mine=results["base"]["browser_cpu"])
        results["base_erp"] = erp_counters(self.erp_url)
        return results

    def cleanup(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as exc:  # noqa: BLE001 - clean up the rest whatever happens
                print(f"stopping {process.name}: {exc}", file=sys.stderr)
        if self.drop_database:
            try:
                delete_queues(RABBITMQ_URL, [self.prefix + f"erp.{slugify(WORKSHOP)}"])
            except Exception as exc:  # noqa: BLE001
                print(f"could not delete the bench queues {self.prefix}*: {exc}", file=sys.stderr)
            try:
                self.drop_database()
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop {self.database_url}: {exc}", file=sys.stderr)
        if self.failed or self.args.keep_logs:
            print(f"logs kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --- the baseline: a new browser and a new login per order ----------------------------------------------
def baseline_order(erp_url: str, order: dict, profile_root: Path, timeout: float = 30) -> dict[str, float]:
    """What the old scripts did for every order: start Chromium (the worker's flags, the system
    chromedriver), log in, open the add-line form, save, wait for the flash, quit. Returns the seconds of
    each phase; "saved" is from start to line saved (quitting the browser not included)."""
    started = time.perf_counter()
    profile = tempfile.mkdtemp(prefix="chromium-", dir=profile_root)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        up = time.perf_counter()
        wait = WebDriverWait(driver, timeout, poll_frequency=0.05)
        driver.get(erp_url + "/login")
        wait.until(ec.presence_of_element_located((By.ID, "username"))).send_keys(order["username"])
        login_page = time.perf_counter()
        driver.find_element(By.ID, "password").send_keys(order["password"])
        driver.find_element(By.ID, "login-button").click()
        wait.until(ec.presence_of_element_located((By.ID, "current-user")))
        logged_in = time.perf_counter()
        driver.get(f"{erp_url}/worksheets/{order['worksheet']}/lines/new")
        wait.until(ec.presence_of_element_located((By.ID, "product-nr"))).send_keys(order["product_nr"])
        driver.find_element(By.ID, "quantity").send_keys(order["product_amount"])
        driver.find_element(By.ID, "reference").send_keys(order["uniqueid"])
        driver.find_element(By.ID, "save-line").click()
        wait.until(ec.presence_of_element_located((By.ID, "flash")))
        saved = time.perf_counter()
        cpu = tree_cpu_seconds(driver.service.process.pid)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return {"saved": saved - started, "start": up - started, "first_page": login_page - up,
            "login": logged_in - login_page, "add_line": saved - logged_in, "quit": time.perf_counter() - saved,
            "cpu": cpu}


def run_baseline(erp_url: str, orders: list[dict], tmp: Path) -> dict:
    """A simple loop over the orders, one browser each."""
    phases, started = [], time.perf_counter()
    for order in orders:
        phases.append(baseline_order(erp_url, order, tmp))
    return {"seconds": [p["saved"] for p in phases], "wall_per_order": (time.perf_counter() - started) / len(orders),
            "phases": {k: statistics.median(p[k] for p in phases) for k in phases[0] if k != "cpu"},
            "browser_cpu": sum(p["cpu"] for p in phases),
            "slow_first_page": sum(p["first_page"] > 3 for p in phases)}


# --- memory -----------------------------------------------------------------------------------------------
class MemorySampler:
    """PSS of the worker and every process below it (chromedriver, chromium and its helpers), every
    `interval` seconds, with `erp_worker.browser.tree_rss`; also how long one measurement takes."""

    def __init__(self, pid: int, interval: float):
        self.pid, self.interval = pid, interval
        self.samples: list[int] = []
        self.cpu: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.thread_time()
            self.samples.append(tree_rss(self.pid))
            self.cpu.append(time.thread_time() - started)
            self._stop.wait(self.interval)

    def result(self) -> dict:
        return {"peak": max(self.samples, default=0), "samples": len(self.samples),
                "median": statistics.median(self.samples) if self.samples else 0,
                "cpu_ms": 1000 * statistics.mean(self.cpu) if self.cpu else 0.0,
                "worker_pss": _pss(self.pid)}


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class CpuWatch:
    """The machine's CPU use over a phase, and how much of it was outside this benchmark (its own process,
    its children, and the process groups it started): a figure taken while other work shares the CPUs is
    slower than the machine can do."""

    def __init__(self, processes: list[ServiceProcess], children: bool = True):
        self.pgids = [p.pid for p in processes if p.alive()]
        self.children = children
        self.started, self.busy, self.mine = time.monotonic(), _machine_busy_seconds(), self._mine()

    def _mine(self) -> float:
        own = os.times()
        return (own.user + own.system + (own.children_user + own.children_system if self.children else 0.0)
                + sum(group_cpu_seconds(pgid) for pgid in self.pgids))

    def result(self, extra_mine: float = 0.0) -> dict[str, float]:
        """`extra_mine`: CPU of processes of ours that were not reaped by us (the baseline's browsers: chromium
        outlives chromedriver for a moment and goes to init), counted instead of our children's."""
        capacity = (time.monotonic() - self.started) * (os.cpu_count() or 1)
        busy, mine = _machine_busy_seconds() - self.busy, self._mine() - self.mine + extra_mine
        return {"busy_pct": 100 * busy / capacity, "others_pct": 100 * max(0.0, busy - mine) / capacity}


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process tree, with what its members' reaped children used."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            pid = int(status.parent.name)
            children.setdefault(int(fields[1]), []).append(pid)
            cpu[pid] = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- where the time goes: the processes' own logs -----------------------------------------------------------
_ACCESS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \S+ demo_erp\.access: (\S+) (\S+) (\d+) ([\d.]+)ms")


def _json_events(path: Path, messages: tuple[str, ...]) -> dict[tuple[str, str], float]:
    """(uniqueid, message) -> wall-clock time of the first such line in a JSON log."""
    events: dict[tuple[str, str], float] = {}
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        msg = entry.get("msg") or ""  # the API says "POST /create 200: order accepted" on its access line
        key = (entry.get("uniqueid"), next((m for m in messages if msg == m or msg.endswith(": " + m)), None))
        if key[1] is not None and key not in events:
            events[key] = datetime.fromisoformat(entry["ts"]).timestamp()
    return events


def _erp_requests(path: Path) -> list[tuple[float, str]]:
    """(end time, "METHOD /path" with worksheet numbers as <n>) from the demo ERP's access log."""
    requests_seen = []
    for line in path.read_text(errors="replace").splitlines():
        match = _ACCESS.match(line)
        if match:
            at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            path = re.sub(r"/\d+", "/<n>", match[3])
            requests_seen.append((at, f"{match[2]} {path} {match[4]}"))
    return requests_seen


def breakdown(timings: list[dict], api_log: Path, worker_log: Path, erp_log: Path) -> dict:
    """Per order of the one-by-one run: post -> accepted (API log) -> picked up ("processing", worker log)
    -> handler done ("task done") -> status seen by the poll; and the ERP requests the browser made during
    the handler, as offsets from "processing" (medians over the orders)."""
    api = _json_events(api_log, ("order accepted",))
    worker = _json_events(worker_log, ("processing (attempt 1)", "task done"))
    erp = _erp_requests(erp_log)
    phases: dict[str, list[float]] = {"post -> accepted (API)": [], "accepted -> worker picks it up": [],
                                      "handler (browser work + ERP)": [], "handler done -> status seen": []}
    steps: dict[tuple[int, str], list[float]] = {}
    for t in timings:
        uid = t["uniqueid"]
        accepted, picked = api.get((uid, "order accepted")), worker.get((uid, "processing (attempt 1)"))
        done = worker.get((uid, "task done"))
        if None in (accepted, picked, done):
            continue
        phases["post -> accepted (API)"].append(accepted - t["posted_at"])
        phases["accepted -> worker picks it up"].append(picked - accepted)
        phases["handler (browser work + ERP)"].append(done - picked)
        phases["handler done -> status seen"].append(t["seen_at"] - done)
        inside = [(at, what) for at, what in erp if picked <= at <= done]
        for index, (at, what) in enumerate(inside):
            steps.setdefault((index, what), []).append(at - picked)
    orders = len(phases["handler (browser work + ERP)"])
    common = sorted(((i, w), v) for (i, w), v in steps.items() if len(v) >= max(1, orders // 2))
    return {"orders": orders, "phases": {k: statistics.median(v) for k, v in phases.items() if v},
            "erp_steps": [(what, statistics.median(v), len(v)) for (_i, what), v in common]}


def warnings_in(path: Path) -> dict[str, int]:
    """WARNING and ERROR lines of a JSON log, counted by message (retries show up here)."""
    counts: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            message = re.sub(r"\d+(\.\d+)?s", "Ns", str(entry.get("msg")))[:160]
            counts[message] = counts.get(message, 0) + 1
    return counts


# --- helpers ------------------------------------------------------------------------------------------------
def erp_counters(erp_url: str) -> dict:
    return requests.get(erp_url + "/_sim/state", timeout=10).json()["counters"]


def probe_metrics(probe_url: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    text = requests.get(probe_url + "/metrics", timeout=10).text
    for name, value in re.findall(r"^(hub_browser_\w+?)(?:_total)?(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M):
        totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- report -------------------------------------------------------------------------------------------------
def report(results: dict, args: argparse.Namespace, notes: list[str]) -> str:
    seq = [t["seconds"] for t in results["seq"]]
    base = results["base"]["seconds"]
    warm, baseline = statistics.mean(seq), statistics.mean(base)
    burst, memory, metrics = results["burst"], results["memory"], results["worker_metrics"]
    phases = results["base"]["phases"]
    ratio = baseline / warm
    peak_mib = memory["peak"] / MIB

    def stats(values: list[float]) -> str:
        return (f"mean {statistics.mean(values):.3f}  p50 {percentile(values, 0.5):.3f}  "
                f"p95 {percentile(values, 0.95):.3f}  max {max(values):.3f}")

    lines = [
        "erp_browser: order lines created through the demo ERP's web pages (headless Chromium "
        f"{' '.join(f for f in FLAGS if f.startswith('--headless'))}), on {os.cpu_count()} CPUs",
        "hub: erp-api + one erp-worker (HUB_ERP_ADAPTER=selenium-demo) on PostgreSQL + RabbitMQ; warm browser, "
        "logged in once",
        "baseline: a plain Selenium script per order, no hub: new Chromium (same flags, system chromedriver), "
        "log in, add the line, wait for the flash, quit",
        "",
        f"first hub order (browser start + login), not counted      {results['first_s']:.3f} s",
        f"1 warm, one after another, N={len(seq)}, POST -> created [s]  {stats(seq)}",
        f"    target < 1 s/order: {'met' if warm < 1 else 'NOT met'}; ERP logins during the run: "
        f"{results['seq_erp'].get('ui_logins', 0)}, lines: {results['seq_erp'].get('ui_lines_created', 0)}",
        f"  warm, N={burst['n']} posted at once (posting took {burst['posted_s']:.2f} s)       "
        f"{burst['rate']:.2f} orders/s = {burst['seconds'] / burst['n']:.3f} s/order "
        f"({burst['seconds']:.1f} s in all; ERP logins {results['burst_erp'].get('ui_logins', 0)})",
        f"2 baseline, new browser + login per order, N={len(base)} [s]   {stats(base)}",
        f"    incl. quitting the browser: {results['base']['wall_per_order']:.3f} s/order; ERP logins "
        f"{results['base_erp'].get('ui_logins', 0)}, lines {results['base_erp'].get('ui_lines_created', 0)}",
        "    phases, medians [s]: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in phases.items()
                                               if k != "saved"),
        f"    {results['base']['slow_first_page']} of {len(base)} fresh browsers took > 3 s for the first page "
        "(chromium's first tab still navigating; chromedriver waits for it)",
        f"3 peak worker+browser PSS (tree_rss of the worker pid)   {peak_mib:.1f} MiB "
        f"(median {memory['median'] / MIB:.1f} MiB; {memory['samples']} samples every {args.sample_interval:g} s; "
        f"worker process alone {memory['worker_pss'] / MIB:.1f} MiB; one tree_rss() {memory['cpu_ms']:.0f} ms CPU)",
        f"    worker /metrics: hub_browser_rss_bytes {metrics.get('hub_browser_rss_bytes', 0) / MIB:.1f} MiB "
        f"(browser only, after the last order), hub_browser_starts {metrics.get('hub_browser_starts', 0):.0f}",
        f"ratio baseline / warm s per order: {ratio:.2f} (target >= 4: {'met' if ratio >= 4 else 'NOT met'}); "
        f"ratio of the medians {statistics.median(base) / statistics.median(seq):.2f}",
    ]
    b = results["breakdown"]
    if b["orders"]:
        lines += ["", f"where a warm order's time goes (medians over {b['orders']} one-by-one orders, from the "
                  "API/worker JSON logs and the demo ERP's access log):"]
        lines += [f"    {name:<38} {seconds * 1000:7.0f} ms" for name, seconds in b["phases"].items()]
        lines.append("    ERP requests during the handler (end time after \"processing\"):")
        lines += [f"      +{offset * 1000:5.0f} ms  {what}" + ("" if n == b["orders"] else f"  ({n} orders)")
                  for what, offset, n in b["erp_steps"]]
    lines.append("")
    notes.insert(0, "CPU in use on the machine during 1 one-by-one / 1 at once / 2 baseline: " + " / ".join(
        f"{results[k]['busy_pct']:.0f} %" for k in ("cpu_seq", "cpu_burst", "cpu_base"))
        + f" of {os.cpu_count()} CPUs, of which outside this benchmark's processes " + " / ".join(
        f"{results[k]['others_pct']:.0f} %" for k in ("cpu_seq", "cpu_burst", "cpu_base")))
    for message, count in results["worker_warnings"].items():
        notes.append(f"erp-worker logged {count} x: {message}")
    lines += [f"note: {n}" for n in notes]
    lines.append(
        f"erp_browser: ratio {ratio:.2f} (warm {warm:.3f} s/order vs new-browser-per-order baseline "
        f"{baseline:.3f} s/order; peak worker+browser {peak_mib:.1f} MiB)")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=30, help="warm: orders posted one after another")
    parser.add_argument("--burst", type=int, default=30, help="warm: orders posted at once")
    parser.add_argument("--baseline-orders", type=int, default=20, help="baseline: orders, one browser each")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between status polls")
    parser.add_argument("--sample-interval", type=float, default=0.2, help="seconds between memory samples")
    parser.add_argument("--order-timeout", type=float, default=60.0, help="give up on an order after this")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 orders per figure")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.burst, args.baseline_orders = 5, 5, 3
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    return run(bench, lambda results: report(results, args, bench.notes))


if __name__ == "__main__":
    sys.exit(main())
