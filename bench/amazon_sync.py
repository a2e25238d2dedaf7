"""`amazon_sync`: the hub's SP-API client syncing about 2,000 orders with their items beside a common tap.

Orders v0 (getOrders pages, then one getOrderItems per order) from the SP-API simulator at Amazon's default
usage plans, its clock running `--speed` times faster (the client given the same `time_speed`), beside a
baseline as common taps do it (plain `requests`, a fixed 1 s sleep between calls, a fixed 5 s backoff on a
429), and the same range by the orders flat-file report (bulk backfill). Every system starts on full buckets
(`/_sim/reset`); their rows are compared. Ends with
`amazon_sync: ratio X (budget used P%, 429s N, backfill speed-up B)`."""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import requests

# This script has the package's name: run, its folder comes first on the path, and `import amazon_sync`
# would import the script. The package is meant: the folder goes last (still there for `_common`).
sys.path.sort(key=lambda entry: Path(entry or ".").resolve() == Path(__file__).resolve().parent)

from _common import progress

from amazon_sync.kind import AmazonCredentials, AmazonSettings
from amazon_sync.spapi import SpApiClient
from amazon_sync.spapi.flat_files import decode, order_rows
from amazon_sync.spapi.limits import USAGE_PLANS, RateLimiter
from amazon_sync.spapi.lwa import AccessTokens
from hub_runtime.testing.services import serving
from simulators.spapi.accounts import DEMO_APP_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DEMO_SELLER_ID
from simulators.spapi.app import create_app as create_sim
from simulators.spapi.context import EXTENSION_KEY

DE = "A1PA6795UKMFR9"  # Amazon.de: the demo seller's busiest marketplace
SEED, SELLER_ORDERS = 1, 10_000  # 10,000 orders over 90 days, about 29 % of them on Amazon.de
DAYS, QUICK_DAYS = 62, 8  # ending 1 h before the simulator's start: 2,009 and 266 orders on Amazon.de (seed 1)
ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
CREDENTIALS = AmazonCredentials(lwa_app_id=DEMO_APP_ID, lwa_client_secret=DEMO_CLIENT_SECRET,
                                refresh_token=DEMO_REFRESH_TOKEN)
SPEED = 100.0  # faster makes every request's few wall ms a slow simulated round trip, which slows the baseline
BASELINE_SLEEP, BASELINE_BACKOFF = 1.0, 5.0  # simulated seconds
BASELINE_MAX_TRIES = 200  # of one call, before the baseline gives up
ITEMS = "getOrderItems"
PLAN = USAGE_PLANS[ITEMS]  # 0.5/s, burst 30

Row = tuple[str, str, int, str]  # order id, seller SKU, quantity, item price ("" while Amazon shows none)


def operation(method: str, path: str) -> str:
    """The SP-API operation a request is (for the per-call record), by its method and path."""
    if path.startswith("/auth/"):
        return "lwa"
    if path.startswith("/_documents/"):
        return "download"
    if path.endswith("/orderItems"):
        return ITEMS
    if path == "/orders/v0/orders":
        return "getOrders"
    if path.startswith("/reports/2021-06-30/documents/"):
        return "getReportDocument"
    if path.startswith("/reports/2021-06-30/reports"):
        return "createReport" if method == "POST" else "getReport"
    return path


@dataclass
class Run:
    """One system's run: its rows, simulated and wall seconds, every HTTP answer (simulated time of the
    answer, operation, status), the simulator's per-operation counters, and the client's own 429 count."""

    system: str
    rows: list[Row] = field(default_factory=list)
    orders: int = 0
    sim_seconds: float = 0.0
    wall_seconds: float = 0.0
    answers: list[tuple[float, str, int]] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)  # simulated seconds per SP-API request
    sim_operations: dict = field(default_factory=dict)
    client_429s: int | None = None

    def ok(self, name: str) -> list[float]:
        return [at for at, op, status in self.answers if op == name and 200 <= status < 300]

    @property
    def sim_429s(self) -> int:
        return sum(counts["throttled"] for counts in self.sim_operations.values())

    def budget(self) -> tuple[int, float, float, float]:
        """getOrderItems: successful calls, seconds from the first to the last, calls/s over them, and the
        budget used: (calls - burst) / (seconds x rate), the burst being what the full bucket gave at once."""
        times = self.ok(ITEMS)
        if len(times) < 2:
            return len(times), 0.0, 0.0, 0.0
        span = times[-1] - times[0]
        return len(times), span, len(times) / span, (len(times) - PLAN.burst) / (span * PLAN.rate)

    def checksum(self) -> str:
        text = "\n".join("\t".join(map(str, row)) for row in sorted(self.rows))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def price(amount) -> str:
    return "" if amount in (None, "") else f"{Decimal(amount):.2f}"


