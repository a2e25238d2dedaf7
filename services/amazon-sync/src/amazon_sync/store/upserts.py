"""Idempotent saves into the data tables, with exact counts of what changed.

`OrderStore.save_orders` writes orders with their items in batches of `BATCH` orders, one transaction
each (read the batch's stored rows, then one executemany per table of at most `BATCH` rows), so saving the
same page twice, or overlapping pages, never duplicates a row:

- An order only moves forward: a record whose `last_update_date` is older than the stored one is not
  written (a late or overlapping page never rolls a status back), and neither are its items.
- A NULL never overwrites a stored value, in orders and items alike: a feed that does not know a field
  (the flat-file report has no `order_item_id`, for one) leaves it as an earlier Orders API fetch stored
  it, and a later Orders API fetch fills in what a backfill left NULL.
- Items given as None mean "not fetched": the stored items stay. Items given as a list are the order's
  whole item set: rows no longer in it are removed (an empty list removes them all). Items with the same
  `seller_sku` in one order are one row (the key): their quantities and amounts are added up.
- A row whose values would not change is not written: `synced_at` is when a save last changed the row,
  `source` the feed of that change, `first_seen_at` when it was first written.

PostgreSQL and SQLite write with `INSERT … ON CONFLICT DO UPDATE`; other databases (SQL Server) take a
portable path: bulk INSERT of the new rows, executemany UPDATE of the changed ones (a batch that meets a
concurrent insert is retried). Both paths guard the forward-only and never-NULL rules in SQL as well, so
concurrent saves keep the table right; the counts come from reading the batch's stored rows first and are
exact unless two saves of the same orders run at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, astuple, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from amazon_sync.records import InventoryRecord, OrderItemRecord, OrderRecord, field_names
from hub_runtime.models import utcnow

from .tables import (
    SOURCES,
    checkpoints,
    from_db,
    inventory,
    order_items,
    orders,
    to_cents,
    to_date,
    to_db,
)

log = logging.getLogger(__name__)

BATCH = 500  # orders per transaction; rows per executemany
PORTABLE_ATTEMPTS = 3  # tries of a portable batch that met a concurrent insert

ORDER_FIELDS = field_names(OrderRecord)
ITEM_FIELDS = field_names(OrderItemRecord)
INVENTORY_FIELDS = field_names(InventoryRecord)
ORDER_VALUES = [name for name in ORDER_FIELDS if name != "amazon_order_id"]
ITEM_VALUES = [name for name in ITEM_FIELDS if name not in ("amazon_order_id", "seller_sku")]
INVENTORY_VALUES = [name for name in INVENTORY_FIELDS if name not in ("marketplace_id", "report_date", "sku")]
ITEM_MONEY = ("item_price", "item_tax", "shipping_price", "shipping_tax", "promotion_discount")
ITEM_QUANTITIES = ("quantity_ordered", "quantity_shipped")


@dataclass(frozen=True)
class SaveCounts:
    """What one `save_orders` did. Orders: `unchanged` also counts records older than the stored row
    (not written). Items: only of orders whose item list was given and written."""

    orders_new: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    items_removed: int = 0

    def __add__(self, other: SaveCounts) -> SaveCounts:
        return SaveCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class InventoryCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: InventoryCounts) -> InventoryCounts:
        return InventoryCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def engine_of(source: Engine | sessionmaker) -> Engine:
    """The engine of an Engine or of a sessionmaker bound to one."""
    if isinstance(source, Engine):
        return source
    bind = getattr(source, "kw", {}).get("bind")
    if isinstance(bind, Engine):
        return bind
    raise TypeError(f"expected an Engine or a sessionmaker bound to one, got {source!r}")


def _native_insert(engine: Engine, native: bool | None) -> Callable | None:
    """The dialect's `insert` with ON CONFLICT (PostgreSQL, SQLite), or None for the portable path.
    `native=False` forces the portable path; `native=True` insists on ON CONFLICT."""
    name = engine.dialect.name
    if native is not False:
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert
        if native:
            raise ValueError(f"{name} has no INSERT … ON CONFLICT; use the portable path (native=None)")
    return None


class _Writer:
    """Writes new and changed rows of one table by its key, natively or portably."""

    def __init__(self, table: Table, keys: tuple[str, ...], values: list[str], *, keep_non_null: bool,
                 forward_only: str | None = None):
        self.table = table
        self.keys = keys
        self.values = values  # the columns an update sets
        self.keep_non_null = keep_non_null  # a NULL never replaces a stored value
        self.forward_only = forward_only  # a column an update never moves backwards

    def _set(self, new) -> dict:
        table = self.table
        return {name: func.coalesce(new(name), table.c[name])
                if self.keep_non_null and table.c[name].nullable else new(name) for name in self.values}

    def native(self, conn: Connection, insert_fn: Callable, rows: list[dict]) -> None:
        stmt = insert_fn(self.table)
        excluded = stmt.excluded
        where = (excluded[self.forward_only] >= self.table.c[self.forward_only]) if self.forward_only else None
        stmt = stmt.on_conflict_do_update(index_elements=[self.table.c[k] for k in self.keys],
                                          set_=self._set(excluded.__getitem__), where=where)
        for start in range(0, len(rows), BATCH):  # executemany of one statement, compiled once
            conn.execute(stmt, rows[start:start + BATCH])

    def portable(self, conn: Connection, new_rows: list[dict], changed_rows: list[dict]) -> None:
        table = self.table
        for start in range(0, len(new_rows), BATCH):
            conn.execute(insert(table), new_rows[start:start + BATCH])
        if not changed_rows:
            return
        stmt = update(table).where(*(table.c[k] == bindparam(f"k_{k}", type_=table.c[k].type) for k in self.keys))
        if self.forward_only:
            column = table.c[self.forward_only]
            stmt = stmt.where(column <= bindparam(f"v_{self.forward_only}", type_=column.type))
        stmt = stmt.values(self._set(lambda name: bindparam(f"v_{name}", type_=table.c[name].type)))
        params = [{**{f"k_{k}": row[k] for k in self.keys}, **{f"v_{name}": row[name] for name in self.values}}
                  for row in changed_rows]
        for start in range(0, len(params), BATCH):
            conn.execute(stmt, params[start:start + BATCH])

    def write(self, conn: Connection, insert_fn: Callable | None, new_rows: list[dict],
              changed_rows: list[dict]) -> None:
        if insert_fn is not None:
            rows = new_rows + changed_rows
            if rows:
                self.native(conn, insert_fn, rows)
        else:
            self.portable(conn, new_rows, changed_rows)


def _merged_equal(incoming: dict, stored, names: list[str], keep_non_null: bool) -> bool:
    """Whether writing `incoming` would leave the stored row's values as they are."""
    for name in names:
        value = incoming[name]
        if value is None and keep_non_null:
            continue
        if value != stored[name]:
            return False
    return True


