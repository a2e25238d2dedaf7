"""The `echo` kind's declaration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub_runtime.kinds import InstanceSettings, Kind


class EchoSettings(InstanceSettings):
    greeting: str = Field("hello", min_length=1, max_length=40, description="put in front of every echo")
    crash_at_start: bool = Field(False, description="the worker exits at once with code 3 (supervision tests)")
    crash_on: str = Field("", max_length=40, description="the handler crashes on this text (a poison message: it "
                                                        "is dead-lettered); empty: never")


class EchoCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=1, json_schema_extra={"writeOnly": True})


KIND = Kind(name="echo", description="echoes messages through its queue (tests only)", settings=EchoSettings,
            credentials=EchoCredentials, api="echo-api", worker="echo-worker", env_prefix="HUB_ECHO_")
