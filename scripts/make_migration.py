"""Developer tool: autogenerate an Alembic revision from hookdoor.db.tables.

Usage: .venv/bin/python scripts/make_migration.py "message" REV_ID
It diffs the tables against a scratch SQLite database brought up to the current head.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from hookdoor.db.migrate import alembic_config


def main(message: str, rev_id: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        with engine.begin() as connection:
            config = alembic_config(connection)
            command.upgrade(config, "head")
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
