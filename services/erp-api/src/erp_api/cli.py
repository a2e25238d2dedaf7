"""`erp-api PORT WORKSHOP`: serve one workshop's API under gunicorn (as the old `python api.py port
workshop`, with a production server)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil

from hub_runtime.config import RuntimeSettings, load_settings
from hub_runtime.db import normalize_url
from hub_runtime.jsonlog import setup_logging
from hub_runtime.web.serve import serve_gunicorn


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="erp-api", description=__doc__)
    parser.add_argument("port", type=int, help="TCP port to listen on")
    parser.add_argument("workshop", help='the workshop this instance serves, e.g. "Bennys Auto"')
    parser.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes (default: HUB_API_WORKERS, else 2 on PostgreSQL "
                             "and 1 on SQLite; see default_workers)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    return parser.parse_args(argv)


def default_workers(database_url: str, environ=os.environ) -> int:
    """How many gunicorn worker processes serve the API unless `--workers` says otherwise.

    `HUB_API_WORKERS` when set; else on PostgreSQL 2 (at most one per core): each process group-commits
    its own requests, and their outbox relays claim rows with `SELECT ... FOR UPDATE SKIP LOCKED`, so two
    processes use two cores without publishing a message twice. On SQLite 1: there is one writer per
    database file anyway (the two processes' group commits would take turns on its write lock), and the
    SQLite relay reads its rows without claiming them, so two relays could publish the same message twice
    (consumers are idempotent, so it is safe, but wasted). Each extra process costs its own memory (about
    as much as the first worker, see bench/README.md) and database connections (`HUB_DB_POOL_SIZE` + 1)."""
    configured = environ.get("HUB_API_WORKERS", "").strip()
    if configured:
        try:
            workers = int(configured)
        except ValueError:
            raise SystemExit(f"HUB_API_WORKERS must be a whole number, not {configured!r}") from None
        if not 1 <= workers <= 64:
            raise SystemExit("HUB_API_WORKERS must be between 1 and 64")
        return workers
    if normalize_url(database_url).startswith("postgresql"):
        return max(1, min(2, os.cpu_count() or 1))
    return 1


def _worker_exited(_server, worker) -> None:
    from hub_runtime.metrics import process_gone

    process_gone(worker.pid)


def main(argv=None) -> None:
    args = parse_args(argv)
    settings = load_settings(RuntimeSettings)  # fail here, with a clear message, before forking
    if args.workers is None:
        args.workers = default_workers(settings.database_url)
    setup_logging(settings.log_level, settings.log_format, service="erp-api", workshop=args.workshop)
    os.environ["HUB_SERVER_PID"] = str(os.getpid())  # /kill stops the whole server, not one worker
    hooks = {}
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # /metrics sums the counters of every worker process, whichever one serves the scrape. Set before
        # prometheus_client is first imported (in the workers, by the app), which reads it at import.
        folder = settings.data_dir / "metrics" / f"erp-api-{os.getpid()}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        hooks = {"child_exit": _worker_exited, "on_exit": lambda _server: shutil.rmtree(folder, ignore_errors=True)}
    logging.getLogger("erp_api").info("erp-api for %r on http://%s:%d (%d workers x %d threads)", args.workshop,
                                      args.host, args.port, args.workers, args.threads)

    def factory():
        from .app import create_app

        setup_logging(settings.log_level, settings.log_format, service="erp-api", workshop=args.workshop)
        return create_app(settings, args.workshop)

    serve_gunicorn(factory, {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "graceful_timeout": 10,
        "timeout": 60,
        "accesslog": None,
        "loglevel": "warning",
        "proc_name": f"erp-api[{args.workshop}]",
        **hooks,
    })


if __name__ == "__main__":
    main()
