"""Autogenerate a migration against a scratch SQLite database: python tools/new_migration.py MSG"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from lockgate.kit.db import Database
from lockgate.kit.settings import Settings
from lockgate.storage.migrations import alembic_config, upgrade


def main() -> None:
    message = " ".join(sys.argv[1:]) or "change"
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(Settings(data_dir=Path(tmp)))
        upgrade(database.engine)
        versions = (
            Path(__file__).resolve().parent.parent / "src/lockgate/storage/migrations/versions"
        )
        numbers = [int(p.name[:4]) for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py")]
        command.revision(
            alembic_config(database.engine),
            message=message,
            autogenerate=True,
            rev_id=f"{max(numbers, default=0) + 1:04d}",
        )
        database.dispose()


if __name__ == "__main__":
    main()