class _Store:
    def __init__(self, sessions_or_engine: Engine | sessionmaker, instance: str, *, native: bool | None = None):
        self.engine = engine_of(sessions_or_engine)
        self.instance = instance
        self._insert = _native_insert(self.engine, native)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def _run(self, batch_fn: Callable[[Connection], object]):
        """One batch in its own transaction; the portable path retries a batch that met a concurrent insert
        (its rows are read again, so the counts stay right)."""
        attempts = 1 if self._insert is not None else PORTABLE_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                with self._transaction() as conn:
                    return batch_fn(conn)
            except IntegrityError:
                if attempt == attempts:
                    raise
                log.info("a concurrent save inserted some of the same rows; retrying the batch")
        raise AssertionError("unreachable")


_ORDER_WRITER = _Writer(orders, ("instance", "amazon_order_id"), ORDER_VALUES + ["synced_at", "source"],
                        keep_non_null=True, forward_only="last_update_date")
_ITEM_WRITER = _Writer(order_items, ("instance", "amazon_order_id", "seller_sku"), ITEM_VALUES + ["synced_at"],
                       keep_non_null=True)
_INVENTORY_WRITER = _Writer(inventory, ("instance", "marketplace_id", "report_date", "sku"),
                            INVENTORY_VALUES + ["synced_at"], keep_non_null=False)


def _add(a, b):
    return b if a is None else a if b is None else a + b


def _item_rows(order_id: str, items: list[OrderItemRecord], instance: str, now: datetime) -> dict[str, dict]:
    """An order's item rows by seller_sku; the same SKU twice is one row with quantities and amounts added."""
    rows: dict[str, dict] = {}
    for item in items:
        if item.amazon_order_id != order_id:
            raise ValueError(f"item {item.seller_sku!r} of order {item.amazon_order_id!r} "
                             f"given with order {order_id!r}")
        row = {name: getattr(item, name) for name in ITEM_FIELDS}
        for name in ITEM_MONEY:
            row[name] = to_cents(row[name])
        row.update(instance=instance, synced_at=now)
        same = rows.get(item.seller_sku)
        if same is None:
            rows[item.seller_sku] = row
            continue
        for name in ITEM_MONEY + ITEM_QUANTITIES:
            same[name] = _add(same[name], row[name])
        for name in ITEM_VALUES:
            if same[name] is None:
                same[name] = row[name]
    return rows


