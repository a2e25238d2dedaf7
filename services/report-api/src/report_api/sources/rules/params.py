"""What a rules report takes: the uploads it reads and the file format it writes."""

from __future__ import annotations

from pydantic import Field

from ..base import ReportParams

FORMATS = ("csv", "xlsx")


class RulesParams(ReportParams):
    input_id: str = Field(max_length=32, description="the input CSV (an upload of kind input)")
    reference_id: str | None = Field(None, max_length=32, description="the reference CSV, if any")
    rules_id: str = Field(max_length=32, description="the rules file (an upload of kind rules)")
    format: str = Field("csv", pattern="^(csv|xlsx)$")

    def output_format(self) -> str:
        return self.format

    def uploads(self) -> dict[str, str | None]:
        return {"input": self.input_id, "reference": self.reference_id, "rules": self.rules_id}
