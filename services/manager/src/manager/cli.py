"""`manager [PORT]`: the manager service. It cleans up what a previous run left, starts every active
integration, supervises them, and serves the control API until SIGTERM/Ctrl-C, then stops them all."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from werkzeug.serving import make_server

from hub_runtime.config import load_settings
from hub_runtime.jsonlog import setup_logging

from .app import build_manager, create_app
from .settings import ManagerSettings

log = logging.getLogger("manager")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="manager", description=__doc__)
    parser.add_argument("port", type=int, nargs="?", default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--rotate-secrets", action="store_true",
                        help="re-encrypt every stored credential and token (the registry's and the "
                             "instances' tasks') under the first key of HUB_SECRET_KEYS, then exit")
    args = parser.parse_args(argv)
    settings = load_settings(ManagerSettings)
    setup_logging(settings.log_level, settings.log_format, service="manager")
    manager = build_manager(settings)
    if args.rotate_secrets:
        integrations, tasks = manager.rotate_secrets()
        print(f"re-encrypted the secrets of {integrations} integrations and the credentials of {tasks} tasks")
        return
    app = create_app(settings, manager)
    # One process by design: it owns the instances' processes. The API is for a GUI and operators, not
    # for traffic, so werkzeug's threaded server is enough.
    server = make_server(args.host, args.port, app, threaded=True)
    stopped = threading.Event()

    def stop(*_):
        if not stopped.is_set():
            stopped.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    manager.boot()
    manager.supervisor.start()
    manager.poller.start()
    log.info("manager listening on http://%s:%d", args.host, server.server_port)
    try:
        server.serve_forever()
    finally:
        manager.poller.stop()
        log.info("stopping every instance")
        manager.supervisor.shutdown(stop_children=True)
        log.info("manager stopped")


if __name__ == "__main__":
    main()
