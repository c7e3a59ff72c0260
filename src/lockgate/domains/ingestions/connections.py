"""Which warehouse an ingestion source of a given type reads: the Databricks connection made
for ingestions, the project's warehouse connection when it is of that type, or, for a
``parquet`` source, DuckDB in memory over a folder of the warehouse files directory
(docs/warehouse.md §Ingestions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from lockgate.domains.audit.service import record_audit
from lockgate.domains.ingestions.schemas import DatabricksConnection
from lockgate.domains.warehouse import repository as warehouse_repository
from lockgate.domains.warehouse.adapters import SqlAlchemyWarehouse, Warehouse
from lockgate.domains.warehouse.dialects import DIALECTS
from lockgate.domains.warehouse.kinds import HOST, KINDS
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Actor
from lockgate.kit.secretbox import SecretBox, load_key
from lockgate.kit.settings import Settings
from lockgate.storage.models import IngestionConnection, IngestionSource

# Source type -> the warehouse connection kind (domains/warehouse/kinds.py) that serves it.
TYPE_KIND: Final = {
    "redshift": "redshift",
    "bigquery-v2": "bigquery",
    "snowflake-v2": "snowflake",
    "databricks": "databricks",
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "clickhouse": "clickhouse",
}
HIDDEN: Final = "(hidden)"
# Source types that read files of the server's warehouse files directory, with no connection.
FOLDER_TYPES: Final = frozenset({"parquet"})


@dataclass(frozen=True)
class Keys:
    """What opening a stored connection needs: the credentials' key and the files directory."""

    box: SecretBox
    files_dir: Path

    @staticmethod
    def from_settings(settings: Settings) -> Keys:
        key = load_key(settings.warehouse_secret_key.get_secret_value(), settings.data_dir)
        return Keys(SecretBox(key), settings.resolved_warehouse_files_dir)


def not_found(source_type: str) -> NotFound:
    return NotFound(f"Ingestion of type {source_type} not found.")


def has_connection(session: Session, project_id: str, source_type: str) -> bool:
    if source_type in FOLDER_TYPES:
        return True
    if _own(session, project_id, source_type) is not None:
        return True
    row = warehouse_repository.get(session, project_id)
    return row is not None and row.kind == TYPE_KIND.get(source_type)


def open_for(session: Session, project_id: str, source_type: str, keys: Keys) -> Warehouse:
    """An adapter (not yet connected) over the connection that serves ``source_type``."""
    if source_type in FOLDER_TYPES:
        # A database of its own per load, in memory: DuckDB reads the files in place.
        return SqlAlchemyWarehouse(
            URL.create("duckdb", database=":memory:"), DIALECTS["duckdb"], "main"
        )
    own = _own(session, project_id, source_type)
    if own is not None:
        values = {**own.settings, **keys.box.open(own.secrets)}
        return KINDS["databricks"].build(
            {
                "host": values["host"],
                "path": values["path"],
                "accessToken": values["token"],
                "stagingDatabase": "default",
            },
            keys.files_dir,
        )
    row = warehouse_repository.get(session, project_id)
    if row is None or row.kind != TYPE_KIND.get(source_type):
        raise not_found(source_type)
    return KINDS[row.kind].build({**row.settings, **keys.box.open(row.secrets)}, keys.files_dir)


def secret_values(session: Session, project_id: str, source_type: str, keys: Keys) -> list[str]:
    """The credentials of the connection serving ``source_type``, to scrub from messages."""
    if source_type in FOLDER_TYPES:
        return []
    own = _own(session, project_id, source_type)
    if own is not None:
        return [str(v) for v in keys.box.open(own.secrets).values() if v]
    row = warehouse_repository.get(session, project_id)
    if row is None:
        return []
    return [str(v) for v in keys.box.open(row.secrets).values() if v]


def folder(files_dir: Path, path: str) -> Path:
    """A Parquet-folder source's ``path`` resolved inside the warehouse files directory; a
    path that leaves it is refused, so a Console key cannot make the server read any folder."""
    root = files_dir.resolve()
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise InvalidInput.field(
            "path", "must name a folder inside the server's warehouse files directory"
        )
    return resolved


def parquet_query(files_dir: Path, path: str) -> str:
    """DuckDB's SQL over every Parquet file in the folder and its sub-folders; sub-folders
    named ``key=value`` add a ``key`` column (Hive partitioning), and files whose columns
    differ are read by column name."""
    glob = str(folder(files_dir, path) / "**" / "*.parquet")
    literal = DIALECTS["duckdb"].string_literal(glob)
    return f"SELECT * FROM read_parquet({literal}, hive_partitioning = true, union_by_name = true)"


def source_query(row: IngestionSource, files_dir: Path) -> str:
    """The SQL a load runs the day's selection over: the source's query, or its folder's."""
    if row.type in FOLDER_TYPES:
        return parquet_query(files_dir, row.path or "")
    return row.query


def _own(session: Session, project_id: str, source_type: str) -> IngestionConnection | None:
    return session.get(IngestionConnection, (project_id, source_type))


def connect_databricks(
    session: Session,
    project_id: str,
    actor: Actor,
    now_ms: int,
    body: DatabricksConnection,
    box: SecretBox,
) -> dict[str, Any]:
    """Store (or replace) the project's Databricks ingestion connection; its token and Delta
    Sharing credentials sealed. It is tested by the first run that reads it."""
    if not HOST.fullmatch(body.host):
        raise InvalidInput.field(
            "host", "must be a host name (letters, digits, dots and hyphens), not a URL"
        )
    settings = {"host": body.host, "path": body.path, "verified": bool(body.verified)}
    secrets = {"token": body.token}
    if body.delta_sharing_credentials is not None:
        secrets["deltaSharingCredentials"] = body.delta_sharing_credentials
    row = _own(session, project_id, "databricks")
    # The stored token is not opened: it may be sealed under a key that has since changed.
    before = None if row is None else _shown(row.settings, {"token": ""})
    if row is None:
        row = IngestionConnection(
            project_id=project_id,
            type="databricks",
            settings=settings,
            secrets=box.seal(secrets),
            created_time=now_ms,
            updated_time=now_ms,
        )
        session.add(row)
    else:
        row.settings, row.secrets, row.updated_time = settings, box.seal(secrets), now_ms
    session.flush()
    record_audit(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="ingestion_connection",
        entity_id="databricks",
        name="databricks",
        action_type="ingestion_connection_update",
        change_log="Updated Ingestion Connection",
        before=before,
        after=_shown(settings, secrets),
    )
    return {
        "id": "databricks",
        "type": "databricks",
        "enabled": True,
        "data": {**settings, "hasDeltaSharingCredentials": "deltaSharingCredentials" in secrets},
    }


def _shown(settings: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    """What an audit entry may hold: settings, and which credentials are set."""
    return {**settings, **dict.fromkeys(secrets, HIDDEN)}
