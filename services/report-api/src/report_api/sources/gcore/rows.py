"""The rows of a downloaded Gcore usage CSV that a report keeps: one client's, with a non-zero metric value.
Read and written by polars in streaming mode, every value kept as Gcore wrote it (text)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

COLUMNS = ("Client ID", "Company name", "Feature ID", "Feature name", "Metric value", "Region ID", "Region name",
           "Resource ID", "Resource name", "Unit name")  # Gcore's usage columns, in its order
PRODUCT = "Product"  # the column a report of every product adds
NUMBERS = {"Feature ID": pl.Int64, "Region ID": pl.Int64, "Resource ID": pl.Int64, "Metric value": pl.Float64}


def scan(path: Path) -> pl.LazyFrame:
    return pl.scan_csv(path, infer_schema=False)


def client_rows(path: Path, client_id: str, product: str | None = None) -> pl.LazyFrame:
    """The client's rows with a non-zero metric value (a missing one counts as zero); with `product`, a
    Product column of that value after Gcore's columns."""
    frame = scan(path).filter(
        (pl.col("Client ID").str.strip_chars() == client_id)
        & (pl.col("Metric value").str.strip_chars().cast(pl.Float64, strict=False).fill_null(0.0) != 0.0))
    return frame.with_columns(pl.lit(product).alias(PRODUCT)) if product is not None else frame


def write_csv(frames: list[pl.LazyFrame], out: Path) -> int:
    """The frames one after another into `out` (CSV with a header line); returns the row count."""
    frame = pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0]
    frame.sink_csv(out)
    return count(out)


def count(path: Path) -> int:
    return scan(path).select(pl.len()).collect().item()
