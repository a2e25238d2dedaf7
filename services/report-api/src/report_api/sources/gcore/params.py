"""What a gcore report takes: the product (or all three), the Gcore client id whose usage it shows, and the
dates (inclusive)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, ValidationInfo, field_validator

from ..base import ReportParams

# our name -> (Gcore's product_name, the Product column's value)
PRODUCTS = {"cdn": ("CDN", "CDN"), "waap": ("Web Security", "WAAP"), "cloud": ("Cloud", "Cloud")}
ALL = "all"


class GcoreQuery(ReportParams):
    """What the caller asks for, whatever the product."""

    gcore_user_id: str = Field(min_length=1, max_length=20, pattern=r"^\d+$",
                               description="the Gcore client (Client ID) whose usage the report shows")
    start_date: dt.date = Field(description="first day, YYYY-MM-DD")
    end_date: dt.date = Field(description="last day (inclusive), YYYY-MM-DD; not before start_date")

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start_date")
        if start is not None and end < start:
            raise ValueError(f"must not be before start_date ({start.isoformat()})")
        return end


class GcoreParams(GcoreQuery):
    product: str = Field(pattern="^(cdn|waap|cloud|all)$", description="cdn, waap (Gcore's Web Security), "
                         "cloud, or all three in one report with a Product column")

    def products(self) -> list[str]:
        return list(PRODUCTS) if self.product == ALL else [self.product]
