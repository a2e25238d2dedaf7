"""`make run`: the demo on embedded defaults. It starts the demo ERP on :8200, the Gcore simulator on :8410,
the CarbonAltDelete simulator on :8510 and the manager on :8000; the manager registers (first time) and
starts the "Bennys Auto" workshop (its erp-api on :8101 and its erp-worker), the "Demo reports" rules
instance (report-api on :8301), "Demo Gcore" (report-api on :8401) and "Demo CarbonAltDelete" (report-api
on :8501) and the Amazon seller "Demo seller" (amazon-sync-api on :8601, against the SP-API simulator on
:8610), each with its worker, on SQLite and the embedded queue (or RabbitMQ / PostgreSQL when AMQP_URL /
DATABASE_URL are set); the simulators' demo credentials are stored in the manager. A demo report user is
registered on each report instance. Ctrl-C stops everything: the manager stops the instances it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from erp_worker.browser import browser_installed

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKSHOP, INTEGRATION = "Bennys Auto", "erp-bennys-auto"
REPORTS, REPORTS_INTEGRATION = "Demo reports", "rules-demo-reports"
MANAGER_PORT, ERP_PORT, API_PORT, REPORTS_PORT = 8000, 8200, 8101, 8301
GCORE_SIM_PORT, GCORE_PORT, CAD_SIM_PORT, CAD_PORT = 8410, 8401, 8510, 8501
SPAPI_SIM_PORT, SELLER_PORT, SELLER, SELLER_INTEGRATION = 8610, 8601, "Demo seller", "amazon-demo-seller"
SPAPI_SPEED = 60  # the simulator's clock runs a minute per second: reports are ready in a second
# (kind, name, API port, settings, credentials): the report instances; credentials are the simulators' demo ones
REPORT_INSTANCES = [
    ("rules", REPORTS, REPORTS_PORT, {}, None),
    ("gcore", "Demo Gcore", GCORE_PORT, {"api_url": f"http://127.0.0.1:{GCORE_SIM_PORT}", "poll_interval_seconds": 0.5},
     {"username": "reseller@example.com", "password": "gcore-sim"}),
    ("carbonaltdelete", "Demo CarbonAltDelete", CAD_PORT,
     {"api_url": f"http://127.0.0.1:{CAD_SIM_PORT}", "poll_seconds": 0.5},
     {"api_key": "5f0c1a6e-7d2b-4c3e-9a41-2b6d8e0f1c37", "api_secret": "demo-api-secret"}),
]
DEMO_USER = {"email": "demo@example.com", "name": "Demo", "password": "demo-password"}
MANAGER_TOKEN = os.environ.get("HUB_MANAGER_TOKEN", "demo-manager-token-change-me")

ADAPTER_TEXT = {
    "selenium-demo": "selenium-demo: the worker drives the demo ERP's web pages in headless Chromium",
    "http": "http: the worker uses the demo ERP's HTTP API (install chromium chromium-driver for the browser)",
}


def main() -> int:
    var = ROOT / "var"
    (var / "logs").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HUB_API_TOKEN": MANAGER_TOKEN,
        "HUB_DATA_DIR": str(var),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{var / 'hub.db'}"),
        "HUB_LOG_FORMAT": os.environ.get("HUB_LOG_FORMAT", "text"),
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        commands = {"demo-erp": ["demo-erp", "--port", str(ERP_PORT), "--state-file", str(var / "demo-erp.json")],
                    "gcore-sim": ["gcore-sim", "--port", str(GCORE_SIM_PORT), "--job-seconds", "2"],
                    "carbonaltdelete-sim": ["carbonaltdelete-sim", "--port", str(CAD_SIM_PORT), "--speed", "20"],
                    "spapi-sim": ["spapi-sim", "--port", str(SPAPI_SIM_PORT), "--speed", str(SPAPI_SPEED)],
                    "manager": ["manager", str(MANAGER_PORT)]}
        for name, argv in commands.items():
            log = open(var / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
            children[name] = subprocess.Popen([str(BIN / argv[0]), *argv[1:]], env=env, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
        simulators = {"demo-erp": ERP_PORT, "gcore-sim": GCORE_SIM_PORT, "carbonaltdelete-sim": CAD_SIM_PORT,
                      "spapi-sim": SPAPI_SIM_PORT}
        for name, port in simulators.items():
            wait_for(lambda p=port: requests.get(f"http://127.0.0.1:{p}/health", timeout=1).ok, children[name])
        wait_for(lambda: requests.get(f"http://127.0.0.1:{MANAGER_PORT}/alive", timeout=1).ok, children["manager"])
        adapter, token = register_demo_workshop()
        report_ids = [register_report_instance(*instance) for instance in REPORT_INSTANCES]
        seller_token = register_demo_seller()
        for integration in (INTEGRATION, *report_ids, SELLER_INTEGRATION):
            wait_for(lambda i=integration: health(i)["state"] == "running" and health(i)["worker_state"] == "running",
                     children["manager"])
        for _, _, port, _, _ in REPORT_INSTANCES:
            demo_user_ready(port)
        broker = "RabbitMQ" if os.environ.get("AMQP_URL") else "the embedded SQLite queue"
        print(BANNER.format(manager=MANAGER_PORT, mtoken=MANAGER_TOKEN, erp=ERP_PORT, api=API_PORT, token=token,
                            broker=broker, db=env["DATABASE_URL"], logs=var / "logs", adapter=ADAPTER_TEXT[adapter],
                            bin=os.path.relpath(BIN, ROOT), instances=var / "instances" / INTEGRATION,
                            reports=REPORTS_PORT, gcore=GCORE_PORT, gcore_sim=GCORE_SIM_PORT, cad=CAD_PORT,
                            cad_sim=CAD_SIM_PORT, seller=SELLER_PORT, seller_token=seller_token,
                            spapi_sim=SPAPI_SIM_PORT, spapi_demo=spapi_demo_line(), fetch_start=days_ago(3),
                            fetch_end=days_ago(1), **DEMO_USER), flush=True)
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
                child.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                print(f"{name} did not stop in 30 s; killed", file=sys.stderr)
        print("stopped.")


def manager(method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"http://127.0.0.1:{MANAGER_PORT}{path}", timeout=30,
                            headers={"Authorization": f"Bearer {MANAGER_TOKEN}"}, **kwargs)


def health(integration: str = INTEGRATION) -> dict:
    return manager("GET", f"/integrations/{integration}").json()["health"]


def register_demo_workshop() -> tuple[str, str]:
    """Register the demo workshop the first time; later runs keep it and issue a fresh token to print."""
    existing = manager("GET", f"/integrations/{INTEGRATION}")
    if existing.status_code == 404:
        adapter = os.environ.get("HUB_ERP_ADAPTER") or ("selenium-demo" if browser_installed() else "http")
        created = manager("POST", "/integrations", json={
            "kind": "erp", "name": WORKSHOP, "active": True, "api_port": API_PORT,
            "settings": {"adapter": adapter, "base_url": f"http://127.0.0.1:{ERP_PORT}"},
            "credentials": {"username": "admin", "password": "gygag"}})
        created.raise_for_status()
        return adapter, created.json()["api_token"]
    existing.raise_for_status()
    if not existing.json()["active"]:
        manager("PUT", f"/integrations/{INTEGRATION}/activate").raise_for_status()
    token = manager("POST", f"/integrations/{INTEGRATION}/token")
    token.raise_for_status()
    return existing.json()["settings"]["adapter"], token.json()["api_token"]


def register_report_instance(kind: str, name: str, port: int, settings: dict, credentials: dict | None) -> str:
    """Register a report instance the first time; later runs keep it (and its users and reports). Its id."""
    integration = f"{kind}-{name.lower().replace(' ', '-')}"
    existing = manager("GET", f"/integrations/{integration}")
    if existing.status_code == 404:
        manager("POST", "/integrations", json={"kind": kind, "name": name, "active": True, "api_port": port,
                                               "settings": settings, "credentials": credentials}).raise_for_status()
        return integration
    existing.raise_for_status()
    if not existing.json()["active"]:
        manager("PUT", f"/integrations/{integration}/activate").raise_for_status()
    return integration


def register_demo_seller() -> str:
    """Register "Demo seller" the first time, with the SP-API simulator's demo seller as its credentials;
    later runs keep it (and its orders). This run's API token for it."""
    from simulators.spapi.accounts import DEMO_APP_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN

    existing = manager("GET", f"/integrations/{SELLER_INTEGRATION}")
    if existing.status_code == 404:
        sim = f"http://127.0.0.1:{SPAPI_SIM_PORT}"
        manager("POST", "/integrations", json={
            "kind": "amazon", "name": SELLER, "active": True, "api_port": SELLER_PORT,
            "settings": {"api_url": sim, "lwa_url": f"{sim}/auth/o2/token", "time_speed": SPAPI_SPEED,
                         "report_poll_seconds": 30, "marketplaces": "A1F83G8C2ARO7P,A1PA6795UKMFR9"},
            "credentials": {"lwa_app_id": DEMO_APP_ID, "lwa_client_secret": DEMO_CLIENT_SECRET,
                            "refresh_token": DEMO_REFRESH_TOKEN}}).raise_for_status()
    else:
        existing.raise_for_status()
        if not existing.json()["active"]:
            manager("PUT", f"/integrations/{SELLER_INTEGRATION}/activate").raise_for_status()
    token = manager("POST", f"/integrations/{SELLER_INTEGRATION}/token")
    token.raise_for_status()
    return token.json()["api_token"]


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


