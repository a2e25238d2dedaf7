"""Saving orders, items, inventory rows and checkpoints: idempotent, forward-only, exact counts, on SQLite and
PostgreSQL, through INSERT … ON CONFLICT and through the portable path SQL Server takes."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mssql
from sqlalchemy.schema import CreateIndex, CreateTable
from store_records import DE, T0, UK, inventory_row, item, order, order_id, pairs

from amazon_sync.store import Checkpoints, InventoryCounts, InventoryStore, OrderStore, SaveCounts, tables
from amazon_sync.store.upserts import _ITEM_WRITER, _ORDER_WRITER, _native_insert


@pytest.fixture(params=["native", "portable"])
def native(request):
    """None: the dialect's ON CONFLICT; False: the portable path (SELECT, then INSERT and UPDATE)."""
    return None if request.param == "native" else False


@pytest.fixture
def store(engine, instance, native):
    return OrderStore(engine, instance, native=native)


def count(engine, table, instance) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.instance == instance)).scalar()


def test_saving_the_same_orders_again_duplicates_nothing(store, engine, instance):
    first = store.save_orders(pairs(range(1000)), "orders_api")
    assert first == SaveCounts(orders_new=1000, items_new=2000)
    again = store.save_orders(pairs(range(1000)), "orders_api")
    assert again == SaveCounts(orders_unchanged=1000, items_unchanged=2000)
    overlap = store.save_orders(pairs(range(500, 1500)), "orders_api")
    assert overlap == SaveCounts(orders_new=500, orders_unchanged=500, items_new=1000, items_unchanged=1000)
    assert count(engine, tables.orders, instance) == 1500
    assert count(engine, tables.order_items, instance) == 3000


def test_an_order_only_moves_forward(store):
    shipped = order(1, order_status="Shipped", last_update_date=T0 + timedelta(hours=5), items_shipped=3)
    assert store.save_orders([(shipped, [item(shipped, quantity_shipped=1)])], "orders_api").orders_new == 1
    late_page = order(1, order_status="Unshipped", last_update_date=T0 + timedelta(hours=2))
    counts = store.save_orders([(late_page, [item(late_page, "SKU-OLD")])], "orders_api")
    assert counts == SaveCounts(orders_unchanged=1)  # neither the order nor its items are written
    assert store.order(shipped.amazon_order_id) == shipped
    assert [i.seller_sku for i in store.items(shipped.amazon_order_id)] == ["SKU-A"]

    cancelled = replace(shipped, order_status="Canceled", last_update_date=shipped.last_update_date + timedelta(1))
    assert store.save_orders([(cancelled, None)], "orders_api") == SaveCounts(orders_updated=1)
    assert store.order(shipped.amazon_order_id).order_status == "Canceled"


def test_a_change_is_stamped_and_an_unchanged_row_is_not_written(store, engine, instance):
    record = order(1)
    store.save_orders([(record, None)], "orders_api")
    first = row_of(engine, instance, record.amazon_order_id)
    store.save_orders([(record, None)], "flat_file")  # same values: nothing written, not even the source
    assert row_of(engine, instance, record.amazon_order_id) == first
    later = replace(record, order_status="Shipped", last_update_date=record.last_update_date + timedelta(hours=1))
    assert store.save_orders([(later, None)], "flat_file") == SaveCounts(orders_updated=1)
    now = row_of(engine, instance, record.amazon_order_id)
    assert (now.source, now.first_seen_at) == ("flat_file", first.first_seen_at)
    assert now.synced_at >= first.synced_at and first.source == "orders_api"


def row_of(engine, instance, amazon_order_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(tables.orders).where(tables.orders.c.instance == instance,
                                                           tables.orders.c.amazon_order_id == amazon_order_id)).one()


def test_a_flat_file_backfill_keeps_what_the_orders_api_gave(store):
    """The report knows no order_item_id, order total or shipped quantities: stored values stay."""
    api = order(1)
    store.save_orders([(api, [item(api)])], "orders_api")
    flat = replace(api, order_total=None, items_shipped=None, items_unshipped=None)
    flat_item = item(api, order_item_id=None, quantity_shipped=None)
    assert store.save_orders([(flat, [flat_item])], "flat_file") == SaveCounts(orders_unchanged=1, items_unchanged=1)
    assert store.order(api.amazon_order_id) == api
    assert store.items(api.amazon_order_id) == [item(api)]


