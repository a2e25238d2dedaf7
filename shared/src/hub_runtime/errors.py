"""The hub's own errors, all derived from `HubError`.

- A handler, or an adapter it calls, ends its task with `PermanentError` (retrying cannot help) or asks for
  a retry with `TransientError`. Both are `TaskFailure`s with a stable `reason_code`, and siblings: an
  `except PermanentError` never catches a transient failure.
- `TaskCancelled` and `TaskInterrupted` are not failures: a handler that can stop half-way raises them when
  its task was cancelled, or the worker is stopping (see `hub_runtime.worker`).
- `IdempotencyConflict`: a task's key is already taken by another body (the task store's intake).
- `NotReplayable`: only a dead-lettered task can be sent to the worker again (`TaskStore.replay`).
- The broker port's errors (`BrokerError` and its kinds) live with the port, in `hub_runtime.broker.base`,
  and derive from `HubError` too.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of the errors the hub raises on purpose."""


class TaskFailure(HubError):
    """A handler's failure, with a stable `reason_code` (shown in the task's status) and a text."""

    def __init__(self, reason_code: str, reason_text: str):
        super().__init__(f"{reason_code}: {reason_text}")
        self.reason_code = reason_code
        self.reason_text = reason_text


class PermanentError(TaskFailure):
    """Retrying cannot help (bad credentials, unknown worksheet...): the task ends in `error`."""


class TransientError(TaskFailure):
    """Worth retrying (timeouts, 5xx, 429, a lost session)."""


class TaskCancelled(HubError):
    """Raised by a handler that stopped because `Job.cancel_requested()` said its task was cancelled."""


class TaskInterrupted(HubError):
    """Raised by a handler that stopped half-way because `Job.stop_requested()` said the worker is stopping;
    the task is put back and redelivered."""


class IdempotencyConflict(HubError):
    """The key is already used by a task with a different body."""


class NotReplayable(HubError):
    """The task is not dead-lettered (it is pending, done, or failed for a reason a replay cannot fix)."""

    def __init__(self, key: str, status: str, reason_code: str | None):
        super().__init__(f"task {key!r} is {status}" + (f" ({reason_code})" if reason_code else "")
                         + "; only a dead-lettered task can be replayed")
        self.key, self.status, self.reason_code = key, status, reason_code
