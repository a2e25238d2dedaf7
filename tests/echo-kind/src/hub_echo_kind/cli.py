"""`echo-api PORT NAME` and `echo-worker NAME`: POST /echo {"key", "text"} queues a task; the worker
answers it with the greeting, and says whether it holds the stored secret (never its value)."""

from __future__ import annotations

import logging
import sys

from flask import jsonify
from pydantic import BaseModel, Field

from hub_runtime.config import RuntimeSettings
from hub_runtime.entrypoints import WorkerPlan, run_api, run_worker
from hub_runtime.runtime import Instance, Runtime
from hub_runtime.web.app_factory import create_app as create_runtime_app
from hub_runtime.web.openapi import APIBlueprint, OpenAPI

from .kind import KIND

log = logging.getLogger("echo")


class EchoRequest(BaseModel):
    key: str = Field(min_length=1, max_length=100)
    text: str = Field(max_length=1000)


def create_app(settings: RuntimeSettings, name: str):
    runtime = Runtime(settings, Instance(KIND.name, name))
    api = OpenAPI(f"echo-api: {name}")
    bp = APIBlueprint("echo", __name__)

    @api.operation(bp, "/echo", "POST", body=EchoRequest, summary="queue an echo")
    def echo(body: EchoRequest):
        task = runtime.tasks.submit("echo", body.key, {"text": body.text}).task
        return jsonify(key=task.key, status=task.status)

    @api.operation(bp, "/echo/<key>", "GET", summary="an echo's status and answer")
    def status(key: str):
        task = runtime.tasks.find(key)
        if task is None:
            return jsonify(key=key, status=None, reason_code=None, result=None), 404
        return jsonify(key=key, status=task.status, reason_code=task.reason_code, result=task.result)

    return create_runtime_app(runtime, api, [bp])


def plan(settings: RuntimeSettings, name: str) -> WorkerPlan:
    echo = KIND.settings_from_environment()
    if echo.crash_at_start:
        log.error("crash_at_start is set; exiting")
        sys.exit(3)
    stored = KIND.credentials_from(settings.credentials.get_secret_value() if settings.credentials else None)

    def handle(job):
        text = job.task.payload["text"]
        if echo.crash_on and text == echo.crash_on:
            raise RuntimeError(f"echo cannot take {text!r}")  # a bug, as far as the worker can tell
        return {"echo": f"{echo.greeting} {text}", "stored_secret": stored is not None}

    return WorkerPlan(runtime=Runtime(settings, Instance(KIND.name, name), role="worker"), handler=handle)


def api_main(argv=None) -> None:
    run_api("echo-api", __doc__, "the instance's name", RuntimeSettings, create_app, argv)


def worker_main(argv=None) -> None:
    run_worker("echo-worker", __doc__, "the instance's name", RuntimeSettings, plan, argv)
