"""Alembic environment: the URL comes from the caller (generalbench.server.db.migrate)."""

from __future__ import annotations

from alembic import context

from generalbench.server.db import Base, make_engine

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