def test_an_orders_api_fetch_after_a_backfill_fills_in_the_item_id(store):
    flat = order(1, order_total=None)
    store.save_orders([(flat, [item(flat, order_item_id=None)])], "flat_file")
    assert store.items(flat.amazon_order_id)[0].order_item_id is None
    api = order(1)
    counts = store.save_orders([(api, [item(api)])], "orders_api")
    assert counts == SaveCounts(orders_updated=1, items_updated=1)
    assert store.items(api.amazon_order_id)[0].order_item_id == item(api).order_item_id
    assert store.order(api.amazon_order_id).order_total == Decimal("128.70")


def test_items_none_keeps_them_and_a_list_replaces_them(store):
    record = order(1)
    store.save_orders([(record, [item(record, "A"), item(record, "B"), item(record, "C")])], "orders_api")
    assert store.save_orders([(record, None)], "orders_api") == SaveCounts(orders_unchanged=1)
    assert len(store.items(record.amazon_order_id)) == 3

    counts = store.save_orders([(record, [item(record, "A"), item(record, "B", quantity_shipped=1)])], "orders_api")
    assert counts == SaveCounts(orders_unchanged=1, items_unchanged=1, items_updated=1, items_removed=1)
    assert [(i.seller_sku, i.quantity_shipped) for i in store.items(record.amazon_order_id)] == [("A", 0), ("B", 1)]

    assert store.save_orders([(record, [])], "orders_api") == SaveCounts(orders_unchanged=1, items_removed=2)
    assert store.items(record.amazon_order_id) == []
    assert store.orders_missing_items() == [record.amazon_order_id]


def test_the_same_sku_twice_in_an_order_is_one_row_with_both_quantities(store):
    record = order(1)
    first = item(record, "A", quantity_ordered=1, item_price=Decimal("10.00"), order_item_id="1")
    second = item(record, "A", quantity_ordered=2, item_price=Decimal("20.50"), order_item_id="2")
    assert store.save_orders([(record, [first, second])], "orders_api") == SaveCounts(orders_new=1, items_new=1)
    [stored] = store.items(record.amazon_order_id)
    assert (stored.quantity_ordered, stored.item_price, stored.order_item_id) == (3, Decimal("30.50"), "1")


def test_an_order_given_twice_in_one_save_is_saved_in_turn(store):
    older, newer = order(1), order(1, order_status="Shipped", last_update_date=T0 + timedelta(days=1))
    counts = store.save_orders([(older, None), (newer, None), (older, None)], "orders_api")
    assert counts == SaveCounts(orders_new=1, orders_updated=1, orders_unchanged=1)
    assert store.order(older.amazon_order_id).order_status == "Shipped"


def test_money_is_exact_and_times_come_back_as_utc(store):
    tokyo = timezone(timedelta(hours=9))
    record = order(1, order_total=Decimal("128.7"), purchase_date=datetime(2026, 3, 1, 21, 30, 15, tzinfo=tokyo))
    odd = item(record, item_price=Decimal("0.005"), item_tax=Decimal("99999999999.99"),
               promotion_discount=Decimal("-5"))
    store.save_orders([(record, [odd])], "orders_api")
    stored = store.order(record.amazon_order_id)
    assert stored.purchase_date == datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)
    assert stored.purchase_date.tzinfo is UTC and stored.last_update_date.tzinfo is UTC
    assert str(stored.order_total) == "128.70"
    [stored_item] = store.items(record.amazon_order_id)
    assert (str(stored_item.item_price), str(stored_item.item_tax), str(stored_item.promotion_discount)) == (
        "0.01", "99999999999.99", "-5.00")
    assert store.save_orders([(record, [odd])], "orders_api") == SaveCounts(orders_unchanged=1, items_unchanged=1)


def test_orders_missing_items_by_marketplace_oldest_first(store):
    with_items = pairs([1])
    store.save_orders(with_items + [(order(n), None) for n in (5, 3)] + [(order(4, marketplace_id=DE), None)],
                      "orders_api")
    assert store.orders_missing_items() == [order_id(3), order_id(4), order_id(5)]
    assert store.orders_missing_items(UK) == [order_id(3), order_id(5)]
    assert store.orders_missing_items(DE, limit=5) == [order_id(4)]
    assert store.orders_missing_items(limit=1) == [order_id(3)]


