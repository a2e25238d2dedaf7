"""Logging: one JSON object per line, carrying the request id, instance and task key of the context.

`log_context(uniqueid=...)` binds fields for every line logged inside it, so each line about an order
carries its uniqueid. Keys that look like secrets are redacted from `extra=` fields.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from collections.abc import Mapping
from contextlib import contextmanager
from types import MappingProxyType

from . import fastjson

_context: contextvars.ContextVar[Mapping] = contextvars.ContextVar("hub_log_context", default=MappingProxyType({}))
_static: dict = {}  # process-wide fields (service, instance); threads do not inherit context variables

SECRET_WORDS = ("password", "secret", "token", "authorization", "credential", "api_key")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


_SECRET_KEY = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)
_secret_verdicts: dict[str, bool] = {}  # the keys a process logs are few: each is searched once


def is_secret_key(key: str) -> bool:
    verdict = _secret_verdicts.get(key)
    if verdict is None:
        verdict = _SECRET_KEY.search(key) is not None
        if len(_secret_verdicts) < 4096:  # keys of redacted bodies come from callers: keep the cache bounded
            _secret_verdicts[key] = verdict
    return verdict


def redact(value):
    """Copy of a JSON-like value with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {k: "***" if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@contextmanager
def log_context(**fields):
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def new_context(**fields) -> None:
    """Start a fresh context on this thread (one per request), dropping the previous request's fields."""
    _context.set(MappingProxyType(fields))


def bind(**fields) -> None:
    """Add fields to the current context, e.g. the order's uniqueid once the request body is parsed."""
    _context.set({**_context.get(), **fields})


_SCALARS = (str, int, float, bool, type(None))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC, milliseconds), level, logger, msg, the process-wide and
    context fields, then the record's `extra=` fields (secret-looking keys redacted at any depth).

    Built for the request path: the timestamp's date and time are formatted once per second, scalar
    extras are copied as they are, and the encoder is made once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._second: tuple[int, str] = (-1, "")  # (epoch second, its text): one tuple, replaced atomically

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached
        return f"{cached[1]}.{int(record.msecs):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self._timestamp(record), "level": record.levelname, "logger": record.name,
                 "msg": record.getMessage()}
        if _static:
            entry.update(_static)
        entry.update(_context.get())
        for key, value in record.__dict__.items():
            if key in _STANDARD or key[0] == "_":
                continue
            if is_secret_key(key):
                entry[key] = "***"
            else:
                entry[key] = value if isinstance(value, _SCALARS) else redact(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return fastjson.dumps(entry)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ctx = " ".join(f"{k}={v}" for k, v in _context.get().items())
        line = f"{record.levelname:7} {record.name}: {record.getMessage()}" + (f" [{ctx}]" if ctx else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "INFO", fmt: str = "json", **static_fields) -> None:
    """Configure the root logger once per process; `static_fields` (service, instance) go on every line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # No formatter here prints a record's process, thread or multiprocessing names: skip looking them up
    # for every record (a request's access line is on the path of every order).
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    for noisy in ("werkzeug", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel("WARNING")
    # pika logs every lost connection at ERROR; the broker adapter reports them itself, as warnings.
    logging.getLogger("pika").setLevel("CRITICAL")
    _static.update(static_fields)
