"""A scripted SP-API and LWA for the spapi client's fast tests, served over real HTTP on a test thread.

Each test queues the answers it wants per `(method, path)` (a status and a JSON body, or a function of the
request); LWA hands out numbered tokens (`Atza|token-1`, ...) unless told to answer something else. Every
request is recorded (method, path, query, headers, body)."""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, Response, request

from amazon_sync.kind import AmazonCredentials, AmazonSettings
from hub_runtime.testing.services import serving

CREDENTIALS = AmazonCredentials(lwa_app_id="amzn1.application-oa2-client.test", lwa_client_secret="client-s3cret",
                                refresh_token="Atzr|refresh-s3cret")
LWA_PATH = "/auth/o2/token"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: object


Answer = tuple[int, object] | Callable[[Seen], tuple[int, object] | Response]


@dataclass
class Upstream:
    url: str = ""
    answers: dict[tuple[str, str], deque] = field(default_factory=dict)
    defaults: dict[tuple[str, str], Answer] = field(default_factory=dict)
    lwa_answers: deque = field(default_factory=deque)
    expires_in: int = 3600
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _tokens: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def reset(self) -> None:
        with self.lock:
            self.answers.clear()
            self.defaults.clear()
            self.lwa_answers.clear()
            self.seen.clear()
            self.expires_in = 3600
            self._tokens = itertools.count(1)

    def queue(self, method: str, path: str, *answers: Answer) -> None:
        """Answers for the next calls of `method path`, in order (then its default, else 404)."""
        with self.lock:
            self.answers.setdefault((method, path), deque()).extend(answers)

    def default(self, method: str, path: str, answer: Answer) -> None:
        with self.lock:
            self.defaults[(method, path)] = answer

    def calls(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if (method is None or s.method == method) and (path is None or s.path == path)]

    def api_calls(self) -> list[Seen]:
        return [s for s in self.calls() if s.path != LWA_PATH]

    def settings(self, **overrides) -> AmazonSettings:
        values = {"api_url": self.url, "lwa_url": self.url + LWA_PATH, "request_timeout_seconds": 2.0,
                  "request_attempts": 3, "retry_base_seconds": 0.001, "retry_max_seconds": 0.005,
                  "time_speed": 1000.0, "report_poll_seconds": 1.0, "marketplaces": "A1F83G8C2ARO7P"}
        return AmazonSettings(**{**values, **overrides})

    # -- the WSGI side --

    def app(self) -> Flask:
        app = Flask("spapi-stub")

        @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
        @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
        def anything(path: str):
            body: object = request.get_json(silent=True) if request.is_json else request.form.to_dict() or None
            seen = Seen(request.method, "/" + path, request.args.to_dict(), dict(request.headers), body)
            with self.lock:
                self.seen.append(seen)
                if seen.path == LWA_PATH:
                    answer = self.lwa_answers.popleft() if self.lwa_answers else self._token
                else:
                    key = (seen.method, seen.path)
                    pending = self.answers.get(key)
                    answer = pending.popleft() if pending else self.defaults.get(key, (404, _error("NotFound")))
            made = answer(seen) if callable(answer) else answer
            if isinstance(made, Response):
                return made
            status, payload = made
            if isinstance(payload, bytes):
                return Response(payload, status=status)
            return Response(json.dumps(payload) if payload is not None else b"", status=status,
                            content_type="application/json")

        return app

    def _token(self, seen: Seen) -> tuple[int, object]:
        return 200, {"access_token": f"Atza|token-{next(self._tokens)}", "token_type": "bearer",
                     "expires_in": self.expires_in, "refresh_token": "Atzr|refresh-s3cret"}


def _error(code: str, message: str = "stub", details: str = "") -> dict:
    return {"errors": [{"code": code, "message": message, "details": details}]}


error = _error


@contextmanager
def upstream_server() -> Iterator[Upstream]:
    upstream = Upstream()
    with serving(upstream.app()) as url:
        upstream.url = url
        yield upstream
