"""CSV exports streamed from the data tables: a generator of UTF-8 byte chunks (one per `FETCH_ROWS` rows,
once at least `CHUNK_BYTES` are written) for a Flask `Response(stream_with_context(...))`. Rows are fetched
`FETCH_ROWS` at a time (`yield_per`: a server-side cursor on PostgreSQL) over one connection held while
the generator runs, so memory stays constant whatever the export's size; closing the generator early
releases the connection.

CSV as RFC 4180 writes it (`csv` module, CRLF, a header row), UTF-8 without a BOM. Empty cell: NULL. Money:
exactly two decimals (`128.70`). Times: UTC, to the second. Text cells that a spreadsheet would run as a
formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`, as OWASP's CSV injection advice
says; `raw=True` writes text exactly as stored, for a loader that must get the stored value (such a file
must not be opened in a spreadsheet). Numbers and times are never prefixed: `-5.10` stays a number.

Orders, in the two shapes of `download-processed` (`data_type`), oldest purchase first:

- `mssql`: one row per order item with its order's columns (`MSSQL_COLUMNS`, PascalCase as a SQL Server
  staging table names them); times `YYYY-MM-DD HH:MM:SS` UTC, IsBusinessOrder 1/0. Orders without item
  rows (items not fetched yet) have no rows here.
- `azure`: one row per order (`AZURE_COLUMNS`, snake_case); times ISO 8601 UTC with `Z`, booleans
  true/false. `item_count` is the order's item rows (0: items not fetched), `units` their quantity_ordered
  and `items_total` their item_price added up (empty when there are no items or no prices).

Filters: `marketplace_id`, and the purchase date from `purchased_from` (inclusive) to `purchased_to`
(exclusive for a datetime; a `date` includes its whole day, UTC). `inventory_csv` writes
`INVENTORY_COLUMNS`, by marketplace, report date and SKU."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from sqlalchemy import Boolean, Connection, DateTime, Engine, Select, String, and_, func, select
from sqlalchemy.orm import sessionmaker

from .tables import inventory, order_items, orders, to_date, to_db
from .upserts import engine_of

DATA_TYPES = ("mssql", "azure")
FETCH_ROWS = 500
CHUNK_BYTES = 64 * 1024
FORMULA_STARTS = "=+-@\t\r"  # a text cell starting with one is neutralised

_o, _i = orders.c, order_items.c
_MSSQL = (
    ("AmazonOrderId", _o.amazon_order_id), ("MarketplaceId", _o.marketplace_id),
    ("PurchaseDate", _o.purchase_date), ("LastUpdateDate", _o.last_update_date), ("OrderStatus", _o.order_status),
    ("FulfillmentChannel", _o.fulfillment_channel), ("SalesChannel", _o.sales_channel),
    ("OrderTotal", _o.order_total), ("Currency", _o.currency), ("SellerSKU", _i.seller_sku), ("ASIN", _i.asin),
    ("OrderItemId", _i.order_item_id), ("Title", _i.title), ("QuantityOrdered", _i.quantity_ordered),
    ("QuantityShipped", _i.quantity_shipped), ("ItemPrice", _i.item_price), ("ItemTax", _i.item_tax),
    ("ShippingPrice", _i.shipping_price), ("ShippingTax", _i.shipping_tax),
    ("PromotionDiscount", _i.promotion_discount), ("ShipCity", _o.ship_city), ("ShipState", _o.ship_state),
    ("ShipPostalCode", _o.ship_postal_code), ("ShipCountry", _o.ship_country),
    ("IsBusinessOrder", _o.is_business_order),
)
_AZURE_ORDER = (
    "amazon_order_id", "marketplace_id", "purchase_date", "last_update_date", "order_status", "fulfillment_channel",
    "sales_channel", "ship_service_level", "order_total", "currency", "items_shipped", "items_unshipped",
    "is_business_order", "ship_city", "ship_state", "ship_postal_code", "ship_country", "source", "synced_at",
)
_INVENTORY = (
    "marketplace_id", "report_date", "sku", "fnsku", "asin", "product_name", "condition", "your_price",
    "mfn_fulfillable_quantity", "afn_warehouse_quantity", "afn_fulfillable_quantity", "afn_unsellable_quantity",
    "afn_reserved_quantity", "afn_total_quantity", "afn_inbound_working_quantity", "afn_inbound_shipped_quantity",
    "afn_inbound_receiving_quantity", "synced_at",
)
MSSQL_COLUMNS = tuple(name for name, _ in _MSSQL)
AZURE_COLUMNS = (*_AZURE_ORDER, "item_count", "units", "items_total")
INVENTORY_COLUMNS = _INVENTORY


def _row_converter(kinds: list[str], *, utc_z: bool, raw: bool) -> Callable[[tuple], list]:
    """A row's values as the csv writer takes them: times as `YYYY-MM-DD HH:MM:SS` (ISO 8601 with Z when
    `utc_z`), booleans 1/0 (true/false when `utc_z`), text neutralised unless `raw`. The writer itself
    writes None as an empty cell, and ints, dates and the tables' two-decimal Decimals as they are."""
    texts = [n for n, kind in enumerate(kinds) if kind == "text" and not raw]
    times = [n for n, kind in enumerate(kinds) if kind == "time"]
    flags = [n for n, kind in enumerate(kinds) if kind == "bool"]
    true, false = ("true", "false") if utc_z else ("1", "0")

    def convert(row: tuple) -> list:
        row = list(row)
        for n in texts:
            value = row[n]
            if value and value[0] in FORMULA_STARTS:
                row[n] = "'" + value
        for n in times:  # naive UTC, as the tables keep it
            value = row[n]
            if value is not None:
                row[n] = value.isoformat(timespec="seconds") + "Z" if utc_z else value.isoformat(" ", "seconds")
        for n in flags:
            value = row[n]
            if value is not None:
                row[n] = true if value else false
        return row

    return convert


