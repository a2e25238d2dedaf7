"""Alembic environment of the manager's tables (version table `alembic_version_manager`)."""

from alembic import context

from manager.models import Base

context.configure(connection=context.config.attributes["connection"], target_metadata=Base.metadata,
                  render_as_batch=True, version_table=context.config.attributes["version_table"])
with context.begin_transaction():
    context.run_migrations()
