"""hub_runtime.fastjson and Flask's JSON provider on it: orjson where it can, the standard library where
orjson refuses what Python's json accepts."""

import dataclasses
import datetime
import decimal
import json

import pytest
from flask import Flask

from hub_runtime import fastjson
from hub_runtime.web.json import FastJSONProvider


def test_round_trips_and_keeps_key_order():
    value = {"b": 1, "a": [1.5, None, True, "ß"], 3: "int key"}
    assert fastjson.loads(fastjson.dumps(value)) == {"b": 1, "a": [1.5, None, True, "ß"], "3": "int key"}
    assert list(json.loads(fastjson.dumps({"b": 1, "a": 2}))) == ["b", "a"]
    assert fastjson.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a":2,"b":1}'


def test_what_orjson_refuses_goes_to_the_standard_library():
    assert fastjson.loads('"\\ud800"') == "\ud800"  # a lone surrogate: validation names the field later
    assert fastjson.loads("12345678901234567890123") == 1.2345678901234568e22  # orjson: beyond 64 bits, a float
    assert fastjson.dumps({"s": "\ud800"}) == '{"s":"\\ud800"}'
    assert fastjson.dumps(2**70) == str(2**70)
    assert fastjson.dumps({"at": decimal.Decimal("1.5")}) == '{"at":"1.5"}'  # default=str
    with pytest.raises(ValueError):
        fastjson.loads("{not json")


def test_flask_answers_keep_flasks_conversions():
    @dataclasses.dataclass
    class Point:
        x: int

    app = Flask("t")
    app.json = FastJSONProvider(app)
    with app.app_context():
        body = app.json.response({"at": datetime.datetime(2026, 11, 23, 12, 0, 0), "n": decimal.Decimal("2.50"),
                                  "p": Point(1)}).get_data()
    assert json.loads(body) == {"at": "Mon, 23 Nov 2026 12:00:00 GMT", "n": "2.50", "p": {"x": 1}}
    assert app.json.dumps({"a": 1}, indent=2) == '{\n  "a": 1\n}'
