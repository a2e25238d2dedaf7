"""Alembic environment of amazon-sync's tables (version table `alembic_version_amazon`)."""

from alembic import context

import amazon_sync.store.tables  # noqa: F401 - puts the data tables on Base.metadata
from amazon_sync.models import Base

context.configure(connection=context.config.attributes["connection"], target_metadata=Base.metadata,
                  render_as_batch=True, version_table=context.config.attributes["version_table"])
with context.begin_transaction():
    context.run_migrations()
