"""The server's log: one handler on the root logger, so Lockgate's, uvicorn's and the
libraries' records share one format (time, level, logger name) and one level, and no record
shows more of an API key than its public id."""

from __future__ import annotations

import logging
import sys
from typing import Any

from lockgate.domains.keys.masking import redact_keys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The access logs (granian's workers write Lockgate's, uvicorn its own) print each request's
# path and query, where SDKs put their keys (/v2/download_config_specs/<secret>.json,
# ?k=<client key>).
ACCESS_LOGGER = "lockgate.access"
ACCESS_LOGGERS = (ACCESS_LOGGER, "uvicorn.access")


class RedactKeys(logging.Filter):
    """Masks keys down to their public ids in a record's message, arguments and traceback.

    String arguments are masked in place, so formatters that read them (uvicorn's access
    formatter takes the path from them) still work; a record whose message still shows a key
    through another argument's ``str`` is flattened to its masked message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_keys(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {name: _redacted(arg) for name, arg in record.args.items()}
        message = record.getMessage()
        masked = redact_keys(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_keys(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_keys(record.stack_info)
        return True


def _redacted(arg: Any) -> Any:
    return redact_keys(arg) if isinstance(arg, str) else arg


def configure_logging(level: str) -> None:
    """Send every record at ``level`` or above to stderr, replacing any handler set before."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactKeys())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # On the loggers too, so that a handler added to one later never sees a key either.
    for name in ACCESS_LOGGERS:
        access = logging.getLogger(name)
        if not any(isinstance(f, RedactKeys) for f in access.filters):
            access.addFilter(RedactKeys())
    # Alembic tells its context at INFO on every start; Lockgate logs the migrations it applies.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
