"""`report-api PORT NAME`: serve one report instance's API under gunicorn."""

from __future__ import annotations

import argparse
import logging
import os

from hub_runtime.config import load_settings
from hub_runtime.jsonlog import setup_logging
from hub_runtime.web.serve import serve_gunicorn

from .settings import ReportSettings


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="report-api", description=__doc__)
    parser.add_argument("port", type=int, help="TCP port to listen on")
    parser.add_argument("name", help='the instance\'s name, e.g. "Demo reports"')
    parser.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    settings = load_settings(ReportSettings)  # fail here, with a clear message, before forking
    setup_logging(settings.log_level, settings.log_format, service="report-api", instance=args.name)
    os.environ["HUB_SERVER_PID"] = str(os.getpid())  # /kill stops the whole server, not one worker
    logging.getLogger("report_api").info("report-api %r on http://%s:%d", args.name, args.host, args.port)

    def factory():
        from .app import create_app

        setup_logging(settings.log_level, settings.log_format, service="report-api", instance=args.name)
        return create_app(settings, args.name)

    serve_gunicorn(factory, {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "graceful_timeout": 10,
        "timeout": 120,  # a thread receiving a multi-GB upload must not get its worker killed
        "accesslog": None,
        "loglevel": "warning",
        "proc_name": f"report-api[{args.name}]",
    })


if __name__ == "__main__":
    main()
