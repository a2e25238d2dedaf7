"""The use case: put one order line on the customer's worksheet, exactly once."""

from __future__ import annotations

import logging

from hub_runtime.worker import Job, PermanentError

from .adapters.base import WORKSHEET_CLOSED, Credentials, ErpAdapter

log = logging.getLogger("erp_worker")


def create_order_line(adapter: ErpAdapter, job: Job) -> dict:
    """Log in, open the worksheet, and add the line unless a line with this uniqueid already exists
    (a redelivered message, or an earlier attempt whose answer was lost). On any failure, what the
    adapter saw is saved as the task's artifacts."""
    try:
        return _create_order_line(adapter, job)
    except Exception:
        save_evidence(adapter, job)
        raise
    finally:
        adapter.order_done()


def save_evidence(adapter: ErpAdapter, job: Job) -> None:
    if job.artifacts is None:
        return
    try:
        for name, data in adapter.evidence().items():
            job.artifacts.write(job.task.id, f"attempt{job.attempt}-{name}", data)
    except Exception:
        log.warning("could not save the failure evidence", exc_info=True)


def _create_order_line(adapter: ErpAdapter, job: Job) -> dict:
    order = job.task.payload
    if not job.secret:
        raise PermanentError("credentials_missing", "the order carries no ERP credentials")
    adapter.login(Credentials(job.secret["username"], job.secret["password"]))
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