class OrderStore(_Store):
    """One instance's orders and order items. `native=False` forces the portable path (SQL Server's)."""

    def save_orders(self, pairs: Iterable[tuple[OrderRecord, list[OrderItemRecord] | None]],
                    source: str) -> SaveCounts:
        """Save orders with their items (None: items not fetched, stored items kept; a list: the order's
        whole item set). Idempotent; see the module's rules. An order given twice is saved in that order."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; valid: {', '.join(SOURCES)}")
        total = SaveCounts()
        batch: dict[str, tuple[dict, list[OrderItemRecord] | None]] = {}
        for order, items in pairs:
            if order.amazon_order_id in batch or len(batch) >= BATCH:
                total += self._run(lambda conn, b=batch: self._save_batch(conn, b))
                batch = {}
            now = utcnow()
            row = {name: getattr(order, name) for name in ORDER_FIELDS}
            row.update(purchase_date=to_db(order.purchase_date), last_update_date=to_db(order.last_update_date),
                       order_total=to_cents(order.order_total), instance=self.instance, first_seen_at=now,
                       synced_at=now, source=source)
            batch[order.amazon_order_id] = (row, None if items is None else list(items))
        if batch:
            total += self._run(lambda conn: self._save_batch(conn, batch))
        return total

    def _save_batch(self, conn: Connection, batch: dict[str, tuple[dict, list | None]]) -> SaveCounts:
        ids = sorted(batch)  # one lock order for every save
        stored = {row.amazon_order_id: row._mapping for row in conn.execute(
            select(*(orders.c[name] for name in ORDER_FIELDS))
            .where(orders.c.instance == self.instance, orders.c.amazon_order_id.in_(ids)))}
        new, changed, unchanged = [], [], 0
        item_sets: dict[str, dict[str, dict]] = {}  # the orders whose items are replaced
        for order_id in ids:
            row, items = batch[order_id]
            was = stored.get(order_id)
            if was is None:
                new.append(row)
            elif row["last_update_date"] < was["last_update_date"]:
                unchanged += 1  # older than what is stored: neither it nor its items are written
                continue
            elif _merged_equal(row, was, ORDER_VALUES, keep_non_null=True):
                unchanged += 1
            else:
                changed.append(row)
            if items is not None:
                item_sets[order_id] = _item_rows(order_id, items, self.instance, row["synced_at"])
        _ORDER_WRITER.write(conn, self._insert, new, changed)
        counts = SaveCounts(orders_new=len(new), orders_updated=len(changed), orders_unchanged=unchanged)
        return counts + self._save_items(conn, item_sets) if item_sets else counts

    def _save_items(self, conn: Connection, item_sets: dict[str, dict[str, dict]]) -> SaveCounts:
        stored = {(row.amazon_order_id, row.seller_sku): row._mapping for row in conn.execute(
            select(*(order_items.c[name] for name in ITEM_FIELDS))
            .where(order_items.c.instance == self.instance, order_items.c.amazon_order_id.in_(sorted(item_sets))))}
        new, changed, unchanged = [], [], 0
        for order_id in sorted(item_sets):
            for sku in sorted(item_sets[order_id]):
                row = item_sets[order_id][sku]
                was = stored.pop((order_id, sku), None)
                if was is None:
                    new.append(row)
                elif _merged_equal(row, was, ITEM_VALUES, keep_non_null=True):
                    unchanged += 1
                else:
                    changed.append(row)
        removed = [{"k_order": order_id, "k_sku": sku} for order_id, sku in sorted(stored)]
        if removed:
            conn.execute(delete(order_items).where(order_items.c.instance == self.instance,
                                                   order_items.c.amazon_order_id == bindparam("k_order"),
                                                   order_items.c.seller_sku == bindparam("k_sku")), removed)
        _ITEM_WRITER.write(conn, self._insert, new, changed)
        return SaveCounts(items_new=len(new), items_updated=len(changed), items_unchanged=unchanged,
                          items_removed=len(removed))

    def orders_missing_items(self, marketplace_id: str | None = None, limit: int | None = 1000,
                             among: list[str] | None = None) -> list[str]:
        """Ids of orders with no item rows (their items were never fetched), oldest purchase first; with
        `among`, only of those orders."""
        has_items = exists().where(order_items.c.instance == orders.c.instance,
                                   order_items.c.amazon_order_id == orders.c.amazon_order_id)
        stmt = select(orders.c.amazon_order_id).where(orders.c.instance == self.instance, ~has_items)
        if marketplace_id is not None:
            stmt = stmt.where(orders.c.marketplace_id == marketplace_id)
        stmt = stmt.order_by(orders.c.purchase_date, orders.c.amazon_order_id).limit(limit)
        if among is None:
            with self.engine.connect() as conn:
                return list(conn.execute(stmt).scalars())
        found: list[str] = []
        with self.engine.connect() as conn:
            for start in range(0, len(among), BATCH):
                found += conn.execute(stmt.where(orders.c.amazon_order_id.in_(among[start:start + BATCH]))).scalars()
        return found

    def orders_by_id(self, order_ids: list[str]) -> dict[str, OrderRecord]:
        """The stored orders among these ids, by id."""
        found: dict[str, OrderRecord] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(order_ids), BATCH):
                for row in conn.execute(select(*(orders.c[name] for name in ORDER_FIELDS)).where(
                        orders.c.instance == self.instance,
                        orders.c.amazon_order_id.in_(order_ids[start:start + BATCH]))):
                    found[row.amazon_order_id] = order_record(row._mapping)
        return found

    def summary(self) -> dict[str, dict]:
        """Per marketplace: orders and items stored, the first and last purchase, the last sync."""
        o, i = orders.c, order_items.c
        per_order = (select(o.marketplace_id, func.count().label("orders"), func.min(o.purchase_date).label("first"),
                            func.max(o.purchase_date).label("last"), func.max(o.synced_at).label("synced"))
                     .where(o.instance == self.instance).group_by(o.marketplace_id))
        per_item = (select(o.marketplace_id, func.count().label("items"))
                    .select_from(order_items.join(orders, and_(o.instance == i.instance,
                                                                o.amazon_order_id == i.amazon_order_id)))
                    .where(i.instance == self.instance).group_by(o.marketplace_id))
        with self.engine.connect() as conn:
            items = dict(conn.execute(per_item).all())
            return {row.marketplace_id: {"orders": row.orders, "items": items.get(row.marketplace_id, 0),
                                         "first_purchase": _iso(row.first), "last_purchase": _iso(row.last),
                                         "last_saved": _iso(row.synced)}
                    for row in conn.execute(per_order)}

    def order(self, amazon_order_id: str) -> OrderRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*(orders.c[name] for name in ORDER_FIELDS)).where(
                orders.c.instance == self.instance, orders.c.amazon_order_id == amazon_order_id)).first()
        return None if row is None else order_record(row._mapping)

    def items(self, amazon_order_id: str) -> list[OrderItemRecord]:
        """The order's stored items, by seller_sku."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*(order_items.c[name] for name in ITEM_FIELDS)).where(
                order_items.c.instance == self.instance, order_items.c.amazon_order_id == amazon_order_id)
                .order_by(order_items.c.seller_sku)).all()
        return [OrderItemRecord(**row._mapping) for row in rows]


