"""The gcore source's job: for each product asked for, a Gcore usage report created, waited for and
downloaded (the products of `all` at the same time, on threads sharing the account's token), then the
client's non-zero rows written as the report file (CSV, Gcore's columns; `all` adds Product). A product
that fails is named in the job's summary beside the others' rows; the job fails only if every one did."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from hub_runtime.errors import PermanentError, TaskFailure, TransientError
from hub_runtime.kinds import KindConfigError

from ..base import JobContext, Produced
from .client import GcoreClient
from .kind import KIND, GcoreCredentials, GcoreSettings, settings_from_environment
from .params import ALL, PRODUCTS, GcoreParams
from .rows import client_rows, write_csv
from .tokens import TokenManager
from .transport import Stopped, Transport

log = logging.getLogger("report_api.gcore")

STEPS = 4  # features, create, wait, download: a product's share of the progress


class Gcore:
    """The gcore source's state in one process: its settings and one token manager per account, shared by
    every job and thread (one login per account, reused)."""

    def __init__(self, settings: GcoreSettings | None = None):
        self._settings = settings
        self._tokens: dict[str, TokenManager] = {}
        self._lock = threading.Lock()

    @property
    def settings(self) -> GcoreSettings:
        return self._settings or settings_from_environment()

    def tokens(self, credentials: GcoreCredentials) -> TokenManager:
        key = hashlib.sha256(json.dumps(credentials.model_dump(), sort_keys=True).encode()).hexdigest()
        with self._lock:
            if key not in self._tokens:
                self._tokens[key] = TokenManager(Transport(self.settings), credentials,
                                                 self.settings.token_refresh_margin_seconds)
            return self._tokens[key]

    def client(self, stored_credentials, stop: threading.Event | None = None) -> GcoreClient:
        """A client for the instance's account (`RuntimeSettings.credentials`); `stop` cuts its waits short."""
        transport = Transport(self.settings, stop) if stop is not None else Transport(self.settings)
        return GcoreClient(self.settings, transport, self.tokens(credentials_of(stored_credentials)))

    # --- the job ---------------------------------------------------------------------------------------------
    def generate(self, params: GcoreParams, ctx: JobContext) -> Produced:
        started = time.monotonic()
        client = self.client(ctx.env.settings.credentials, stop=ctx.cancel)
        products = params.products()
        parts = {p: ctx.output.with_name(f".{ctx.task_id}.{p}.partial") for p in products}
        done: dict[str, str] = {}  # product -> Gcore uuid
        errors: list[dict] = []
        failures: list[TaskFailure] = []
        try:
            with ThreadPoolExecutor(max_workers=len(products), thread_name_prefix="gcore") as pool:
                futures = {pool.submit(fetch, client, p, params, parts[p]): p for p in products}
                self._follow(futures, ctx)
            if ctx.cancel.is_set():
                ctx.stopped()
            for future, product in futures.items():
                label = PRODUCTS[product][1]
                try:
                    done[label] = future.result()
                except Stopped:
                    ctx.stopped()
                except TaskFailure as exc:
                    log.warning("gcore product failed", extra={"product": label, "reason_code": exc.reason_code})
                    failures.append(exc)
                    errors.append({"product": label, "reason_code": exc.reason_code, "message": exc.reason_text})
            if not done:
                raise _all_failed(failures, errors)
            frames = [client_rows(parts[p], params.gcore_user_id, PRODUCTS[p][1] if params.product == ALL else None)
                      for p in products if PRODUCTS[p][1] in done]
            rows = write_csv(frames, ctx.output)
        finally:
            for path in parts.values():
                path.unlink(missing_ok=True)
        summary = {"rows": rows, "products": {label: {"uuid": uuid} for label, uuid in done.items()},
                   "errors": errors, "seconds": round(time.monotonic() - started, 3)}
        log.info("gcore report written", extra={"rows": rows, "failed_products": [e["product"] for e in errors]})
        return Produced(rows=rows, summary=summary)

    @staticmethod
    def _follow(futures: dict[Future, str], ctx: JobContext) -> None:
        """Wait for the products while recording progress (which also notices a cancel or a stop)."""
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            ctx.progress((len(futures) - len(pending)) / len(futures))


def fetch(client: GcoreClient, product: str, params: GcoreParams, path: Path) -> str:
    """One product's usage report downloaded (CSV) into `path`; returns its Gcore uuid."""
    features = client.features(PRODUCTS[product][0])
    uuid = client.create_report(features, params.start_date.isoformat(), params.end_date.isoformat())
    client.wait_done(uuid)
    client.download(uuid, path)
    return uuid


def credentials_of(stored) -> GcoreCredentials:
    """The instance's stored credentials as the kind's model (PermanentError naming the problem, never a value)."""
    if stored is None:
        raise PermanentError("gcore_no_credentials", "this instance has no Gcore credentials (set them in the "
                             "manager: username and password, or api_key)")
    try:
        return KIND.credentials_from(stored)
    except KindConfigError as exc:
        raise PermanentError("gcore_bad_credentials", str(exc)) from None


def _all_failed(failures: list[TaskFailure], errors: list[dict]) -> TaskFailure:
    if len(failures) == 1:
        return failures[0]
    text = "; ".join(f"{e['product']}: {e['reason_code']}: {e['message']}" for e in errors)[:1000]
    if any(isinstance(f, TransientError) for f in failures):
        return TransientError("gcore_unavailable", f"every product failed: {text}")
    return PermanentError("gcore_all_failed", f"every product failed: {text}")
