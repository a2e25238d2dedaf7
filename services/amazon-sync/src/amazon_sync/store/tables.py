"""The synced data's tables: orders, order items, inventory report rows and sync checkpoints, each row
belonging to one instance (`instance` = the runtime instance id).

Portable across SQLite, PostgreSQL and SQL Server: standard types only, names of at most 30 characters.
Money is `Numeric(18, 2)`: exact on PostgreSQL and SQL Server; SQLite stores a REAL that reads back rounded
to the cent, exact for amounts below 10^13. Times are naive UTC `DateTime` in the database (SQLite keeps no
time zone) and timezone-aware UTC in records: `to_db` and `from_db` convert at the boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from amazon_sync.models import Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"  # all of amazon-sync's tables
VERSION_TABLE = "alembic_version_amazon"
SOURCES = ("orders_api", "flat_file")  # where an order row's last write came from
STREAMS = ("orders",)  # what a checkpoint tracks

CENT = Decimal("0.01")


def money() -> Numeric:
    return Numeric(18, 2)


def to_db(value: datetime | None) -> datetime | None:
    """Naive UTC for the database; a naive value is taken as UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def from_db(value: datetime | None) -> datetime | None:
    """Timezone-aware UTC from the database's naive UTC."""
    return None if value is None else value.replace(tzinfo=UTC)


def to_cents(value) -> Decimal | None:
    """A money amount as the table keeps it: a Decimal rounded half up to the cent (as PostgreSQL rounds)."""
    if value is None:
        return None
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_date(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


orders = Table(
    "amazon_orders", Base.metadata,
    Column("instance", String(200), nullable=False),
    Column("amazon_order_id", String(40), nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("purchase_date", DateTime, nullable=False),
    Column("last_update_date", DateTime, nullable=False),
    Column("order_status", String(40), nullable=False),
    Column("fulfillment_channel", String(20)),
    Column("sales_channel", String(100)),
    Column("ship_service_level", String(100)),
    Column("order_total", money()),
    Column("currency", String(8)),
    Column("items_shipped", Integer),
    Column("items_unshipped", Integer),
    Column("is_business_order", Boolean, nullable=False),
    Column("ship_city", String(200)),
    Column("ship_state", String(200)),
    Column("ship_postal_code", String(40)),
    Column("ship_country", String(8)),
    Column("first_seen_at", DateTime, nullable=False),  # when the row was first written
    Column("synced_at", DateTime, nullable=False),  # when a save last changed the row
    Column("source", String(20), nullable=False),  # SOURCES: the feed of the last change
    PrimaryKeyConstraint("instance", "amazon_order_id", name="pk_amazon_orders"),
    Index("ix_amazon_orders_purchase", "instance", "purchase_date"),
    Index("ix_amazon_orders_mkt_purchase", "instance", "marketplace_id", "purchase_date"),
    Index("ix_amazon_orders_updated", "instance", "last_update_date"),
)

order_items = Table(
    "amazon_order_items", Base.metadata,
    Column("instance", String(200), nullable=False),
    Column("amazon_order_id", String(40), nullable=False),
    Column("seller_sku", String(100), nullable=False),
    Column("order_item_id", String(40)),  # NULL until an Orders API call gives it
    Column("asin", String(20), nullable=False),
    Column("title", Text),
    Column("quantity_ordered", Integer, nullable=False),
    Column("quantity_shipped", Integer),
    Column("item_price", money()),
    Column("item_tax", money()),
    Column("shipping_price", money()),
    Column("shipping_tax", money()),
    Column("promotion_discount", money()),
    Column("currency", String(8)),
    Column("synced_at", DateTime, nullable=False),
    PrimaryKeyConstraint("instance", "amazon_order_id", "seller_sku", name="pk_amazon_order_items"),
    ForeignKeyConstraint(["instance", "amazon_order_id"], ["amazon_orders.instance", "amazon_orders.amazon_order_id"],
                         name="fk_amazon_items_order", ondelete="CASCADE"),
)

inventory = Table(
    "amazon_inventory", Base.metadata,
    Column("instance", String(200), nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("report_date", Date, nullable=False),
    Column("sku", String(100), nullable=False),
    Column("fnsku", String(20)),
    Column("asin", String(20)),
    Column("product_name", Text),
    Column("condition", String(40)),
    Column("your_price", money()),
    Column("mfn_fulfillable_quantity", Integer),
    Column("afn_warehouse_quantity", Integer),
    Column("afn_fulfillable_quantity", Integer),
    Column("afn_unsellable_quantity", Integer),
    Column("afn_reserved_quantity", Integer),
    Column("afn_total_quantity", Integer),
    Column("afn_inbound_working_quantity", Integer),
    Column("afn_inbound_shipped_quantity", Integer),
    Column("afn_inbound_receiving_quantity", Integer),
    Column("synced_at", DateTime, nullable=False),
    PrimaryKeyConstraint("instance", "marketplace_id", "report_date", "sku", name="pk_amazon_inventory"),
)

checkpoints = Table(
    "amazon_sync_checkpoints", Base.metadata,
    Column("instance", String(200), nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("stream", String(20), nullable=False),  # STREAMS
    Column("last_updated_after", DateTime, nullable=False),  # the upstream time the next sync resumes from
    Column("updated_at", DateTime, nullable=False),
    PrimaryKeyConstraint("instance", "marketplace_id", "stream", name="pk_amazon_sync_checkpoints"),
)
