"""report sources: jobs and schedules name their source and carry its parameters

The upload ids (and a schedule's format) move into `params`: they are the rules source's parameters.
Existing jobs and schedules become rules jobs and schedules with the same uploads and format.

Revision ID: r0002
Revises: r0001
"""

import sqlalchemy as sa
from alembic import op

revision = 'r0002'
down_revision = 'r0001'
branch_labels = None
depends_on = None

UPLOAD_COLUMNS = ("input_id", "reference_id", "rules_id")


def _table(name: str, *columns: str) -> sa.Table:
    types = {"params": sa.JSON(), "fmt": sa.String(10)}
    key = "task_id" if name == "report_jobs" else "id"
    return sa.table(name, sa.column(key, sa.String()), *(sa.column(c, types.get(c, sa.String())) for c in columns))


def _fill_params(name: str) -> None:
    """params from the upload ids and the format, row by row (the same on SQLite and PostgreSQL)."""
    table = _table(name, "source", "params", "fmt", *UPLOAD_COLUMNS)
    key = table.c[0]
    bind = op.get_bind()
    for row in bind.execute(sa.select(key, table.c.fmt, *(table.c[c] for c in UPLOAD_COLUMNS))).all():
        params = {"input_id": row.input_id, "reference_id": row.reference_id, "rules_id": row.rules_id,
                  "format": row.fmt}
        bind.execute(table.update().where(key == row[0]).values(source="rules", params=params))


def upgrade() -> None:
    for name in ("report_jobs", "report_schedules"):
        with op.batch_alter_table(name) as batch_op:
            batch_op.add_column(sa.Column('source', sa.String(length=40), nullable=True))
            batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
        _fill_params(name)
        with op.batch_alter_table(name) as batch_op:
            batch_op.alter_column('source', existing_type=sa.String(length=40), nullable=False)
            batch_op.alter_column('params', existing_type=sa.JSON(), nullable=False)
            for column in UPLOAD_COLUMNS:
                batch_op.drop_column(column)
            if name == "report_schedules":  # a job keeps its file's format; a schedule's is in its params
                batch_op.drop_column('fmt')


def downgrade() -> None:
    """Back to upload columns: jobs and schedules of other sources than rules cannot be kept."""
    bind = op.get_bind()
    for name in ("report_jobs", "report_schedules"):
        with op.batch_alter_table(name) as batch_op:
            for column in UPLOAD_COLUMNS:
                batch_op.add_column(sa.Column(column, sa.String(length=32), nullable=True))
            if name == "report_schedules":
                batch_op.add_column(sa.Column('fmt', sa.String(length=10), nullable=True))
        table = _table(name, "source", "params", "fmt", *UPLOAD_COLUMNS)
        bind.execute(table.delete().where(table.c.source != "rules"))
        for row in bind.execute(sa.select(table.c[0], table.c.params)).all():
            params = row.params or {}
            bind.execute(table.update().where(table.c[0] == row[0]).values(
                fmt=params.get("format", "csv"), **{c: params.get(c) for c in UPLOAD_COLUMNS}))
        with op.batch_alter_table(name) as batch_op:
            for column in ("input_id", "rules_id", "fmt"):
                batch_op.alter_column(column, existing_type=sa.String(), nullable=False)
            for column in UPLOAD_COLUMNS:
                batch_op.create_foreign_key(f"fk_{name}_{column}", "report_uploads", [column], ["id"])
            batch_op.drop_column('params')
            batch_op.drop_column('source')
