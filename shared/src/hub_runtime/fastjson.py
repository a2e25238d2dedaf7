"""JSON on orjson where it is on every order's path (request bodies, answers, the access log line, the
group commit's batch), with the standard library as the fallback for what orjson refuses but Python's
`json` accepts: a lone UTF-16 surrogate when parsing; a lone surrogate or an integer beyond 64 bits when
writing. Output is compact UTF-8 (not ASCII-escaped; the fallback's is), keys in insertion order unless
`sort_keys`; NaN is written as null. One difference stays: orjson parses an integer beyond 64 bits as a
float (every numeric field of the hub's requests has limits far below that)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_bytes(obj: Any, default: Callable[[Any], Any] | None = str, *, sort_keys: bool = False,
                options: int = 0) -> bytes:
    options |= _OPTIONS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(obj, default=default, option=options)
    except TypeError:  # e.g. a lone surrogate in a string: the standard library writes it as an escape
        return json.dumps(obj, default=default, sort_keys=sort_keys, separators=(",", ":")).encode()


def dumps(obj: Any, default: Callable[[Any], Any] | None = str, *, sort_keys: bool = False) -> str:
    return dumps_bytes(obj, default, sort_keys=sort_keys).decode()


def loads(data: str | bytes, **kwargs) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data, **kwargs)  # raises ValueError when it is not JSON at all