def test_instances_keep_their_own_rows(engine, instance, native):
    mine, theirs = OrderStore(engine, instance, native=native), OrderStore(engine, instance + "-b", native=native)
    mine.save_orders(pairs(range(3)), "orders_api")
    assert theirs.save_orders(pairs(range(3)), "orders_api") == SaveCounts(orders_new=3, items_new=6)
    theirs.save_orders([(order(0), [])], "orders_api")
    assert len(mine.items(order_id(0))) == 2 and theirs.items(order_id(0)) == []
    assert theirs.order(order_id(9)) is None


def test_bad_input_is_refused(store):
    with pytest.raises(ValueError, match="unknown source"):
        store.save_orders([], "scraper")
    with pytest.raises(ValueError, match="given with order"):
        store.save_orders([(order(1), [item(order(2))])], "orders_api")


def test_concurrent_saves_of_the_same_orders_duplicate_nothing(engine, instance, native):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE)")
    results, errors = [], []

    def save():
        try:
            results.append(OrderStore(engine, instance, native=native).save_orders(pairs(range(600)), "orders_api"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(engine, tables.orders, instance) == 600 and count(engine, tables.order_items, instance) == 1200
    if native is False:  # a batch that met a concurrent insert is read again: its counts stay exact
        assert sum(r.orders_new for r in results) == 600 and sum(r.items_new for r in results) == 1200


def test_inventory_rows_are_upserted_by_day_and_sku(engine, instance, native):
    store = InventoryStore(engine, instance, native=native)
    rows = [inventory_row(f"SKU-{n}") for n in range(700)] + [inventory_row("SKU-1", marketplace_id=DE)]
    assert store.save(rows) == InventoryCounts(new=701)
    assert store.save(rows) == InventoryCounts(unchanged=701)
    changed = [inventory_row("SKU-1", afn_fulfillable_quantity=3, product_name=None),
               inventory_row("SKU-1", report_date="2026-03-02")]
    assert store.save(changed) == InventoryCounts(new=1, updated=1)
    assert store.rows(UK, "2026-03-01")[1] == changed[0]  # a later report of the day wins, NULLs included
    assert store.rows(UK, "2026-03-02") == [changed[1]] and store.rows(DE, "2026-03-01") == [rows[-1]]
    assert count(engine, tables.inventory, instance) == 702
    with pytest.raises(ValueError):
        store.save([inventory_row("SKU-1", report_date="01/03/2026")])


def test_a_checkpoint_never_moves_backwards(engine, instance, native):
    checkpoints = Checkpoints(engine, instance, native=native)
    assert checkpoints.get(UK) is None
    assert checkpoints.advance(UK, "orders", T0) == T0
    assert checkpoints.advance(UK, "orders", T0 - timedelta(hours=1)) == T0
    later = (T0 + timedelta(minutes=5)).astimezone(timezone(timedelta(hours=-5)))
    assert checkpoints.advance(UK, "orders", later) == T0 + timedelta(minutes=5)
    assert checkpoints.get(UK, "orders").tzinfo is UTC
    assert checkpoints.get(DE) is None and Checkpoints(engine, instance + "-b").get(UK) is None
    checkpoints.reset(UK)
    assert checkpoints.get(UK) is None


def test_sql_server_takes_the_portable_path():
    sql_server = SimpleNamespace(dialect=SimpleNamespace(name="mssql"))
    assert _native_insert(sql_server, None) is None
    with pytest.raises(ValueError, match="no INSERT … ON CONFLICT"):
        _native_insert(sql_server, True)


def test_the_schema_and_the_portable_statements_compile_for_sql_server():
    dialect = mssql.dialect()
    for table in (tables.orders, tables.order_items, tables.inventory, tables.checkpoints):
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert "NUMERIC(18, 2)" in ddl or table is tables.checkpoints
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))

    class Recorder:
        statements: list[str] = []

        def execute(self, statement, params=None):
            self.statements.append(str(statement.compile(dialect=dialect)))

    row = {column.name: None for column in tables.orders.c}
    _ORDER_WRITER.portable(Recorder(), [row], [row])
    _ITEM_WRITER.portable(Recorder(), [], [{column.name: None for column in tables.order_items.c}])
    insert_sql, update_sql, item_sql = Recorder.statements
    assert insert_sql.startswith("INSERT INTO amazon_orders")
    assert "coalesce(" in update_sql and "amazon_orders.last_update_date <=" in update_sql
    assert item_sql.startswith("UPDATE amazon_order_items")
