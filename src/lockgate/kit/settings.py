"""The one typed settings object, read from ``LOCKGATE_*`` environment variables."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from lockgate.kit.passwords import DEFAULT_MEMORY_KIB
from lockgate.kit.proxies import parse_networks

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class Settings(BaseSettings):
    """Every setting Lockgate reads. Each field is documented in the README (a test checks)."""

    # A refused value is not echoed: it may be a password or a key.
    model_config = SettingsConfigDict(
        env_prefix="LOCKGATE_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Field(
        default=Path("./lockgate-data"),
        description="Directory holding the embedded SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Unset means SQLite at <data_dir>/lockgate.db; "
            "use postgresql+psycopg://user@host/db for PostgreSQL."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `lockgate serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `lockgate serve` binds to.")
    log_level: LogLevel = Field(default="info", description="Log level of the server.")
    workers: int = Field(
        default=0,
        ge=0,
        le=256,
        description=(
            "Worker processes `lockgate serve` runs on its port (0: one per core; 1: the "
            "process that binds the port serves alone)."
        ),
    )
    server: Literal["granian", "uvicorn"] = Field(
        default="granian",
        description=(
            "The HTTP server each worker of `lockgate serve` runs: `granian` (Rust, the "
            "faster on the SDK paths) or `uvicorn` (httptools and uvloop)."
        ),
    )
    worker_header: bool = Field(
        default=False,
        description=(
            "Add to every response an `x-lockgate-worker` header naming the process id of the "
            "worker that answered, to see requests spread over the workers (for debugging)."
        ),
    )
    rate_limit_per_10s: int = Field(
        default=100,
        ge=0,
        description="Console API mutations allowed per project per 10 s (0: off).",
    )
    rate_limit_per_15min: int = Field(
        default=900,
        ge=0,
        description="Console API mutations allowed per project per 15 minutes (0: off).",
    )
    sdk_max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1,
        description=(
            "Largest SDK request body (events, initialize, the HTTP API), as sent and once "
            "decompressed; a larger one is refused with 413."
        ),
    )
    console_max_body_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1,
        description=(
            "Largest Console API request body, as sent and once decompressed; a larger one "
            "is refused with 413."
        ),
    )
    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses and CIDR blocks of the reverse proxies whose "
            "X-Forwarded-For header is believed; empty: none, the client is the socket peer."
        ),
    )
    run_migrations_on_start: bool = Field(
        default=True, description="Apply database migrations when the server starts."
    )
    pulse_worker_interval_ms: int = Field(
        default=5_000,
        ge=0,
        description=(
            "How often the Pulse worker looks for queued loads and for running experiments "
            "without today's results (0: no worker in this process)."
        ),
    )
    ingestion_worker_interval_ms: int = Field(
        default=5_000,
        ge=0,
        description=(
            "How often the ingestion worker runs queued ingestion runs (backfills and the "
            "daily schedule) (0: no worker in this process)."
        ),
    )
    scheduled_start_interval_ms: int = Field(
        default=10_000,
        ge=0,
        description=(
            "How often this process starts experiments whose scheduled start (POST "
            "/experiments/{id}/schedule_start) has come (0: not in this process)."
        ),
    )
    ingestion_recheck_days: int = Field(
        default=3,
        ge=0,
        le=30,
        description=(
            "How many days before its day a scheduled ingestion run re-checks for late data: "
            "each of those days that a load wrote is reloaded when its row count or checksum "
            "in the warehouse changed since (0: no re-check)."
        ),
    )
    pulse_job_stale_ms: int = Field(
        default=600_000,
        ge=120_000,
        description=(
            "How long a running Pulse load may go without a heartbeat (written every 30 s "
            "while it runs) before a worker marks it failed as abandoned, its process having "
            "been killed, and the daily schedule queues its entity again."
        ),
    )
    incoming_move_interval_ms: int = Field(
        default=1_000,
        ge=0,
        description=(
            "How often a server moves the SDK events it has acknowledged into the indexed "
            "event tables (0: only when a Console request or a Pulse job reads them)."
        ),
    )
    incoming_move_defer_ms: int = Field(
        default=10_000,
        ge=0,
        description=(
            "How long the background move may wait while SDK batches keep arriving (through "
            "any process), so that it does not take the write lock from their acknowledgements "
            "(0: move every interval regardless)."
        ),
    )
    review_worker_interval_ms: int = Field(
        default=1_000,
        ge=0,
        description=(
            "How often the review worker sends due webhook deliveries (pre-commit webhook, "
            "review notifications) and fails pre-commit validations that timed out (0: no "
            "worker in this process)."
        ),
    )
    precommit_validation_timeout_ms: int = Field(
        default=120_000,
        ge=1,
        description=(
            "How long a committed review waits for its pre-commit webhook's validator to call "
            "/change_validation before the validation fails as timed out."
        ),
    )
    webhook_max_attempts: int = Field(
        default=5,
        ge=1,
        description=(
            "How many times a webhook delivery is tried (with exponential backoff from 1 s, at "
            "most 60 s apart) before it is marked failed."
        ),
    )
    smtp_host: str = Field(
        default="",
        description=(
            "SMTP server that review notification emails are sent through (empty: no email)."
        ),
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_username: str = Field(
        default="", description="User name to log in to the SMTP server with (empty: no login)."
    )
    smtp_password: SecretStr = Field(
        default=SecretStr(""), description="Password of the SMTP login; never logged."
    )
    smtp_from: str = Field(
        default="lockgate@localhost", description="Sender address of notification emails."
    )
    smtp_starttls: bool = Field(
        default=True,
        description="Upgrade the SMTP connection with STARTTLS before logging in and sending.",
    )
    sdk_cache_ttl_ms: int = Field(
        default=500,
        ge=0,
        le=1_000,
        description=(
            "How long the SDK face reuses a key it read and a project's spec revision before "
            "reading them again: the most a change made through another process (a "
            "deactivated key, a changed gate) waits to reach this one's SDKs (0: every request)."
        ),
    )
    sdk_initialize_cache_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        description=(
            "Bytes of encoded /v1/initialize answers each worker keeps per key scope, reused "
            "for a request whose user, request-derived fields, hash and key are the same under "
            "the same spec revision (0: evaluate every request)."
        ),
    )
    sdk_initialize_delta_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        description=(
            "Bytes of /v1/initialize answers each worker keeps per key scope, across spec "
            "revisions, so that a JS client naming one of them by its full_checksum gets a "
            "delta from it (0: never a delta, always the full answer)."
        ),
    )
    sdk_initialize_delta_revisions: int = Field(
        default=1,
        ge=0,
        le=64,
        description=(
            "Spec revisions each worker keeps compiled per key scope after a newer one replaced "
            "them, so that a JS client holding a /v1/initialize answer that any worker gave "
            "from one of them gets a delta, its answer evaluated again (0: deltas only from "
            "the answers this worker kept)."
        ),
    )
    sdk_protobuf_specs: bool = Field(
        default=True,
        description=(
            "Answer download_config_specs in protobuf to SDKs that ask for it "
            "(statsig-python-core's supports_proto), with deltas against a payload they hold."
        ),
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, description="How long a SQLite writer waits for the write lock."
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description=(
            "SQLite's synchronous mode. full: every commit (every acknowledged event batch) "
            "survives a power loss; normal: faster, survives a crash of the process but may "
            "lose the last commits on a power loss."
        ),
    )

    warehouse_secret_key: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "Fernet key (32 url-safe base64 bytes) that encrypts warehouse connection "
            "credentials at rest; empty: a key kept in <data_dir>/warehouse-secret.key, made "
            "on first use. Servers sharing one database need the same key; never logged."
        ),
    )
    warehouse_files_dir: Path | None = Field(
        default=None,
        description=(
            "Directory that the DuckDB files and the chDB data directory of warehouse "
            "connections must lie in; unset: <data_dir>/warehouses."
        ),
    )

    auto_accept_invites: bool = Field(
        default=False,
        description=(
            "Add invited users to the project at once instead of keeping the invite pending "
            "until accepted: for headless installs without the web console."
        ),
    )
    invite_domain_check: bool = Field(
        default=False,
        description="Refuse invites to emails outside the Owner's email domain.",
    )
    password_hash_memory_kib: int = Field(
        default=DEFAULT_MEMORY_KIB,
        ge=1_024,
        le=4_194_304,
        description=(
            "Memory in KiB of each web console password hash (argon2id, three passes, four "
            "lanes; the default is RFC 9106's low-memory profile). Lowering it makes hashes "
            "cheaper to guess: the test suite lowers it to 1024, production keeps the default."
        ),
    )
    owner_email: str = Field(
        default="owner@lockgate.local",
        description=(
            "Email of the Owner that `lockgate serve` creates on a fresh data directory "
            "(its one-time sign-in password is printed once)."
        ),
    )

    @field_validator("warehouse_secret_key")
    @classmethod
    def _warehouse_key_parses(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw:
            try:
                ok = len(base64.urlsafe_b64decode(raw.encode())) == 32
            except ValueError:
                ok = False
            if not ok:  # the value itself is never echoed
                raise ValueError("must be a Fernet key: 32 bytes in url-safe base64")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        parse_networks(value)  # a bad entry stops the server at start, not each request
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lockgate.db').as_posix()}"

    @property
    def resolved_warehouse_files_dir(self) -> Path:
        return self.warehouse_files_dir or self.data_dir / "warehouses"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file; None on PostgreSQL or in memory."""
        name = make_url(self.resolved_database_url).database
        return Path(name) if self.is_sqlite and name and name != ":memory:" else None

    def summary(self) -> str:
        """Every setting as ``name=value`` for the start-up log, the database password hidden."""
        shown = {name: getattr(self, name) for name in type(self).model_fields}
        url = make_url(self.resolved_database_url)
        # libpq also takes the password as a query parameter (?password=...).
        query = {k: "hidden" if "password" in k.lower() else v for k, v in url.query.items()}
        shown["database_url"] = url.set(query=query).render_as_string(hide_password=True)
        return " ".join(f"{name}={value}" for name, value in shown.items())
