"""`erp-api PORT WORKSHOP`: serve one workshop's API under gunicorn (as the old `python api.py port
workshop`, with a production server)."""

from __future__ import annotations

import argparse
import logging
import os

from hub_runtime.config import RuntimeSettings, load_settings
from hub_runtime.jsonlog import setup_logging
from hub_runtime.web.serve import serve_gunicorn


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="erp-api", description=__doc__)
    parser.add_argument("port", type=int, help="TCP port to listen on")
    parser.add_argument("workshop", help='the workshop this instance serves, e.g. "Bennys Auto"')
    parser.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    settings = load_settings(RuntimeSettings)  # fail here, with a clear message, before forking
    setup_logging(settings.log_level, settings.log_format, service="erp-api", workshop=args.workshop)
    os.environ["HUB_SERVER_PID"] = str(os.getpid())  # /kill stops the whole server, not one worker
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
    })


if __name__ == "__main__":
    main()