def _kind(column) -> str:
    if isinstance(column.type, String):  # Text too
        return "text"
    if isinstance(column.type, DateTime):
        return "time"
    return "bool" if isinstance(column.type, Boolean) else "as is"


def _encoded(header: Iterable[str], batches: Iterable[list], convert: Callable[[tuple], list]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for batch in batches:
        writer.writerows(map(convert, batch))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _bounds(purchased_from: date | datetime | None, purchased_to: date | datetime | None):
    def start(value):
        return value if isinstance(value, datetime) else datetime.combine(value, time())

    low = None if purchased_from is None else to_db(start(purchased_from))
    if purchased_to is None:
        high = None
    elif isinstance(purchased_to, datetime):
        high = to_db(purchased_to)
    else:
        high = start(purchased_to + timedelta(days=1))
    return low, high


class Exports:
    """One instance's CSV exports. Each call checks its arguments at once and returns a generator that
    reads the tables only as it is consumed; closing it early releases its connection."""

    def __init__(self, sessions_or_engine: Engine | sessionmaker, instance: str):
        self.engine = engine_of(sessions_or_engine)
        self.instance = instance

    def orders_csv(self, data_type: str = "mssql", *, marketplace_id: str | None = None,
                   purchased_from: date | datetime | None = None, purchased_to: date | datetime | None = None,
                   raw: bool = False) -> Iterator[bytes]:
        if data_type not in DATA_TYPES:
            raise ValueError(f"unknown data_type {data_type!r}; valid: {', '.join(DATA_TYPES)}")
        low, high = _bounds(purchased_from, purchased_to)

        def chosen(o):  # the filters, on `orders` or an alias of it
            where = [o.c.instance == self.instance]
            if marketplace_id is not None:
                where.append(o.c.marketplace_id == marketplace_id)
            if low is not None:
                where.append(o.c.purchase_date >= low)
            if high is not None:
                where.append(o.c.purchase_date < high)
            return where

        def items_of(o):
            return and_(_i.instance == o.c.instance, _i.amazon_order_id == o.c.amazon_order_id)

        if data_type == "mssql":
            stmt = (select(*(column for _, column in _MSSQL)).select_from(orders.join(order_items, items_of(orders)))
                    .where(*chosen(orders)).order_by(_o.purchase_date, _o.amazon_order_id, _i.seller_sku))
            convert = _row_converter([_kind(column) for _, column in _MSSQL], utc_z=False, raw=raw)
            return self._stream(MSSQL_COLUMNS, stmt, convert)
        def of_items(aggregate):  # over the order's items: an index lookup per order, whatever the statistics
            return select(aggregate).where(items_of(orders)).scalar_subquery()

        stmt = (select(*(_o[name] for name in _AZURE_ORDER), of_items(func.count()),
                       of_items(func.sum(_i.quantity_ordered)), of_items(func.sum(_i.item_price)))
                .where(*chosen(orders)).order_by(_o.purchase_date, _o.amazon_order_id))
        convert = _row_converter([_kind(_o[name]) for name in _AZURE_ORDER] + ["as is"] * 3, utc_z=True, raw=raw)
        return self._stream(AZURE_COLUMNS, stmt, convert)

    def inventory_csv(self, marketplace_id: str | None = None, report_date: str | date | None = None, *,
                      raw: bool = False) -> Iterator[bytes]:
        c = inventory.c
        where = [c.instance == self.instance]
        if marketplace_id is not None:
            where.append(c.marketplace_id == marketplace_id)
        if report_date is not None:
            where.append(c.report_date == to_date(report_date))
        stmt = (select(*(c[name] for name in _INVENTORY)).where(*where)
                .order_by(c.marketplace_id, c.report_date, c.sku))
        convert = _row_converter([_kind(c[name]) for name in _INVENTORY], utc_z=True, raw=raw)
        return self._stream(INVENTORY_COLUMNS, stmt, convert)

    def _stream(self, header, stmt: Select, convert: Callable[[tuple], list]) -> Iterator[bytes]:
        with _reading(self.engine) as conn:
            result = conn.execution_options(yield_per=FETCH_ROWS).execute(stmt)
            yield from _encoded(header, result.partitions(), convert)


@contextmanager
def _reading(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # The hub's SQLite engines take the write lock when a transaction begins (BEGIN IMMEDIATE); a long
            # export must not hold it. Release it: the SELECT then reads in SQLite's autocommit mode (a
            # snapshot of its own in WAL mode) and writers carry on.
            conn.begin()
            conn.connection.dbapi_connection.commit()
        yield conn

