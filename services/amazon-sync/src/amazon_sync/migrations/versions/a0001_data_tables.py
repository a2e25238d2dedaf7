"""amazon-sync's data tables: orders, order items, inventory report rows and sync checkpoints

Revision ID: a0001
Revises:
Create Date: 2026-12-02 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a0001"
down_revision = None
branch_labels = None
depends_on = None


def money() -> sa.Numeric:
    return sa.Numeric(precision=18, scale=2)


def upgrade() -> None:
    op.create_table(
        "amazon_orders",
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("amazon_order_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("purchase_date", sa.DateTime(), nullable=False),
        sa.Column("last_update_date", sa.DateTime(), nullable=False),
        sa.Column("order_status", sa.String(length=40), nullable=False),
        sa.Column("fulfillment_channel", sa.String(length=20), nullable=True),
        sa.Column("sales_channel", sa.String(length=100), nullable=True),
        sa.Column("ship_service_level", sa.String(length=100), nullable=True),
        sa.Column("order_total", money(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("items_shipped", sa.Integer(), nullable=True),
        sa.Column("items_unshipped", sa.Integer(), nullable=True),
        sa.Column("is_business_order", sa.Boolean(), nullable=False),
        sa.Column("ship_city", sa.String(length=200), nullable=True),
        sa.Column("ship_state", sa.String(length=200), nullable=True),
        sa.Column("ship_postal_code", sa.String(length=40), nullable=True),
        sa.Column("ship_country", sa.String(length=8), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("instance", "amazon_order_id", name="pk_amazon_orders"),
    )
    with op.batch_alter_table("amazon_orders", schema=None) as batch_op:
        batch_op.create_index("ix_amazon_orders_purchase", ["instance", "purchase_date"], unique=False)
        batch_op.create_index("ix_amazon_orders_mkt_purchase", ["instance", "marketplace_id", "purchase_date"],
                              unique=False)
        batch_op.create_index("ix_amazon_orders_updated", ["instance", "last_update_date"], unique=False)

    op.create_table(
        "amazon_order_items",
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("amazon_order_id", sa.String(length=40), nullable=False),
        sa.Column("seller_sku", sa.String(length=100), nullable=False),
        sa.Column("order_item_id", sa.String(length=40), nullable=True),
        sa.Column("asin", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("quantity_ordered", sa.Integer(), nullable=False),
        sa.Column("quantity_shipped", sa.Integer(), nullable=True),
        sa.Column("item_price", money(), nullable=True),
        sa.Column("item_tax", money(), nullable=True),
        sa.Column("shipping_price", money(), nullable=True),
        sa.Column("shipping_tax", money(), nullable=True),
        sa.Column("promotion_discount", money(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["instance", "amazon_order_id"],
                                ["amazon_orders.instance", "amazon_orders.amazon_order_id"],
                                name="fk_amazon_items_order", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance", "amazon_order_id", "seller_sku", name="pk_amazon_order_items"),
    )

    op.create_table(
        "amazon_inventory",
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("fnsku", sa.String(length=20), nullable=True),
        sa.Column("asin", sa.String(length=20), nullable=True),
        sa.Column("product_name", sa.Text(), nullable=True),
        sa.Column("condition", sa.String(length=40), nullable=True),
        sa.Column("your_price", money(), nullable=True),
        sa.Column("mfn_fulfillable_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_warehouse_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_fulfillable_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_unsellable_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_reserved_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_total_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_inbound_working_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_inbound_shipped_quantity", sa.Integer(), nullable=True),
        sa.Column("afn_inbound_receiving_quantity", sa.Integer(), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("instance", "marketplace_id", "report_date", "sku", name="pk_amazon_inventory"),
    )

    op.create_table(
        "amazon_sync_checkpoints",
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("stream", sa.String(length=20), nullable=False),
        sa.Column("last_updated_after", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("instance", "marketplace_id", "stream", name="pk_amazon_sync_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("amazon_sync_checkpoints")
    op.drop_table("amazon_inventory")
    op.drop_table("amazon_order_items")
    with op.batch_alter_table("amazon_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_orders_updated")
        batch_op.drop_index("ix_amazon_orders_mkt_purchase")
        batch_op.drop_index("ix_amazon_orders_purchase")
    op.drop_table("amazon_orders")