def order_record(row) -> OrderRecord:
    """An OrderRecord from a row of `amazon_orders` (times made aware UTC)."""
    values = {name: row[name] for name in ORDER_FIELDS}
    values.update(purchase_date=from_db(values["purchase_date"]), last_update_date=from_db(values["last_update_date"]))
    return OrderRecord(**values)


class InventoryStore(_Store):
    """One instance's inventory report rows, by marketplace, report date and SKU. A row saved again for the
    same day replaces the stored values (the later report of a day wins, NULLs included)."""

    def save(self, rows: Iterable[InventoryRecord]) -> InventoryCounts:
        total = InventoryCounts()
        batch: dict[tuple, dict] = {}
        for record in rows:
            row = {name: getattr(record, name) for name in INVENTORY_FIELDS}
            row.update(report_date=to_date(record.report_date), your_price=to_cents(record.your_price),
                       instance=self.instance, synced_at=utcnow())
            key = (row["marketplace_id"], row["report_date"], row["sku"])
            if key in batch or len(batch) >= BATCH:
                total += self._run(lambda conn, b=batch: self._save_batch(conn, b))
                batch = {}
            batch[key] = row
        if batch:
            total += self._run(lambda conn: self._save_batch(conn, batch))
        return total

    def _save_batch(self, conn: Connection, batch: dict[tuple, dict]) -> InventoryCounts:
        keys = sorted(batch)
        c = inventory.c
        stored: dict[tuple, object] = {}
        for marketplace_id, report_date in sorted({key[:2] for key in keys}):
            skus = [key[2] for key in keys if key[:2] == (marketplace_id, report_date)]
            for row in conn.execute(select(*(c[name] for name in INVENTORY_FIELDS)).where(
                    c.instance == self.instance, c.marketplace_id == marketplace_id, c.report_date == report_date,
                    c.sku.in_(skus))):
                stored[(row.marketplace_id, row.report_date, row.sku)] = row._mapping
        new, changed, unchanged = [], [], 0
        for key in keys:
            was = stored.get(key)
            if was is None:
                new.append(batch[key])
            elif _merged_equal(batch[key], was, INVENTORY_VALUES, keep_non_null=False):
                unchanged += 1
            else:
                changed.append(batch[key])
        _INVENTORY_WRITER.write(conn, self._insert, new, changed)
        return InventoryCounts(new=len(new), updated=len(changed), unchanged=unchanged)

    def rows(self, marketplace_id: str, report_date: str) -> list[InventoryRecord]:
        """The stored rows of one marketplace's report of one day, by SKU."""
        c = inventory.c
        with self.engine.connect() as conn:
            found = conn.execute(select(*(c[name] for name in INVENTORY_FIELDS)).where(
                c.instance == self.instance, c.marketplace_id == marketplace_id,
                c.report_date == to_date(report_date)).order_by(c.sku)).all()
        return [InventoryRecord(**{**row._mapping, "report_date": row.report_date.isoformat()}) for row in found]


