"""Serving an instance's Flask app under gunicorn from a console script (no config file):
`instance_parser` gives every API the same command line (`PORT NAME [--host] [--workers] [--threads]`),
`serve_instance` runs it."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from gunicorn import glogging
from gunicorn.app.base import BaseApplication


class _OneLineLogger(glogging.Logger):
    """gunicorn's own messages (a malformed request, a worker timeout) through the process's log handler,
    one line each in its format (`jsonlog.setup_logging`). gunicorn's handler prints `%(process)d`, which
    the hub's logging leaves unset, so each of its messages became a 45-line `--- Logging error ---`."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            if getattr(handler, "_gunicorn", False):
                self.error_log.removeHandler(handler)
        self.error_log.propagate = True


class _Server(BaseApplication):
    def __init__(self, factory: Callable, options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self):
        self.cfg.set("logger_class", _OneLineLogger)
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()


def serve_gunicorn(factory: Callable, options: dict) -> None:
    """Run gunicorn with these settings; `factory` builds the app in each worker process, after the fork."""
    _Server(factory, options).run()


def instance_parser(prog: str, description: str, name_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("port", type=int, help="TCP port to listen on")
    parser.add_argument("name", help=name_help)
    parser.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes (default: HUB_API_WORKERS, else 1; see default_workers)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    return parser


def default_workers(environ=os.environ) -> int:
    """How many gunicorn worker processes serve the API unless `--workers` says otherwise:
    `HUB_API_WORKERS`, else 1.

    Several processes are safe on PostgreSQL (each group-commits its own requests; the worker publishes)
    and use more cores (on the 2-core benchmark machine 2 took 1.3-1.4 times the orders/s of 1), but
    each costs about 90 MiB more, and an instance usually serves a few orders a minute, hence 1 (figures in
    docs/erp-orders.md, "Intake"). On SQLite keep 1: there is one writer per database file anyway."""
    configured = environ.get("HUB_API_WORKERS", "").strip()
    if not configured:
        return 1
    try:
        workers = int(configured)
    except ValueError:
        raise SystemExit(f"HUB_API_WORKERS must be a whole number, not {configured!r}") from None
    if not 1 <= workers <= 64:
        raise SystemExit("HUB_API_WORKERS must be between 1 and 64")
    return workers


def serve_instance(service: str, name: str, args: argparse.Namespace, data_dir: Path,
                   factory: Callable, *, timeout: int = 60) -> None:
    """Serve an instance API: `/kill` stops the whole server (not one worker), and with several workers
    `/metrics` sums the counters of every process, whichever one serves the scrape."""
    os.environ["HUB_SERVER_PID"] = str(os.getpid())
    hooks = {}
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # set before prometheus_client is first imported (in the workers, by the app): it reads it at import
        folder = data_dir / "metrics" / f"{service}-{os.getpid()}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        hooks = {"child_exit": _worker_exited, "on_exit": lambda _server: shutil.rmtree(folder, ignore_errors=True)}
    logging.getLogger(service).info("%s %r on http://%s:%d (%d workers x %d threads)", service, name, args.host,
                                    args.port, args.workers, args.threads)
    serve_gunicorn(factory, {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "graceful_timeout": 10,
        "timeout": timeout,
        "accesslog": None,
        "loglevel": "warning",
        "proc_name": f"{service}[{name}]",
        **hooks,
    })


def _worker_exited(_server, worker) -> None:
    from ..metrics import process_gone

    process_gone(worker.pid)
