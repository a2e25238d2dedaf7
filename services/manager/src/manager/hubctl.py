"""`hubctl`: the operator's command line over the manager's control API (/integrations).

    hubctl kinds                         the installed kinds, their settings and credentials (--json: schemas)
    hubctl list                          every integration with its health, as a table (--json: raw)
    hubctl health                        one line per integration; exit code 1 if an active one is not running
    hubctl show ID                       configuration (no secrets), health and recent history
    hubctl create --kind erp --name "Bennys Auto" --setting base_url=http://erp:8200 [--credential username=admin
                  --credential password] [--active] [--api-port N]
    hubctl activate|deactivate|kill ID
    hubctl start|stop|restart ID [--api | --worker]
    hubctl logs ID [--worker] [-n LINES]
    hubctl token ID                      issue a new API token for the instance (the API restarts)
    hubctl replay ID [--task KEY]        send the dead-lettered tasks (or one) to the worker again

The manager is found through --url / HUB_MANAGER_URL (default http://127.0.0.1:8000) and --token /
HUB_MANAGER_TOKEN (the manager's HUB_API_TOKEN). Credentials are never printed; an instance's API token is
printed once, when it is issued. A --credential given without `=value` is asked for without echo.

Exit codes: 0 ok; 1 a failed check or an error answer from the API; 2 usage error; 3 manager unreachable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys

import requests

OK, FAILED, USAGE, UNREACHABLE = 0, 1, 2, 3
DEFAULT_URL = "http://127.0.0.1:8000"
SECRET_KEY = re.compile(r"pass|secret|token|key", re.I)
URL_PASSWORD = re.compile(r"(://[^/:@\s]+):[^@/\s]*@")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


class Unreachable(Exception):
    pass


class UsageError(Exception):
    pass


# --- the API ----------------------------------------------------------------------------------------
class Client:
    def __init__(self, url: str, token: str, timeout: float):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params) -> dict:
        return self.call("GET", path, params=params or None)

    def call(self, method: str, path: str, **kwargs) -> dict:
        try:
            answer = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise Unreachable(f"the manager at {self.url} did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise Unreachable(f"cannot reach the manager at {self.url} ({_reason(exc)})") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                raise ApiError(answer.status_code, error.get("code", "error"), error.get("message", ""),
                               error.get("fields"))
            raise ApiError(answer.status_code, "http_error", answer.text.strip()[:200] or answer.reason)
        if not isinstance(body, dict):
            raise ApiError(answer.status_code, "not_json", f"{self.url} did not answer JSON; is it the manager?")
        return body


def _reason(exc: Exception) -> str:
    text = str(exc)
    for hint in ("Connection refused", "Name or service not known", "No route to host", "Network is unreachable",
                 "Temporary failure in name resolution", "Connection reset"):
        if hint in text:
            return hint.lower()
    return type(exc).__name__


# --- formatting -------------------------------------------------------------------------------------
def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def text(value, limit: int | None = None) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = str(value).replace("\n", " ")
    return value if limit is None or len(value) <= limit else value[: limit - 1] + "…"


def redacted(value, key: str = ""):
    """Settings carry no credentials by design; still, never print a password-like value or URL password."""
    if isinstance(value, dict):
        return {k: redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v, key) for v in value]
    if SECRET_KEY.search(key) and value not in (None, ""):
        return "***"
    if isinstance(value, str):
        return URL_PASSWORD.sub(r"\1:***@", value)
    return value


def api_column(health: dict) -> str:
    api = health["processes"].get("api")
    if api is None:
        return "-"
    if api["state"] != "running":
        return api["state"]
    return "alive" if health["api_alive"] else "no answer"


def worker_column(health: dict) -> str:
    worker = health["processes"].get("worker")
    if worker is None:
        return "-"
    if worker["state"] != "running" or not health["worker_state"]:
        return worker["state"]
    return health["worker_state"]  # what the instance says: running, stopped (paused) or dead


def healthy(health: dict) -> bool:
    return health["state"] == "running" and health["api_alive"] and health["worker_state"] in (None, "running")


def emit_json(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --- commands ---------------------------------------------------------------------------------------
def cmd_list(client: Client, args) -> int:
    integrations = client.get("/integrations")["integrations"]
    if args.json:
        emit_json(integrations)
        return OK
    if not integrations:
        print("no integrations registered")
        return OK
    rows = [[h["id"], h["kind"], text(h["name"], 30), text(h["active"]), h["state"], api_column(h),
             worker_column(h), text(h["queue_length"]), str(h["restarts"]), text(h["last_error"], 60)]
            for h in integrations]
    print(table(["ID", "KIND", "NAME", "ACTIVE", "STATE", "API", "WORKER", "QUEUE", "RESTARTS", "LAST ERROR"], rows))
    return OK


def cmd_kinds(client: Client, args) -> int:
    kinds = client.get("/kinds")["kinds"]
    if args.json:
        emit_json(kinds)
        return OK
    for kind in kinds:
        print(f"{kind['name']}: {kind['description']}" + ("" if kind["runnable"] else " (cannot run here)"))
        schema = kind["settings_schema"]
        for name, field in schema.get("properties", {}).items():
            required = name in schema.get("required", ())
            default = "required" if required else f"default {json.dumps(field.get('default'))}"
            print(f"  --setting {name}=...  {default}; {field.get('description', '')}".rstrip("; "))
        for name in (kind["credentials_schema"] or {}).get("properties", {}):
            print(f"  --credential {name}")
    return OK


def cmd_health(client: Client, args) -> int:
    integrations = client.get("/integrations")["integrations"]
    width = max((len(h["id"]) for h in integrations), default=0)
    failing = 0
    for h in integrations:
        if not h["active"]:
            mark = "--"
        elif healthy(h):
            mark = "ok"
        else:
            mark, failing = "FAIL", failing + 1
        detail = f"api {api_column(h)}, worker {worker_column(h)}, queue {text(h['queue_length'])}"
        if h["restarts"]:
            detail += f", {h['restarts']} restarts"
        if h["last_error"] and mark == "FAIL":
            detail += f"; last error: {text(h['last_error'], 80)}"
        print(f"{mark:<4}  {h['id']:<{width}}  {h['state']:<10}  {detail}")
    active = sum(1 for h in integrations if h["active"])
    print(f"{len(integrations)} integrations, {active} active, {failing} not running")
    return FAILED if failing else OK


def cmd_show(client: Client, args) -> int:
    detail = client.get(f"/integrations/{args.id}")
    detail["settings"] = redacted(detail["settings"])
    if args.json:
        emit_json(detail)
        return OK
    health, events = detail["health"], detail["history"]
    settings = [f"{k}={text(v)}" for k, v in detail["settings"].items()] or ["-"]
    print(f"{detail['id']}  ({detail['kind']}, {detail['name']!r})")
    print(f"  active       {text(detail['active'])}")
    print(f"  api port     {detail['api_port']} (worker probes on {detail['probe_port']})")
    print(f"  settings     {settings[0]}")
    for line in settings[1:]:
        print(f"               {line}")
    print(f"  credentials  {'stored (never shown)' if detail['has_credentials'] else 'none'}")
    print(f"  created      {detail['created_at']}, updated {detail['updated_at']}")
    print("health")
    print(f"  state        {health['state']}")
    print(f"  api          {api_column(health)}")
    print(f"  worker       {worker_column(health)}")
    print(f"  queue        {text(health['queue_length'])}")
    print(f"  restarts     {health['restarts']}")
    print(f"  last error   {text(health['last_error'])}")
    if health["processes"]:
        rows = [[p["role"], p["state"], p["desired"], text(p["pid"]), str(p["restarts"]),
                 _seconds(p["uptime_seconds"]), text(p["last_error"], 60)]
                for p in health["processes"].values()]
        print(_indent(table(["ROLE", "STATE", "DESIRED", "PID", "RESTARTS", "UPTIME", "LAST ERROR"], rows)))
    shown = events[: args.history]
    print(f"history (newest first, {len(shown)} of {len(events)})")
    if shown:
        print(_indent(table(["AT", "EVENT", "DETAIL"], [[e["at"], e["event"], text(e["detail"], 80)]
                                                        for e in shown])))
    return OK


def cmd_create(client: Client, args) -> int:
    body = {"kind": args.kind, "name": args.name, "settings": pairs(args.setting, "--setting"),
            "active": args.active}
    if args.credential:
        body["credentials"] = pairs(args.credential, "--credential", ask=True)
    if args.api_port is not None:
        body["api_port"] = args.api_port
    created = client.call("POST", "/integrations", json=body)
    print(f"created {created['id']} (api port {created['api_port']}, "
          f"{'active: starting now' if created['active'] else 'inactive: `hubctl activate ' + created['id'] + '`'})")
    print(f"API token: {created['api_token']}")
    print("note: the token is shown only this once; store it now for the instance's callers "
          f"(`hubctl token {created['id']}` issues a new one)")
    return OK


def cmd_action(client: Client, args) -> int:
    path = args.command if not args.role else f"{args.role}/{args.command}"
    answer = client.call("PUT", f"/integrations/{args.id}/{path}")
    processes = ", ".join(f"{role} {p['state']}" for role, p in answer["processes"].items()) or "no processes"
    print(f"{args.id}: {args.command}{' ' + args.role if args.role else ''} done; "
          f"state {answer['state']} ({processes})")
    return OK


def cmd_logs(client: Client, args) -> int:
    answer = client.get(f"/integrations/{args.id}/logs", role="worker" if args.worker else "api", lines=args.lines)
    for line in answer["lines"]:
        print(line)
    if not answer["lines"]:
        print(f"(the {answer['role']} log of {args.id} is empty)", file=sys.stderr)
    return OK


def cmd_token(client: Client, args) -> int:
    answer = client.call("POST", f"/integrations/{args.id}/token")
    print(f"new API token for {answer['id']}: {answer['api_token']}")
    print("note: the token is shown only this once; the old token no longer works (an active API restarts "
          "with the new one)")
    return OK


def cmd_replay(client: Client, args) -> int:
    answer = client.call("PUT", f"/integrations/{args.id}/replay_dead_letters",
                         params={"key": args.task} if args.task else None)
    if args.task:
        print(f"{answer['key']}: sent to the worker again (status {answer['status']} until it is taken)")
    else:
        print(f"{answer['replayed']} dead-lettered message(s) sent to the worker again")
    return OK


def pairs(items: list[str], option: str, ask: bool = False) -> dict[str, str]:
    """`key=value` options into a dict; with `ask`, a bare `key` is asked for without echo."""
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key.strip():
            raise UsageError(f"{option} {item!r}: expected key=value")
        if not sep:
            if not ask:
                raise UsageError(f"{option} {item!r}: expected key=value")
            value = getpass.getpass(f"{key}: ")
        result[key.strip()] = value
    return result


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def _indent(block: str, by: str = "  ") -> str:
    return "\n".join(by + line for line in block.splitlines())


# --- the command line -------------------------------------------------------------------------------
def connection_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """--url/--token/--timeout, accepted before or after the command (`hubctl list --url ...`)."""
    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--url", default=default(os.environ.get("HUB_MANAGER_URL", DEFAULT_URL)),
                        help=f"the manager's base URL (env HUB_MANAGER_URL; default {DEFAULT_URL})")
    parser.add_argument("--token", default=default(os.environ.get("HUB_MANAGER_TOKEN")),
                        help="the manager's bearer token (env HUB_MANAGER_TOKEN)")
    parser.add_argument("--timeout", type=float, default=default(60.0),
                        help="seconds to wait for an answer (default 60; stopping an instance may take a while)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubctl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    connection_options(parser, defaults=True)
    common = argparse.ArgumentParser(add_help=False)
    connection_options(common, defaults=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func, help_text: str, with_id: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common])
        if with_id:
            sub.add_argument("id", help="the integration's id, e.g. erp-bennys-auto (see `hubctl list`)")
        sub.set_defaults(func=func, role=None)
        return sub

    sub = command("kinds", cmd_kinds, "the installed kinds with their settings and credentials", with_id=False)
    sub.add_argument("--json", action="store_true", help="print the API's answer (with the JSON schemas)")
    sub = command("list", cmd_list, "every integration with its health, as a table", with_id=False)
    sub.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    command("health", cmd_health, "one line per integration; exit code 1 if an active one is not running",
            with_id=False)
    sub = command("show", cmd_show, "configuration (without secrets), health and recent history")
    sub.add_argument("--history", type=int, default=10, metavar="N", help="events shown (default %(default)s)")
    sub.add_argument("--json", action="store_true", help="print the API's answer as JSON")

    sub = command("create", cmd_create, "register an integration and print its API token (shown only once)",
                  with_id=False)
    sub.add_argument("--kind", required=True, help="the integration kind, e.g. erp")
    sub.add_argument("--name", required=True, help='what it serves, e.g. "Bennys Auto" (the id derives from it)')
    sub.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                     help="a kind setting, repeatable (erp: adapter=http, base_url=http://...; see `hubctl kinds`)")
    sub.add_argument("--credential", action="append", default=[], metavar="KEY[=VALUE]",
                     help="a credential, repeatable (erp: username, password); without =VALUE it is asked for")
    sub.add_argument("--active", action="store_true", help="start it at once (default: registered inactive)")
    sub.add_argument("--api-port", type=int, help="the instance API's port (default: the next free one)")

    command("activate", cmd_action, "mark active and start its processes")
    command("deactivate", cmd_action, "mark inactive and stop its processes")
    command("kill", cmd_action, "stop its processes at once (SIGKILL); it stays active")
    for name in ("start", "stop", "restart"):
        sub = command(name, cmd_action, f"{name} the API and the worker, or one of them")
        which = sub.add_mutually_exclusive_group()
        which.add_argument("--api", dest="role", action="store_const", const="api", help=f"{name} only the API")
        which.add_argument("--worker", dest="role", action="store_const", const="worker",
                           help=f"{name} only the worker")

    sub = command("logs", cmd_logs, "the last lines of the API's (or the worker's) log")
    sub.add_argument("--worker", action="store_true", help="the worker's log instead of the API's")
    sub.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default %(default)s, max 5000)")
    sub = command("replay", cmd_replay, "send the instance's dead-lettered tasks to its worker again")
    sub.add_argument("--task", metavar="KEY", help="only this task (an order's uniqueid)")
    command("token", cmd_token, "issue a new API token for the instance (shown once; the old one stops working)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return exc.code if isinstance(exc.code, int) else USAGE
    if not args.token:
        parser.print_usage(sys.stderr)
        print("hubctl: error: no token; pass --token or set HUB_MANAGER_TOKEN", file=sys.stderr)
        return USAGE
    if not re.match(r"^https?://[^/\s]+", args.url):
        print(f"hubctl: error: --url {args.url!r} is not an http(s):// URL", file=sys.stderr)
        return USAGE
    client = Client(args.url, args.token, args.timeout)
    try:
        return args.func(client, args)
    except UsageError as exc:
        print(f"hubctl: error: {exc}", file=sys.stderr)
        return USAGE
    except Unreachable as exc:
        print(f"hubctl: {exc}", file=sys.stderr)
        return UNREACHABLE
    except ApiError as exc:
        print(f"hubctl: error: {exc.message} (HTTP {exc.status}, {exc.code})", file=sys.stderr)
        for field, problem in exc.fields.items():
            print(f"  {field}: {problem}", file=sys.stderr)
        if exc.status == 401:
            print("  check --token / HUB_MANAGER_TOKEN (the manager's HUB_API_TOKEN)", file=sys.stderr)
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