def spapi_demo_line() -> str:
    """The simulator's demo seller, in the form any SP-API client can be configured with."""
    from simulators.spapi.accounts import DEMO_APP_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN

    return (f"SP-API simulator: lwa_app_id={DEMO_APP_ID} lwa_client_secret={DEMO_CLIENT_SECRET} "
            f"refresh_token={DEMO_REFRESH_TOKEN}")


def demo_user_ready(port: int) -> None:
    """The demo report user exists on the report instance at `port` (registered on the first run)."""
    url = f"http://127.0.0.1:{port}/api/auth/"
    answer = requests.post(url + "register/", json=DEMO_USER, timeout=10)
    if answer.status_code not in (201, 409):
        answer.raise_for_status()


def wait_for(ready, child: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{child.args[0]} exited during start-up; see var/logs/")
        try:
            if ready():
                return
        except (requests.RequestException, KeyError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"not ready within {timeout}s; see var/logs/")


BANNER = """
Integration hub demo is running (database {db}, broker: {broker}).
  manager             http://127.0.0.1:{manager}/integrations   token: {mtoken}   (docs: /docs)
  demo ERP            http://127.0.0.1:{erp}/  (web UI, admin / gygag; state: /_sim/state)
  Bennys Auto         erp-api http://127.0.0.1:{api}/alive and erp-worker, started by the manager
  ERP adapter         {adapter}
  Demo reports        report-api http://127.0.0.1:{reports}/docs and report-worker (user {email} / {password})
  logs                {logs}/ and {instances}/

Place an order (this run's token for the workshop's API):
  curl -s -X POST http://127.0.0.1:{api}/create -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' \\
       -d '{{"workshop":"Bennys Auto","worksheet":"558","product_nr":"10","product_amount":"5",
            "uniqueid":"demo-1","username":"admin","password":"gygag"}}'
  (without username and password, the workshop's ERP login stored in the manager is used)
Follow it:
  curl -s 'http://127.0.0.1:{api}/get_order_status?uniqueid=demo-1' -H 'Authorization: Bearer {token}'

Make a report from the demo files (scripts/demo-data/):
  ACCESS=$(curl -s -X POST http://127.0.0.1:{reports}/api/auth/login/ \\
           -H 'Content-Type: application/json' -d '{{"email":"{email}","password":"{password}"}}' \\
           | {bin}/python -c 'import json,sys; print(json.load(sys.stdin)["access"])')
  curl -s -X POST http://127.0.0.1:{reports}/api/generate-report/ -H "Authorization: Bearer $ACCESS" \\
       -F input=@scripts/demo-data/orders.csv -F reference=@scripts/demo-data/regions.csv \\
       -F rules=@scripts/demo-data/rules.yaml
  curl -s http://127.0.0.1:{reports}/api/report-status/<task_id>/ -H "Authorization: Bearer $ACCESS"
  curl -s http://127.0.0.1:{reports}/api/download-report-view/ -H "Authorization: Bearer $ACCESS"

Gcore usage reports ("Demo Gcore", report-api :{gcore}, against the Gcore simulator :{gcore_sim}):
  ACCESS=$(curl -s -X POST http://127.0.0.1:{gcore}/api/auth/login/ \\
           -H 'Content-Type: application/json' -d '{{"email":"{email}","password":"{password}"}}' \\
           | {bin}/python -c 'import json,sys; print(json.load(sys.stdin)["access"])')
  curl -s -X POST http://127.0.0.1:{gcore}/reports/all -H "Authorization: Bearer $ACCESS" \\
       -H 'Content-Type: application/json' \\
       -H 'Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' \\
       -d '{{"gcore_user_id":"200101","start_date":"2026-11-01","end_date":"2026-11-30"}}' -o gcore-all.xlsx

CarbonAltDelete inventory ("Demo CarbonAltDelete", report-api :{cad}, against its simulator :{cad_sim}):
  ACCESS=$(curl -s -X POST http://127.0.0.1:{cad}/api/auth/login/ \\
           -H 'Content-Type: application/json' -d '{{"email":"{email}","password":"{password}"}}' \\
           | {bin}/python -c 'import json,sys; print(json.load(sys.stdin)["access"])')
  curl -s -X POST http://127.0.0.1:{cad}/api/sources/carbonaltdelete/reports/ -H "Authorization: Bearer $ACCESS" \\
       -H 'Content-Type: application/json' -d '{{"company_name":"Demo Company","period":"2024"}}'
  curl -s http://127.0.0.1:{cad}/api/sources/carbonaltdelete/reports/<task_id>/ -H "Authorization: Bearer $ACCESS"
  curl -s http://127.0.0.1:{cad}/api/sources/carbonaltdelete/reports/<task_id>/file \\
       -H "Authorization: Bearer $ACCESS" -o inventory.xlsx

Amazon orders ("Demo seller", amazon-sync-api :{seller}, against the SP-API simulator :{spapi_sim}):
  FETCH=$(curl -s -X POST http://127.0.0.1:{seller}/api/fetch-data/ -H 'Authorization: Bearer {seller_token}' \\
          -H 'Content-Type: application/json' \\
          -d '{{"marketplace_id":"A1F83G8C2ARO7P","start_date":"{fetch_start}","end_date":"{fetch_end}"}}')
  echo "$FETCH"
  ACTIVITY=$(echo "$FETCH" | {bin}/python -c 'import json,sys; print(json.load(sys.stdin)["activity_id"])')
  curl -s http://127.0.0.1:{seller}/api/activities/$ACTIVITY/ -H 'Authorization: Bearer {seller_token}'
  CACHE_KEY=$(echo "$FETCH" | {bin}/python -c 'import json,sys; print(json.load(sys.stdin)["cache_key"])')
  curl -s -X POST http://127.0.0.1:{seller}/api/download-processed/ -H 'Authorization: Bearer {seller_token}' \\
       -H 'Content-Type: application/json' -o orders.csv \\
       -d "{{\\"cache_key\\":\\"$CACHE_KEY\\",\\"data_type\\":\\"mssql\\"}}"
  {spapi_demo}

Operate it:
  export HUB_MANAGER_TOKEN={mtoken}
  {bin}/hubctl kinds           # the installed kinds, their settings and credentials
  {bin}/hubctl list            # or: curl -H 'Authorization: Bearer {mtoken}' http://127.0.0.1:{manager}/integrations
  {bin}/hubctl stop erp-bennys-auto --worker ; {bin}/hubctl start erp-bennys-auto --worker
  {bin}/hubctl logs erp-bennys-auto --worker

Ctrl-C stops everything.
"""

if __name__ == "__main__":
    sys.exit(main())
