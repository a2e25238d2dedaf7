"""The task store: accepting tasks idempotently (task + first event + outbox message in one transaction),
moving them through their statuses, and the views the control endpoints show.

- `views`: `TaskView` (never the secret), `Submitted`, `Started`, `iso`;
- `group_commit`: concurrent submits written in one transaction (leader/follower);
- `writer`, `sqlite_writer`, `postgres_writer`: each database's statements on every order's path;
- `store`: `TaskStore`, which puts them together.
"""

from .store import TaskStore, reencrypt_task_secrets
from .views import Started, Submitted, TaskView, iso

__all__ = ["Started", "Submitted", "TaskStore", "reencrypt_task_secrets", "TaskView", "iso"]
