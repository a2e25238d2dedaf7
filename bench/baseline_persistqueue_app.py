"""The baseline: the old system's design, rebuilt minimally for comparison.

A Flask app whose `POST /create` checks the bearer token and that the required fields are there and not
empty, appends the order dict to a file-based `persistqueue.Queue` (the `persist-queue` package) and
answers 200; `GET /alive` answers 200. With `--erp-url`, a consumer thread in the same process pops the
queue and creates each order line in the demo ERP over its HTTP API (log in once, then
`POST /api/worksheets/<n>/lines`), as the old system's worker thread did. `persistqueue.Queue` is
thread-safe but not shared between processes, so the consumer lives beside the endpoint, and with
`--workers N` every gunicorn worker gets its own queue directory and consumer.

It is served like erp-api: gunicorn, gthread worker class, the same `--workers`/`--threads` defaults
(1 x 8), no access log.

    python bench/baseline_persistqueue_app.py PORT --queue-dir DIR [--erp-url URL] [--workers 1 --threads 8]

The token comes from `BASELINE_API_TOKEN` (or `HUB_API_TOKEN`). What it does not do, which the hub does:
no idempotency on uniqueid, no status endpoint, no encryption of the credentials, no retry or
dead-lettering, no fsync per order (persist-queue fsyncs only when a 100-entry chunk file is full).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

import persistqueue
import requests
from flask import Flask, jsonify, request

from hub_runtime.web.serve import serve_gunicorn

REQUIRED = ("workshop", "worksheet", "product_nr", "product_amount", "uniqueid", "username", "password")
log = logging.getLogger("baseline")


def create_app(queue_dir: str, token: str, erp_url: str | None = None) -> Flask:
    path = Path(queue_dir) / f"worker-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    queue = persistqueue.Queue(str(path), tempdir=str(path))
    app = Flask("baseline")
    expected = f"Bearer {token}"

    @app.post("/create")
    def create():
        if request.headers.get("Authorization") != expected:
            return jsonify(error="unauthorized"), 401
        order = request.get_json(silent=True)
        if not isinstance(order, dict):
            return jsonify(error="body must be a JSON object"), 400
        missing = [f for f in REQUIRED if order.get(f) in (None, "")]
        if missing:
            return jsonify(error="missing fields", fields=missing), 400
        queue.put({field: str(order[field]) for field in REQUIRED})
        return jsonify(uniqueid=order["uniqueid"], status="placed")

    @app.get("/alive")
    def alive():
        return jsonify(api="running", queued=queue.qsize())

    if erp_url:
        threading.Thread(target=consume, args=(queue, erp_url), name="consumer", daemon=True).start()
    return app


def consume(queue: persistqueue.Queue, erp_url: str) -> None:
    """Pop orders and post their lines to the demo ERP, one at a time, logging in when needed."""
    http = requests.Session()
    tokens: dict[tuple[str, str], str] = {}
    while True:
        order = queue.get()
        key = (order["username"], order["password"])
        try:
            for _ in range(2):
                if key not in tokens:
                    login = http.post(f"{erp_url}/api/login", json={"username": key[0], "password": key[1]},
                                      timeout=10)
                    login.raise_for_status()
                    tokens[key] = login.json()["token"]
                answer = http.post(f"{erp_url}/api/worksheets/{order['worksheet']}/lines",
                                   json={"product_nr": order["product_nr"], "quantity": order["product_amount"],
                                         "reference": order["uniqueid"]},
                                   headers={"Authorization": f"Bearer {tokens[key]}"}, timeout=10)
                if answer.status_code == 401:
                    tokens.pop(key, None)
                    continue
                if answer.status_code >= 400:
                    log.warning("order %s: ERP answered %s", order["uniqueid"], answer.status_code)
                break
        except (requests.RequestException, ValueError, KeyError) as exc:
            log.warning("order %s failed: %s", order["uniqueid"], exc)
            time.sleep(0.1)
        queue.task_done()



def main(argv=None) -> int:
    if argv is None and len(sys.argv) == 1:  # `make bench` runs every bench/*.py: not a benchmark itself
        print("the baseline server of bench/erp_intake.py; run bench/erp_intake.py (or --help)")
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("--queue-dir", required=True, help="where persist-queue keeps its files")
    parser.add_argument("--erp-url", help="run the consumer thread against this demo ERP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    token = os.environ.get("BASELINE_API_TOKEN") or os.environ["HUB_API_TOKEN"]
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_gunicorn(lambda: create_app(args.queue_dir, token, args.erp_url), {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "graceful_timeout": 10,
        "timeout": 60,
        "accesslog": None,
        "loglevel": "warning",
        "proc_name": "baseline-persistqueue",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
