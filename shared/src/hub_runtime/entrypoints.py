"""The console scripts of every instance, so that a service's `cli.py` only says what is its own:

    def main(argv=None):
        run_api("erp-api", __doc__, "the workshop it serves", RuntimeSettings, create_app, argv)

`run_api` parses `PORT NAME [--host] [--workers] [--threads]`, validates the settings before forking, sets
up JSON logs and serves the Flask app under gunicorn (`web.serve`). `run_worker` parses `NAME`, builds the
worker from what the service's `plan` returns (its runtime, handler and helpers) and runs the worker loop
until SIGTERM."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import Flask

from .config import RuntimeSettings, load_settings
from .jsonlog import setup_logging
from .runtime import Runtime
from .web.serve import default_workers, instance_parser, serve_instance
from .worker import Job, Worker

S = TypeVar("S", bound=RuntimeSettings)


def run_api(service: str, description: str, name_help: str, settings_cls: type[S],
            create_app: Callable[[S, str], Flask], argv: list[str] | None = None, *, timeout: int = 60) -> None:
    """Serve an instance API: `create_app(settings, name)` runs in each gunicorn worker, after the fork."""
    args = instance_parser(service, description, name_help).parse_args(argv)
    settings = load_settings(settings_cls)  # fail here, with a clear message, before forking
    if args.workers is None:
        args.workers = default_workers()
    setup_logging(settings.log_level, settings.log_format, service=service, instance=args.name)

    def factory() -> Flask:
        setup_logging(settings.log_level, settings.log_format, service=service, instance=args.name)
        return create_app(settings, args.name)

    serve_instance(service, args.name, args, settings.data_dir, factory, timeout=timeout)


@dataclass
class WorkerPlan:
    """What a service's worker is made of. `on_start(worker)` runs before the loop (e.g. start a scheduler
    that wakes the worker's outbox relay), `on_stop()` after it, whichever way it ended."""

    runtime: Runtime
    handler: Callable[[Job], dict]
    on_idle: Callable[[], None] | None = None
    on_start: Callable[[Worker], None] | None = None
    on_stop: list[Callable[[], None]] = field(default_factory=list)


def worker_parser(service: str, description: str, name_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=service, description=description)
    parser.add_argument("name", help=name_help)
    return parser


def run_worker(service: str, description: str, name_help: str, settings_cls: type[S],
               plan: Callable[[S, str], WorkerPlan], argv: list[str] | None = None) -> None:
    """Run an instance's worker loop until SIGTERM/SIGINT."""
    args = worker_parser(service, description, name_help).parse_args(argv)
    settings = load_settings(settings_cls)
    setup_logging(settings.log_level, settings.log_format, service=service, instance=args.name)
    parts = plan(settings, args.name)
    worker = Worker(parts.runtime, parts.handler, on_idle=parts.on_idle)
    worker.install_signal_handlers()
    try:
        if parts.on_start is not None:
            parts.on_start(worker)
        worker.run()
    finally:
        for stop in parts.on_stop:
            try:
                stop()
            except Exception:
                logging.getLogger(service).exception("stopping %s failed", getattr(stop, "__qualname__", stop))
