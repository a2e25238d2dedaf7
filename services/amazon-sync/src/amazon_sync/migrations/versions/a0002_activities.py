"""activities, sync schedules and the connection's state

Revision ID: a0002
Revises: a0001
Create Date: 2026-12-02 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a0002"
down_revision = "a0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "amazon_activities",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("activity_type", sa.String(length=20), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("schedule_id", sa.String(length=32), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("amazon_activities", schema=None) as batch_op:
        batch_op.create_index("ix_amazon_activities_created", ["instance", "created_at"], unique=False)

    op.create_table(
        "amazon_sync_schedules",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cron", sa.String(length=120), nullable=False),
        sa.Column("marketplace_ids", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_activity_id", sa.String(length=64), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("missed_ticks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("amazon_sync_schedules", schema=None) as batch_op:
        batch_op.create_index("ix_amazon_sync_schedules_due", ["instance", "paused", "next_run_at"], unique=False)

    op.create_table(
        "amazon_connection",
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("lwa_app_id", sa.String(length=200), nullable=True),
        sa.Column("connected_at", sa.DateTime(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("instance"),
    )


def downgrade() -> None:
    op.drop_table("amazon_connection")
    with op.batch_alter_table("amazon_sync_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_sync_schedules_due")
    op.drop_table("amazon_sync_schedules")
    with op.batch_alter_table("amazon_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_amazon_activities_created")
    op.drop_table("amazon_activities")
