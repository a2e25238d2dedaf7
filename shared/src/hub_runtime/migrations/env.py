"""Alembic environment: runs on the connection `hub_runtime.db.migrate` passes in."""

from alembic import context

from hub_runtime.models import Base

target_metadata = Base.metadata
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                  version_table=context.config.attributes.get("version_table", "alembic_version"))
with context.begin_transaction():
    context.run_migrations()
