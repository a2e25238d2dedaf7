"""The use case: put one order line on the customer's worksheet, exactly once."""

from __future__ import annotations

import logging

from hub_runtime.errors import PermanentError
from hub_runtime.worker import Job

from .adapters.base import WORKSHEET_CLOSED, Credentials, ErpAdapter

log = logging.getLogger("erp_worker")


def create_order_line(adapter: ErpAdapter, job: Job, *, always_look: bool = False, stored_login=None) -> dict:
    """Log in, open the worksheet, and add the line unless a line with this uniqueid already exists
    (a redelivered message, or an earlier attempt whose answer was lost). On any failure, what the
    adapter saw is saved as the task's artifacts.

    The order's own ERP login wins; an order without one uses `stored_login`, the workshop's login stored
    in the manager (`kind.ErpCredentials`, handed to the worker in its secrets file).

    The first attempt of a task skips the look-up (see `line_may_exist`) unless `always_look`
    (HUB_ERP_ALWAYS_LOOK_UP, e.g. while another system may still be writing lines with these uniqueids)."""
    try:
        return _create_order_line(adapter, job, login(job, stored_login), always_look or line_may_exist(job))
    except Exception:
        save_evidence(adapter, job)
        raise
    finally:
        adapter.order_done()


def line_may_exist(job: Job) -> bool:
    """Whether an ERP line carrying this order's uniqueid may already exist; False only on the task's very
    first attempt, where the look-up (on the demo ERP's pages: a worksheet page and its late-loaded lines)
    is skipped.

    Why a first attempt cannot find a line: only this task's own attempts write lines with its uniqueid
    (the uniqueid is the task's idempotency key: a repeated POST returns the same task, never a new one).
    `TaskStore.begin` increments `attempts` under a row lock and commits *before* the handler runs, so
    every delivery that reaches the handler has a distinct, durable count: `job.task.attempts == 1` only
    for the first delivery ever; a redelivery after a crash or `kill -9` (even one that died after the ERP
    saved the line but before the status was committed), a requeue on stop, or a dead-letter replay sees
    >= 2. Within one delivery, the worker's in-process retries have `job.attempt >= 2` (e.g. after a 500
    that came after the save). So when both counts are 1, no earlier attempt ran the adapter, and nothing
    can have added the line. A second delivery running *at the same time* as the first would need two
    consumers of one task: there is one worker per workshop queue with prefetch 1, whose handler runs to
    its end before the next message is taken (a message duplicated by the outbox relay, or redelivered
    after a lost connection, is seen after the first delivery is final and skipped by `begin`); two
    concurrent deliveries could make two lines with or without the look-up, so skipping it does not
    weaken the guarantee."""
    return job.task.attempts > 1 or job.attempt > 1


def save_evidence(adapter: ErpAdapter, job: Job) -> None:
    if job.artifacts is None:
        return
    try:
        for name, data in adapter.evidence().items():
            job.artifacts.write(job.task.id, f"attempt{job.attempt}-{name}", data)
    except Exception:
        log.warning("could not save the failure evidence", exc_info=True)


def login(job: Job, stored_login) -> Credentials:
    if job.secret:
        return Credentials(job.secret["username"], job.secret["password"])
    if stored_login is not None:
        return Credentials(stored_login.username, stored_login.password)
    raise PermanentError("credentials_missing", "the order carries no ERP login and the workshop has none stored")


def _create_order_line(adapter: ErpAdapter, job: Job, credentials: Credentials, look: bool) -> dict:
    order = job.task.payload
    adapter.login(credentials)
    if not look:
        worksheet, line = adapter.add_new_line(order["worksheet"], order["product_nr"], order["product_amount"],
                                               order["uniqueid"])
        log.info("order line created", extra={"line_id": line.id})
        return {"line_id": line.id, "worksheet": worksheet.number, "already_present": False}
    worksheet = adapter.find_worksheet(order["worksheet"])
    existing = adapter.find_line(worksheet, order["uniqueid"])
    if existing is not None:
        log.info("order line already in the ERP; not adding another", extra={"line_id": existing.id})
        return {"line_id": existing.id, "worksheet": worksheet.number, "already_present": True}
    if worksheet.status != "open":
        raise PermanentError(WORKSHEET_CLOSED, f"worksheet {worksheet.number} is {worksheet.status}")
    line = adapter.add_line(worksheet, order["product_nr"], order["product_amount"], order["uniqueid"])
    log.info("order line created", extra={"line_id": line.id})
    return {"line_id": line.id, "worksheet": worksheet.number, "already_present": False}
