"""Request and answer models of the rules source's routes (they also make its part of the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ...web.source_routes import ScheduleFields


class UploadOut(BaseModel):
    id: str
    kind: str
    name: str
    version: int
    size: int
    sha256: str
    format: str
    columns: list[str] | None
    uploaded_at: str


class UploadedOut(BaseModel):
    message: str
    uploads: list[UploadOut]


class UploadList(BaseModel):
    uploads: list[UploadOut]


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(None, pattern="^(rules|input|reference)$")


class GenerateJson(BaseModel):
    """Generate from stored uploads (by id); any id left out means the latest upload of that kind."""

    model_config = ConfigDict(extra="forbid")

    input_id: str | None = Field(None, max_length=32)
    reference_id: str | None = Field(None, max_length=32)
    rules_id: str | None = Field(None, max_length=32)
    format: str = Field("csv", pattern="^(csv|xlsx)$")
    no_reference: bool = Field(False, description="run without a reference file even if one was uploaded")


class ScheduleJson(GenerateJson, ScheduleFields):
    """A schedule of rules reports: the uploads as for generating, and the cron."""
