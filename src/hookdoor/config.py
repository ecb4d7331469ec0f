"""Every setting Hookdoor reads, in one place, from ``HOOKDOOR_*`` environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hookdoor.uploads.schemas import DEFAULT_ALLOWED_TYPES

BACKENDS = ("sqlite", "postgresql")
# Bounds that keep every duration a datetime can hold (timedelta stops at 999,999,999 days).
MAX_DAYS = 36500
MAX_HOURS = MAX_DAYS * 24


class Settings(BaseSettings):
    # No inf or nan: an infinite retention or lease is written `1e999`, and fails as a datetime later.
    model_config = SettingsConfigDict(env_prefix="HOOKDOOR_", env_file=".env", extra="ignore", allow_inf_nan=False)

    database_url: str = Field(
        default="sqlite:///hookdoor.db",
        description="SQLAlchemy URL; postgresql://... selects PostgreSQL (asyncpg); sqlite:///:memory: (or "
        "sqlite://) a database in memory, lost when the process exits.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: SecretStr | None = Field(
        default=None, description="Signs session cookies and CSRF tokens; generated and stored when unset."
    )
    data_dir: Path = Path(".")

    admin_password: SecretStr | None = Field(
        default=None, description="Password of the bootstrapped admin; generated and printed once when unset."
    )
    admin_name: str = "admin"

    metrics_key: SecretStr | None = Field(
        default=None, description="A bearer key that may read /api/metrics besides global admins."
    )
    public_url: str = Field(default="", description="How browsers reach this server (issuer, links).")
    secure_cookies: bool | None = Field(
        default=None, description="Mark cookies Secure; defaults to on when public_url is https."
    )

    access_token_ttl_hours: int = Field(default=168, ge=1, le=MAX_HOURS)
    session_ttl_hours: int = Field(default=24 * 7, ge=1, le=MAX_HOURS)

    login_max_failures: int = Field(default=5, ge=1, description="Failures per account before a lock-out.")
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_lockout_seconds: int = Field(default=300, ge=1, le=MAX_DAYS * 86400)

    # Providers that send (messaging/) and verification codes (verification/).
    send_limit_per_destination: int = Field(default=10, ge=1, description="Messages per hour to one address or number.")
    send_limit_per_caller: int = Field(default=200, ge=1, description="Messages per hour sent by one caller.")
    verification_code_seconds: int = Field(default=600, ge=1, le=86400, description="How long a code is good.")
    verification_code_tries: int = Field(default=5, ge=1, le=100, description="Wrong tries before a code is spent.")

    run_worker: bool = True
    worker_process: bool | None = Field(
        default=None,
        description="`hookdoor serve` runs its worker as a child process (on a core of its own) instead of in "
        "its own event loop; unset: a child process when the machine has two cores or more.",
    )
    worker_nice: int = Field(
        default=10, ge=0, le=19,
        description="The CPU niceness of that child process: when both want the CPU, the API goes first.",
    )

    webhook_allow_targets: str = Field(
        default="",
        description="Comma-separated networks (CIDR), addresses or host names that webhooks may target even "
        "though they are private, loopback or link-local (the SSRF guard refuses those by default).",
    )
    webhook_auto_disable_days: float = Field(
        default=5, gt=0, le=MAX_DAYS, description="Disable a webhook failing this long."
    )
    retention_days: float = Field(
        default=30, gt=0, le=MAX_DAYS, description="Events, deliveries and attempts kept this long."
    )
    worker_concurrency: int = Field(default=256, ge=1, le=10000, description="Requests in flight per worker.")
    worker_batch_size: int = Field(default=200, ge=1, le=5000)
    worker_lease_seconds: float = Field(
        default=90, ge=1, le=3600,
        description="How long a leased delivery stays with a worker before another may take it over.",
    )
    worker_poll_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="Safety-net poll when no wake-up arrives."
    )

    upload_max_bytes: int = Field(
        default=10_000_000, ge=1, le=1_000_000_000,
        description="The largest file upload-resource stores, and the largest .xlsx the upload- imports read.",
    )
    upload_allowed_types: str = Field(
        default=DEFAULT_ALLOWED_TYPES,
        description="Comma-separated MIME type patterns (image/png, video/*) of the files upload-resource "
        "stores, judged from the file name's extension.",
    )

    whois_server: str = Field(
        default="",
        description="host[:port] of the WHOIS server update-cert-domain-expire asks; unset: the registry's server "
        "for the domain's suffix, as Casdoor chooses it.",
    )

    # Syncers (sync/): a SQLite source database is a file the server opens, so only files in this
    # folder may be one (empty: SQLite sources are refused); the scheduler's look for due syncers.
    syncer_sqlite_dir: str = Field(default="", description="Folder whose SQLite files syncers may read.")
    sync_poll_seconds: float = Field(default=5.0, gt=0, le=3600, description="How often due syncers are looked for.")
    subscription_poll_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="How often subscriptions whose period began or ended are moved on."
    )

    # argon2id cost (OWASP's minimum is t=2, m=19 MiB); raise it on stronger machines.
    password_time_cost: int = Field(default=2, ge=1, le=10)
    password_memory_kib: int = Field(default=19456, ge=1024, le=1048576)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept the plain URLs people paste and pick the async driver for them (SQLite's is chosen
        by the engine: see db/sqlite_inloop.py)."""
        for plain, async_form in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(plain):
                url = async_form + url[len(plain) :]
        _check_database_url(url)
        return url

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, url: str) -> str:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is no http:// or https:// address")
        return url

    @field_validator("webhook_allow_targets")
    @classmethod
    def _targets(cls, targets: str) -> str:
        from hookdoor.webhooks.target_guard import ALLOW_SETTING, TargetPolicy

        try:
            TargetPolicy.from_strings(targets.split(","))
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix(f"{ALLOW_SETTING}: ")) from None
        return targets

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def allow_targets(self) -> list[str]:
        return [item.strip() for item in self.webhook_allow_targets.split(",") if item.strip()]

    @property
    def cookie_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.public_url.startswith("https://")


def _check_database_url(url: str) -> None:
    """Refuse at start, in words, a URL the engine would refuse later with a traceback."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 (parsed lazily: "host:notaport" fails here)
    except (ArgumentError, ValueError):
        # Not repeated: it may hold a password.
        raise ValueError("not a database URL; write sqlite:///path or postgresql://user@host/db") from None
    if parsed.get_backend_name() not in BACKENDS:
        raise ValueError(
            f"unknown database {parsed.get_backend_name()!r}; Hookdoor runs on sqlite:///path or postgresql://..."
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "asyncpg":
        raise ValueError(f"Hookdoor reaches PostgreSQL through asyncpg, not {parsed.get_driver_name()}: write "
                         "postgresql://...")
