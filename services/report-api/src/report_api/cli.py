"""`report-api PORT NAME`: serve one report instance's API under gunicorn."""

from __future__ import annotations

import argparse

from hub_runtime.config import load_settings
from hub_runtime.jsonlog import setup_logging
from hub_runtime.web.serve import default_workers, instance_parser, serve_instance

from .settings import ReportSettings


def parse_args(argv=None) -> argparse.Namespace:
    return instance_parser("report-api", __doc__, 'the instance\'s name, e.g. "Demo reports"').parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    settings = load_settings(ReportSettings)  # fail here, with a clear message, before forking
    if args.workers is None:
        args.workers = default_workers()
    setup_logging(settings.log_level, settings.log_format, service="report-api", instance=args.name)

    def factory():
        from .app import create_app

        setup_logging(settings.log_level, settings.log_format, service="report-api", instance=args.name)
        return create_app(settings, args.name)

    # a thread receiving a multi-GB upload must not get its worker killed
    serve_instance("report-api", args.name, args, settings.data_dir, factory, timeout=120)


if __name__ == "__main__":
    main()
