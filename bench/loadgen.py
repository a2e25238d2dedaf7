"""Load generator for `POST /create`, run as its own process so that it does not share an interpreter (or a
GIL) with what it measures.

    python bench/loadgen.py --url http://127.0.0.1:8101 --token T --workshop "Bennys Auto" \\
        --mode closed --concurrency 24 --duration 10            # throughput: 24 busy keep-alive connections
    python bench/loadgen.py ... --mode open --rate 200 --duration 10      # latency at a fixed arrival rate
    python bench/loadgen.py ... --mode closed --concurrency 8 --count 500  # exactly 500 orders, then stop

Every request carries a fresh uniqueid (`<prefix>p<proc>t<thread>-<n>`) and cycles over `--worksheets`.
Connections are `http.client` keep-alive connections, one per thread; a broken one is reopened.

Closed loop: each connection sends its next request as soon as the previous answer arrived. Open loop:
request i is due at start + i/rate whatever happened before, and its latency is measured from that due
time (so a stalled server shows as latency, not as fewer requests: no coordinated omission).
Requests that start during `--warmup` seconds are sent but not counted.

Prints one JSON object on stdout: sent, ok, errors (by status or exception), elapsed (measured window),
rate (ok answers per second of the window), p50/p90/p99/max latency in ms, late (open loop: requests that
started more than 5 ms after their due time because every connection was busy), total_ok (accepted
answers including the warm-up) and last_ids (the last accepted uniqueids).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

LATE_S = 0.005


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class _Client:
    """One keep-alive connection that posts orders."""

    def __init__(self, host: str, port: int, token: str, workshop: str, worksheets: list[str], tag: str):
        self.host, self.port = host, port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Connection": "keep-alive"}
        self.workshop = json.dumps(workshop)
        self.worksheets = worksheets
        self.tag = tag
        self.seq = 0
        self.conn: http.client.HTTPConnection | None = None

    def post(self) -> tuple[str, str]:
        """Send one order; returns (outcome, uniqueid) where outcome is "ok" or an error label."""
        self.seq += 1
        uniqueid = f"{self.tag}-{self.seq}"
        worksheet = self.worksheets[self.seq % len(self.worksheets)]
        body = (f'{{"workshop":{self.workshop},"worksheet":"{worksheet}","product_nr":"10",'
                f'"product_amount":"5","uniqueid":"{uniqueid}","username":"admin","password":"gygag"}}')
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.request("POST", "/create", body=body.encode(), headers=self.headers)
            response = self.conn.getresponse()
            response.read()
            if response.will_close:
                self.close()
            return ("ok" if response.status == 200 else f"http_{response.status}"), uniqueid
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return type(exc).__name__, uniqueid

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _run_process(proc: int, options: dict) -> dict:
    """One process's share of the load: `threads` connections; returns raw samples."""
    parts = urlsplit(options["url"])
    mode, threads, rate = options["mode"], options["threads"], options["rate"]
    start = options["start_at"]
    end = start + options["warmup"] + options["duration"] if options["duration"] else float("inf")
    count = options["count"]
    lock = threading.Lock()
    samples: list[tuple[float, float, str]] = []  # (started, latency, outcome)
    last_ids: list[str] = []
    late = 0
    counter = itertools.count()  # open loop: the global index of the next due request; count: budget

    def worker(thread: int) -> None:
        nonlocal late
        client = _Client(parts.hostname, parts.port or 80, options["token"], options["workshop"],
                         options["worksheets"], f"{options['prefix']}p{proc}t{thread}")
        mine: list[tuple[float, float, str]] = []
        ids: list[str] = []
        my_late = 0
        while True:
            if mode == "open":
                index = next(counter) * options["procs"] + proc
                due = start + index / rate
                if due >= end:
                    break
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                elif -delay > LATE_S:
                    my_late += 1
                began = due
            else:
                if count and next(counter) >= count:
                    break
                began = time.perf_counter()
                if began >= end:
                    break
            outcome, uniqueid = client.post()
            mine.append((began, time.perf_counter() - began, outcome))
            if outcome == "ok":
                ids.append(uniqueid)
        client.close()
        with lock:
            samples.extend(mine)
            last_ids.extend(ids[-3:])
            late += my_late

    delay = start - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {"samples": samples, "last_ids": last_ids, "late": late, "finished": time.perf_counter()}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def run(url: str, token: str, workshop: str, *, mode: str = "closed", concurrency: int = 24,
        rate: float = 200.0, duration: float = 10.0, warmup: float = 1.0, count: int = 0,
        worksheets: list[str] | None = None, prefix: str = "lg-", procs: int = 1) -> dict:
    if mode not in ("closed", "open"):
        raise ValueError("mode is closed or open")
    if count:
        warmup, duration = 0.0, 0.0  # send exactly `count` orders, however long it takes
    options = {"url": url, "token": token, "workshop": workshop, "mode": mode, "rate": rate,
               "warmup": warmup, "duration": duration, "count": 0, "procs": procs,
               "worksheets": worksheets or ["558"], "prefix": prefix,
               "threads": max(1, concurrency // procs)}
    options["start_at"] = time.perf_counter() + (0.3 if procs > 1 else 0.0)
    if procs == 1:
        options["count"] = count
        results = [_run_process(0, options)]
    else:
        shares = [count // procs + (1 if i < count % procs else 0) for i in range(procs)] if count else [0] * procs
        context = multiprocessing.get_context("fork")  # perf_counter is shared by forked children
        with context.Pool(procs) as pool:
            results = pool.starmap(_run_process, [(i, {**options, "count": shares[i]}) for i in range(procs)])
    samples = [s for r in results for s in r["samples"]]
    measure_from = options["start_at"] + warmup
    if count:
        window = samples
        elapsed = max(r["finished"] for r in results) - options["start_at"]
    else:
        measure_to = measure_from + duration
        window = [s for s in samples if measure_from <= s[0] < measure_to]
        elapsed = duration
    latencies = sorted(latency for _, latency, outcome in window if outcome == "ok")
    errors = Counter(outcome for _, _, outcome in window if outcome != "ok")
    return {
        "mode": mode, "concurrency": concurrency, "target_rate": rate if mode == "open" else None,
        "procs": procs, "sent": len(window), "ok": len(latencies), "errors": sum(errors.values()),
        "error_kinds": dict(errors), "total_ok": sum(outcome == "ok" for _, _, outcome in samples),
        "elapsed": round(elapsed, 3),
        "rate": round(len(latencies) / elapsed, 1) if elapsed else None,
        "p50_ms": _ms(_percentile(latencies, 0.50)), "p90_ms": _ms(_percentile(latencies, 0.90)),
        "p99_ms": _ms(_percentile(latencies, 0.99)), "max_ms": _ms(latencies[-1] if latencies else None),
        "late": sum(r["late"] for r in results) if mode == "open" else None,
        "last_ids": [i for r in results for i in r["last_ids"]][-10:],
    }


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 1:  # `make bench` runs every bench/*.py: not a benchmark itself
        print("the load generator of bench/erp_intake.py; run bench/erp_intake.py (or --help)")
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL of the API, e.g. http://127.0.0.1:8101")
    parser.add_argument("--token", required=True, help="bearer token")
    parser.add_argument("--workshop", required=True, help="the workshop the instance serves")
    parser.add_argument("--mode", choices=("closed", "open"), default="closed")
    parser.add_argument("--concurrency", type=int, default=24, help="connections (threads) in all")
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds sent but not counted")
    parser.add_argument("--count", type=int, default=0, help="closed loop: stop after this many requests")
    parser.add_argument("--worksheets", default="558", help="comma-separated, or a range like 560-569")
    parser.add_argument("--prefix", default="lg-", help="uniqueid prefix")
    parser.add_argument("--procs", type=int, default=1, help="processes sharing the connections")
    args = parser.parse_args(argv)
    if "-" in args.worksheets and "," not in args.worksheets:
        low, high = (int(x) for x in args.worksheets.split("-"))
        worksheets = [str(n) for n in range(low, high + 1)]
    else:
        worksheets = [w.strip() for w in args.worksheets.split(",") if w.strip()]
    result = run(args.url, args.token, args.workshop, mode=args.mode, concurrency=args.concurrency,
                 rate=args.rate, duration=args.duration, warmup=args.warmup, count=args.count,
                 worksheets=worksheets, prefix=args.prefix, procs=args.procs)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
