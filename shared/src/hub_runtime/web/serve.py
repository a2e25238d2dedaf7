"""Serving a Flask app factory under gunicorn from a console script (no config file)."""

from __future__ import annotations

from collections.abc import Callable

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, factory: Callable, options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()


def serve_gunicorn(factory: Callable, options: dict) -> None:
    """Run gunicorn with these settings; `factory` builds the app in each worker process, after the fork."""
    _Server(factory, options).run()
