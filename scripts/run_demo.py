"""`make run`: the demo on embedded defaults — the demo ERP on :8200 and the "Bennys Auto" workshop's
erp-api on :8101 with its erp-worker, on SQLite and the embedded queue (or RabbitMQ / PostgreSQL when
AMQP_URL / DATABASE_URL are set). Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from erp_worker.browser import browser_installed

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKSHOP = "Bennys Auto"
ERP_PORT, API_PORT = 8200, 8101
TOKEN = os.environ.get("HUB_API_TOKEN", "demo-token-change-me")


def main() -> int:
    var = ROOT / "var"
    (var / "logs").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HUB_API_TOKEN": TOKEN,
        "HUB_DATA_DIR": str(var),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{var / 'hub.db'}"),
        "HUB_ERP_BASE_URL": f"http://127.0.0.1:{ERP_PORT}",
        "HUB_LOG_FORMAT": os.environ.get("HUB_LOG_FORMAT", "text"),
        "HUB_ERP_ADAPTER": os.environ.get("HUB_ERP_ADAPTER") or ("selenium-demo" if browser_installed() else "http"),
    }
    commands = {
        "demo-erp": ["demo-erp", "--port", str(ERP_PORT), "--state-file", str(var / "demo-erp.json")],
        "erp-api": ["erp-api", str(API_PORT), WORKSHOP],
        "erp-worker": ["erp-worker", WORKSHOP],
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for name, argv in commands.items():
            log = open(var / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
            children[name] = subprocess.Popen([str(BIN / argv[0]), *argv[1:]], env=env, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
        wait_ready(f"http://127.0.0.1:{ERP_PORT}/health", children["demo-erp"])
        wait_ready(f"http://127.0.0.1:{API_PORT}/alive", children["erp-api"])
        broker = "RabbitMQ" if os.environ.get("AMQP_URL") else "the embedded SQLite queue"
        adapter = ADAPTER_TEXT.get(env["HUB_ERP_ADAPTER"], env["HUB_ERP_ADAPTER"])
        print(BANNER.format(erp=ERP_PORT, api=API_PORT, token=TOKEN, broker=broker, db=env["DATABASE_URL"],
                            logs=var / "logs", adapter=adapter), flush=True)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; see var/logs/{name}.log", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("\nstopping...", flush=True)
        for child in children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for name, child in children.items():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                print(f"{name} did not stop in 15 s; killed", file=sys.stderr)
        print("stopped.")


def wait_ready(url: str, child: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{child.args[0]} exited during start-up; see var/logs/")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s; see var/logs/")


ADAPTER_TEXT = {
    "selenium-demo": "selenium-demo: the worker drives the demo ERP's web pages in headless Chromium",
    "http": "http: the worker uses the demo ERP's HTTP API (install chromium chromium-driver for the browser)",
}

BANNER = """
Integration hub demo is running (database {db}, broker: {broker}).
  ERP adapter         {adapter}
  demo ERP            http://127.0.0.1:{erp}/  (web UI, admin / gygag; state: /_sim/state)
  erp-api Bennys Auto http://127.0.0.1:{api}/alive      (docs: /docs, token below)
  logs                {logs}/

Place an order:
  curl -s -X POST http://127.0.0.1:{api}/create -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' \\
       -d '{{"workshop":"Bennys Auto","worksheet":"558","product_nr":"10","product_amount":"5",
            "uniqueid":"demo-1","username":"admin","password":"gygag"}}'
Follow it:
  curl -s 'http://127.0.0.1:{api}/get_order_status?uniqueid=demo-1' -H 'Authorization: Bearer {token}'

Ctrl-C stops everything.
"""

if __name__ == "__main__":
    sys.exit(main())
