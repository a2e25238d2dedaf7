"""A daemon thread that does one pass of some work every few seconds until stopped (the schedulers beside
the workers). A pass that raises is logged and the loop goes on."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("hub.periodic")


class PeriodicThread:
    """Subclasses say what one pass does (`tick`)."""

    def __init__(self, name: str, seconds: float):
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("%s: a pass failed", self._thread.name)
            self._stop.wait(self.seconds)
