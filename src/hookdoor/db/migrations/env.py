"""Alembic environment: runs on the connection Hookdoor hands it (see hookdoor.db.migrate)."""

from __future__ import annotations

from alembic import context

from hookdoor.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `hookdoor migrate` or hookdoor.db.migrate")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