class Bench:
    def __init__(self, url: str, app, args):
        self.url = url
        self.ctx = app.extensions[EXTENSION_KEY]
        self.speed = args.speed
        anchor = self.ctx.stores[DEMO_SELLER_ID].anchor  # the simulator's start, whole seconds
        self.end = datetime.fromtimestamp(anchor - 3600, UTC)
        self.start = self.end - timedelta(days=args.days)

    def reset(self) -> None:
        requests.post(self.url + "/_sim/reset", json={}, timeout=10).raise_for_status()

    def session(self, run: Run) -> requests.Session:
        """A session recording each answer with the simulator's clock as it arrives."""
        session = requests.Session()

        def record(response, *args, **kwargs):
            path = requests.utils.urlparse(response.request.url).path
            name = operation(response.request.method, path)
            run.answers.append((self.ctx.clock.now(), name, response.status_code))
            if name in (ITEMS, "getOrders"):
                run.round_trips.append(response.elapsed.total_seconds() * self.speed)

        session.hooks["response"].append(record)
        return session

    def measure(self, system: str, work) -> Run:
        self.reset()
        run = Run(system)
        session = self.session(run)
        wall, started = time.monotonic(), self.ctx.clock.now()
        work(run, session)
        run.sim_seconds = self.ctx.clock.now() - started
        run.wall_seconds = time.monotonic() - wall
        session.close()
        run.sim_operations = requests.get(self.url + "/_sim/state", timeout=10).json()["operations"]
        return run

    def client(self, session: requests.Session) -> SpApiClient:
        settings = AmazonSettings(api_url=self.url, lwa_url=f"{self.url}/auth/o2/token", time_speed=self.speed,
                                  marketplaces=DE, orders_api="v0")
        return SpApiClient(settings, CREDENTIALS, session=session, tokens=AccessTokens(settings, session=session),
                           limiter=RateLimiter(settings))  # our buckets full, as the simulator's after a reset

    # -- the systems --

    def ours(self, run: Run, session: requests.Session) -> None:
        """As the worker fetches (`amazon_sync.jobs.orders.save_with_items`): the search's pages, then
        getOrderItems for each order, one after another, every call paced by the client's rate limiter."""
        client = self.client(session)
        orders = [order for order, _ in client.orders.search(DE, created_after=self.start, created_before=self.end)]
        run.orders = len(orders)
        for order in orders:
            for item in client.orders.order_items(order.amazon_order_id, marketplace_id=DE):
                run.rows.append((item.amazon_order_id, item.seller_sku, item.quantity_ordered, price(item.item_price)))
        run.client_429s = sum(stats.throttled for stats in client.limiter.stats().values())
        assert run.client_429s == client.transport.counts["throttled"]

    def baseline(self, run: Run, session: requests.Session) -> None:
        """A common tap: 1 s (simulated) between calls, a 429 tried again after a fixed 5 s, a 403 answered by
        a new access token."""
        state = {"wait": 0.0, "token": None, "throttled": 0}

        def login() -> None:
            answer = session.post(self.url + "/auth/o2/token", timeout=30, data={
                "grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN, "client_id": DEMO_APP_ID,
                "client_secret": DEMO_CLIENT_SECRET})
            answer.raise_for_status()
            state["token"] = answer.json()["access_token"]

        def get(path: str, params: dict) -> dict:
            for _ in range(BASELINE_MAX_TRIES):
                time.sleep(state["wait"] / self.speed)
                answer = session.get(self.url + path, params=params, timeout=30,
                                     headers={"x-amz-access-token": state["token"]})
                if answer.status_code == 429:
                    state["throttled"] += 1
                    state["wait"] = BASELINE_BACKOFF
                    continue
                state["wait"] = BASELINE_SLEEP
                if answer.status_code == 403:
                    login()
                    continue
                answer.raise_for_status()
                return answer.json()["payload"]
            raise RuntimeError(f"baseline: {path} still refused after {BASELINE_MAX_TRIES} tries")

        login()
        order_ids = []
        params = {"MarketplaceIds": DE, "CreatedAfter": iso(self.start), "CreatedBefore": iso(self.end),
                  "MaxResultsPerPage": 100}
        while True:
            page = get("/orders/v0/orders", params)
            order_ids += [order["AmazonOrderId"] for order in page["Orders"]]
            if not page.get("NextToken"):
                break
            params = {"MarketplaceIds": DE, "NextToken": page["NextToken"]}
        run.orders = len(order_ids)
        for order_id in order_ids:
            params = {}
            while True:
                page = get(f"/orders/v0/orders/{order_id}/orderItems", params)
                run.rows += [(order_id, item.get("SellerSKU", ""), int(item["QuantityOrdered"]),
                              price((item.get("ItemPrice") or {}).get("Amount"))) for item in page["OrderItems"]]
                if not page.get("NextToken"):
                    break
                params = {"NextToken": page["NextToken"]}
        run.client_429s = state["throttled"]

    def report(self, run: Run, session: requests.Session) -> None:
        """The bulk backfill (`amazon_sync.jobs.orders.backfill`): createReport, getReport every
        `report_poll_seconds` until DONE, getReportDocument, the download."""
        client = self.client(session)
        reports = client.reports
        report_id = reports.create(ORDERS_REPORT, [DE], data_start=self.start, data_end=self.end)
        done = reports.wait(report_id, client.settings.report_poll_seconds, client.settings.report_timeout_seconds)
        for order, items in order_rows(decode(reports.document(done["reportDocumentId"]))):
            if order.marketplace_id != DE:
                continue
            run.orders += 1
            run.rows += [(item.amazon_order_id, item.seller_sku, item.quantity_ordered, price(item.item_price))
                         for item in items]
        run.client_429s = sum(stats.throttled for stats in client.limiter.stats().values())


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def median(runs: list[Run], value) -> float:
    return statistics.median(value(run) for run in runs)


