"""What an inventory download takes: the company (by id or name; neither: the one the login lands on), the
reporting period (by name, or the latest), the report and file type, and the report's name."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..base import ReportParams

ReportType = Literal["DATA_DUMP", "GHG_PROTOCOL", "ISO14064", "CARBON_ALT_DELETE", "REPORT_DATA"]
FileType = Literal["XLSX", "PDF", "DOCX", "JSON"]


class InventoryParams(ReportParams):
    company_id: str | None = Field(None, pattern=r"^[0-9a-fA-F-]{32,36}$",
                                   description="the company's id (a UUID); or give company_name")
    company_name: str | None = Field(None, min_length=1, max_length=200,
                                     description="the company's name as CarbonAltDelete shows it")
    period: str | None = Field(None, min_length=1, max_length=100,
                               description="the reporting period's name (e.g. 2024); unset: the latest")
    report_type: ReportType = Field("DATA_DUMP", description="DATA_DUMP is the inventory")
    file_type: FileType = Field("XLSX", description="the file format (the inventory comes as XLSX)")
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="the report's name in CarbonAltDelete; unset: "
                                         "'Inventory [<period>] (<root unit>)'")

    @model_validator(mode="after")
    def _one_company(self) -> InventoryParams:
        if self.company_id is not None and self.company_name is not None:
            raise ValueError("give company_id or company_name, not both")
        return self

    def output_format(self) -> str:
        return self.file_type.lower()
