"""Flask's JSON on orjson (`hub_runtime.fastjson`): every order's request body is parsed and its answer
written here. Flask's behaviour stays where it is visible: dates and datetimes, decimals, dataclasses and
anything else orjson does not know go through Flask's `default` (HTTP dates, strings, dicts), and key order
is kept unless `sort_keys`."""

from __future__ import annotations

import orjson
from flask.json.provider import DefaultJSONProvider

from .. import fastjson

_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class FastJSONProvider(DefaultJSONProvider):
    def _bytes(self, obj) -> bytes:
        return fastjson.dumps_bytes(obj, self.default, sort_keys=self.sort_keys, options=_PASSTHROUGH)

    def dumps(self, obj, **kwargs) -> str:
        if kwargs:  # indent, separators...: what orjson does not offer
            return super().dumps(obj, **kwargs)
        return self._bytes(obj).decode()

    def loads(self, s: str | bytes, **kwargs):
        return fastjson.loads(s, **kwargs)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self._bytes(obj) + b"\n", mimetype=self.mimetype)