def render(bench: Bench, args, results: dict[str, list[Run]], same: bool) -> str:
    ours, base, report = results["ours"], results["baseline"], results["report"]
    lines = [f"\nOrders v0, Amazon.de, created {iso(bench.start)} .. {iso(bench.end)} ({args.days} days): "
             f"{ours[0].orders} orders, {len(ours[0].rows)} item rows; simulator seed {args.seed}, "
             f"{args.orders} orders per seller, clock at {args.speed:g}x, report processing {args.job_seconds} "
             f"simulated s; {args.runs} run(s) each, medians",
             f"getOrderItems allowed {PLAN.rate}/s, burst {PLAN.burst}; budget used = (ok calls - {PLAN.burst}) / "
             f"(seconds from the first to the last ok call x {PLAN.rate}/s)", "",
             "| figure | ours (hub SpApiClient) | baseline (1 s sleep, 5 s backoff) |", "|---|---|---|"]

    def both(name: str, value, fmt: str = "{:,.1f}") -> None:
        lines.append(f"| {name} | {fmt.format(median(ours, value))} | {fmt.format(median(base, value))} |")

    both("simulated seconds, first call to last", lambda r: r.sim_seconds)
    both("wall seconds", lambda r: r.wall_seconds, "{:.1f}")
    both("round trip of an Orders call, simulated s (median)", lambda r: statistics.median(r.round_trips), "{:.2f}")
    both("getOrders ok calls", lambda r: len(r.ok("getOrders")), "{:.0f}")
    both("getOrderItems ok calls", lambda r: r.budget()[0], "{:.0f}")
    both("getOrderItems seconds, first ok call to last", lambda r: r.budget()[1])
    both("getOrderItems calls/s over them (allowed 0.5)", lambda r: r.budget()[2], "{:.4f}")
    both("budget used on getOrderItems", lambda r: 100 * r.budget()[3], "{:.1f} %")
    both("429s, simulator (all operations)", lambda r: r.sim_429s, "{:.0f}")
    lines.append("| 429s, getOrders / getOrderItems (simulator) | " + " | ".join(
        f"{median(runs, lambda r: throttled(r, 'getOrders')):.0f} / {median(runs, lambda r: throttled(r, ITEMS)):.0f}"
        for runs in (ours, base)) + " |")
    both("429s, the client's own count", lambda r: r.client_429s, "{:.0f}")
    lines.append(f"| rows checksum | {ours[0].checksum()} | {base[0].checksum()} |")
    per_order, bulk = median(ours, lambda r: r.sim_seconds), median(report, lambda r: r.sim_seconds)
    lines += ["", "Bulk backfill, the same range (per-order: ours above)", "",
              "| way | simulated s | wall s | SP-API calls | orders | item rows |", "|---|---|---|---|---|---|"]
    for name, runs in (("getOrders + getOrderItems", ours), ("orders flat-file report", report)):
        calls = median(runs, lambda r: sum(c["calls"] for c in r.sim_operations.values()))
        lines.append(f"| {name} | {median(runs, lambda r: r.sim_seconds):,.1f} | "
                     f"{median(runs, lambda r: r.wall_seconds):.1f} | {calls:,.0f} | {runs[0].orders:,} | "
                     f"{len(runs[0].rows):,} |")
    lines.append("report calls: " + ", ".join(f"{op} {c['calls']}" for op, c in report[0].sim_operations.items())
                 + f"; rows checksum {report[0].checksum()} (order ids, SKUs, quantities, prices)")
    ratio = median(base, lambda r: r.sim_seconds) / median(ours, lambda r: r.sim_seconds)
    budget = 100 * median(ours, lambda r: r.budget()[3])
    worst = max(run.sim_429s for run in ours)
    speedup = per_order / bulk
    lines += ["", f"same rows, all systems and runs: {same}",
              f"targets (not asserted): budget >= 95 % ({budget:.1f} %), zero 429s ({worst}), "
              f"backfill >= 10x ({speedup:.1f}x)"]
    if same:
        lines.append(f"amazon_sync: ratio {ratio:.2f} (budget used {budget:.1f}%, 429s {worst}, "
                     f"backfill speed-up {speedup:.1f})")
    return "\n".join(lines)


