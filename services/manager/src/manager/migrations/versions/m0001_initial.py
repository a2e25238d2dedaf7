"""integrations and their events

Revision ID: m0001
Revises: (none)
Create Date: 2026-11-23 14:55:47.439295
"""

import sqlalchemy as sa
from alembic import op

revision = 'm0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('integrations',
    sa.Column('id', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=True),
    sa.Column('api_token', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('api_port', sa.Integer(), nullable=False),
    sa.Column('probe_port', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('api_port'),
    sa.UniqueConstraint('probe_port')
    )
    op.create_table('integration_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('integration_id', sa.String(length=120), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('integration_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_events_integration_id'), ['integration_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('integration_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_events_integration_id'))

    op.drop_table('integration_events')
    op.drop_table('integrations')
