"""PeriodicThread: passes repeat until stopped, and a pass that raises is logged without ending the loop."""

from __future__ import annotations

import logging
import threading

from hub_runtime.periodic import PeriodicThread


class Counting(PeriodicThread):
    def __init__(self):
        super().__init__("counting", 0.01)
        self.passes = 0
        self.third = threading.Event()

    def tick(self) -> None:
        self.passes += 1
        if self.passes == 1:
            raise RuntimeError("the first pass fails")
        if self.passes >= 3:
            self.third.set()


def test_a_failing_pass_is_logged_and_the_loop_goes_on(caplog):
    thread = Counting()
    with caplog.at_level(logging.ERROR, logger="hub.periodic"):
        thread.start()
        assert thread.third.wait(5), "the loop stopped after the failing pass"
        thread.stop()
    assert not thread._thread.is_alive()
    assert [r.getMessage() for r in caplog.records] == ["counting: a pass failed"]
    assert caplog.records[0].exc_info[1].args == ("the first pass fails",)
