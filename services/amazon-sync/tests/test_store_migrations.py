"""amazon-sync's migrations build exactly the tables the store declares, on SQLite and PostgreSQL, and
a0001's downgrade removes them again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from amazon_sync.models import Base
from amazon_sync.store import tables
from amazon_sync.store.tables import MIGRATIONS, VERSION_TABLE
from hub_runtime.db import make_engine, migrate

DATA_TABLES = {"amazon_orders", "amazon_order_items", "amazon_inventory", "amazon_sync_checkpoints"}


def test_the_migrations_build_exactly_the_declared_tables(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine, MIGRATIONS, VERSION_TABLE)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, Base.metadata) == []
            assert set(sa.inspect(conn).get_table_names()) >= DATA_TABLES
            assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() is not None
        migrate(engine, MIGRATIONS, VERSION_TABLE)  # at head already: nothing to do
    finally:
        engine.dispose()


def test_a0001_downgrades_to_nothing(database_url):
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["version_table"] = VERSION_TABLE
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "a0001")
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert not DATA_TABLES & set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_names_fit_every_database():
    """SQL Server and Oracle limit identifiers; 30 characters fit all of them."""
    for table in (tables.orders, tables.order_items, tables.inventory, tables.checkpoints):
        names = [table.name, *table.c.keys(), *(index.name for index in table.indexes),
                 *(constraint.name for constraint in table.constraints)]
        assert all(name and len(name) <= 30 for name in names), names
        assert "instance" in table.c and table.c.instance.primary_key