def throttled(run: Run, name: str) -> int:
    return run.sim_operations.get(name, {}).get("throttled", 0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of each system (default 1); medians are shown")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_DAYS} days (266 orders)")
    parser.add_argument("--days", type=int, default=None, help=f"days of orders to sync (default {DAYS}: 2,009 "
                        "orders)")
    parser.add_argument("--speed", type=float, default=SPEED, help="the simulator's clock against wall time, "
                        f"and the client's time_speed (default {SPEED:g}: the simulator's few ms per request are "
                        "then about 0.4 simulated s, near Amazon's round trip)")
    parser.add_argument("--job-seconds", type=int, default=60, help="simulated seconds the simulator takes to "
                        "make a report (default 60, its own default)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"the simulator's seed (default {SEED})")
    parser.add_argument("--orders", type=int, default=SELLER_ORDERS,
                        help=f"orders per seller over 90 days (default {SELLER_ORDERS:,})")
    args = parser.parse_args(argv)
    args.days = args.days or (QUICK_DAYS if args.quick else DAYS)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per request
    app = create_sim(seed=args.seed, orders=args.orders, speed=args.speed, job_seconds=args.job_seconds)
    results: dict[str, list[Run]] = {"ours": [], "baseline": [], "report": []}
    with serving(app) as url:
        bench = Bench(url, app, args)
        for number in range(1, args.runs + 1):
            for system in results:
                run = bench.measure(system, getattr(bench, system))
                results[system].append(run)
                progress(f"run {number}/{args.runs} {system}: {run.sim_seconds:,.0f} simulated s "
                         f"({run.wall_seconds:.1f} s), {run.orders} orders, {len(run.rows)} rows, "
                         f"{run.sim_429s} 429s")
    reference = sorted(results["ours"][0].rows)
    different = [f"{system} run {number} (checksum {run.checksum()})" for system, runs in results.items()
                 for number, run in enumerate(runs, 1) if sorted(run.rows) != reference]
    print(render(bench, args, results, not different))
    if different:
        raise SystemExit(f"rows differ from ours (checksum {results['ours'][0].checksum()}): "
                         + ", ".join(different))


if __name__ == "__main__":
    main()
