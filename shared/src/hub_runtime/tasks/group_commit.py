"""Group commit of concurrent submits: one transaction for every submit that arrives while one is written."""

from __future__ import annotations

import threading
from collections.abc import Callable

INSERTED, RESOLVE = "inserted", "resolve"  # outcomes of an entry besides an exception


class Entry:
    """One submit waiting for its group commit."""

    __slots__ = ("key", "fingerprint", "row", "outcome", "lead", "done")

    def __init__(self, key: str, fingerprint: str, row: dict):
        self.key, self.fingerprint, self.row = key, fingerprint, row
        self.outcome: str | BaseException | None = None
        self.lead = False  # set when the entry's caller is handed the lead
        self.done = threading.Lock()  # held until the entry is written or its caller leads (cheaper than an Event)
        self.done.acquire()


class GroupCommitter:
    """Leader/follower group commit without a thread of its own. A caller that finds no batch being
    written leads: it writes every entry queued so far (its own first) with `write`, which sets each
    entry's outcome, then wakes those callers and hands the lead to the first entry queued meanwhile.
    Alone (no concurrency), a caller writes its own entry at once, as a plain transaction would."""

    def __init__(self, write: Callable[[list[Entry]], None], max_batch: int = 100):
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[Entry] = []
        self._busy = False  # a leader is writing; invariant: not busy -> queue empty

    def run(self, entry: Entry) -> str:
        with self._lock:
            self._queue.append(entry)
            lead, self._busy = not self._busy, True
        if not lead:
            entry.done.acquire()
            if not entry.lead:
                return _outcome(entry)
        with self._lock:
            batch = self._queue[:self._max_batch]
            del self._queue[:self._max_batch]
        try:
            self._write(batch)
        finally:
            for other in batch:
                if other.outcome is None:  # write() raised (a bug) or was interrupted
                    other.outcome = RuntimeError("group commit failed")
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._busy = False
                else:
                    successor.lead = True
            for other in batch:
                if other is not entry:
                    other.done.release()
            if successor is not None:
                successor.done.release()
        return _outcome(entry)


def _outcome(entry: Entry) -> str:
    if isinstance(entry.outcome, BaseException):
        raise entry.outcome
    return entry.outcome