class Checkpoints(_Store):
    """Where each marketplace's sync of a stream resumes: the upstream time to ask for changes after. It
    only moves forward."""

    def get(self, marketplace_id: str, stream: str = "orders") -> datetime | None:
        c = checkpoints.c
        with self.engine.connect() as conn:
            value = conn.execute(select(c.last_updated_after).where(
                c.instance == self.instance, c.marketplace_id == marketplace_id, c.stream == stream)).scalar()
        return from_db(value)

    def advance(self, marketplace_id: str, stream: str, when: datetime) -> datetime:
        """Move the checkpoint to `when` unless it is there or later already; returns the checkpoint now."""
        c = checkpoints.c
        key = {"instance": self.instance, "marketplace_id": marketplace_id, "stream": stream}
        row = {**key, "last_updated_after": to_db(when), "updated_at": utcnow()}

        def write(conn: Connection) -> None:
            if self._insert is not None:
                stmt = self._insert(checkpoints).values(row)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=[c.instance, c.marketplace_id, c.stream],
                    set_={"last_updated_after": stmt.excluded.last_updated_after,
                          "updated_at": stmt.excluded.updated_at},
                    where=stmt.excluded.last_updated_after > c.last_updated_after))
                return
            match = and_(*(c[name] == value for name, value in key.items()))
            if conn.execute(select(c.last_updated_after).where(match)).first() is None:
                conn.execute(insert(checkpoints).values(row))
            else:
                conn.execute(update(checkpoints).where(match, c.last_updated_after < row["last_updated_after"])
                             .values(last_updated_after=row["last_updated_after"], updated_at=row["updated_at"]))

        self._run(write)
        return self.get(marketplace_id, stream)

    def all(self) -> dict[str, datetime]:
        """Every checkpoint of the instance, as `<marketplace_id>/<stream>`."""
        c = checkpoints.c
        with self.engine.connect() as conn:
            return {f"{row.marketplace_id}/{row.stream}": from_db(row.last_updated_after) for row in conn.execute(
                select(c.marketplace_id, c.stream, c.last_updated_after).where(c.instance == self.instance))}

    def reset(self, marketplace_id: str, stream: str = "orders") -> None:
        """Forget the checkpoint (the next sync starts from its own default)."""
        c = checkpoints.c
        with self._transaction() as conn:
            conn.execute(delete(checkpoints).where(c.instance == self.instance, c.marketplace_id == marketplace_id,
                                                   c.stream == stream))


def _iso(moment: datetime | None) -> str | None:
    return from_db(moment).isoformat().replace("+00:00", "Z") if moment is not None else None
