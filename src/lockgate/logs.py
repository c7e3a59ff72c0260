"""The server's log: one handler on the root logger, so Lockgate's, uvicorn's and the
libraries' records share one format (time, level, logger name) and one level."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send every record at ``level`` or above to stderr, replacing any handler set before."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic tells its context at INFO on every start; Lockgate logs the migrations it applies.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
