"""The one settings object: built once from the environment at start-up, then passed down.

Nothing else in the code base reads the environment. Secrets are wrapped so that no repr,
log line or error message can show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.workflow_config import load_workflows
from domain.providers.hmac_tools import split_secrets
from domain.providers.registry import PROVIDERS
from domain.workflows import WorkflowSet


class SettingsError(ValueError):
    """A configuration value is missing or malformed (message never contains a secret)."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A configured secret list; its repr never shows the values."""

    values: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Secret(<{len(self.values)} redacted>)"

    __str__ = __repr__


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be > 0, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _workflow_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """WORKFLOWS_FILE (parsed and validated now, with the secrets it names), SMTP_*, OUTBOX_*."""
    out: dict[str, Any] = {}
    if path := env.get("WORKFLOWS_FILE", "").strip():
        try:
            workflows, secrets = load_workflows(Path(path), env)
        except ValueError as exc:
            raise SettingsError(f"WORKFLOWS_FILE {path}: {exc}") from None
        out.update(workflows_file=Path(path), workflows=workflows)
        out["workflow_secrets"] = {name: Secret(values) for name, values in secrets.items()}
    host, sender = env.get("SMTP_HOST", "").strip(), env.get("SMTP_FROM", "").strip()
    if host and "@" not in sender:
        raise SettingsError("SMTP_FROM (an email address) is required when SMTP_HOST is set")
    password = env.get("SMTP_PASSWORD", "")
    start = (env.get("REACTOR_START", "").strip() or "latest").lower()
    if start not in ("latest", "earliest"):
        raise SettingsError(f"REACTOR_START must be latest or earliest, got {start!r}")
    return out | {
        "smtp_host": host or None,
        "smtp_port": _int(env, "SMTP_PORT", 587, minimum=1),
        "smtp_from": sender or None,
        "smtp_username": env.get("SMTP_USERNAME", "").strip() or None,
        "smtp_password": Secret((password,)) if password else None,
        "smtp_starttls": _flag(env, "SMTP_STARTTLS"),
        "outbox_max_attempts": _int(env, "OUTBOX_MAX_ATTEMPTS", 8, minimum=1),
        "outbox_backoff_base_seconds": _float(env, "OUTBOX_BACKOFF_BASE_SECONDS", 30.0),
        "outbox_backoff_max_seconds": _float(env, "OUTBOX_BACKOFF_MAX_SECONDS", 3600.0),
        "outbox_batch_size": _int(env, "OUTBOX_BATCH_SIZE", 10, minimum=1),
        "outbox_poll_seconds": _float(env, "OUTBOX_POLL_SECONDS", 1.0),
        "outbox_timeout_seconds": _float(env, "OUTBOX_TIMEOUT_SECONDS", 10.0),
        "reactor_start": start,
    }


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int = 1
    data_dir: Path = Path(".data")
    log_level: str = "INFO"
    provider_secrets: Mapping[str, Secret] = field(default_factory=dict)
    signature_tolerance_seconds: int = 300
    max_body_bytes: int = 1024 * 1024
    append_batch_max: int = 500
    append_writers: int = 2
    append_timeout_seconds: float = 10.0
    db_pool_size: int = 8
    db_connect_timeout_seconds: float = 5.0
    retry_after_seconds: int = 5
    api_token: Secret | None = None
    products_file: Path | None = None
    worker_batch_size: int = 1000
    worker_poll_seconds: float = 1.0
    rebuild_batch_size: int = 5000
    workflows_file: Path | None = None
    workflows: WorkflowSet | None = None
    workflow_secrets: Mapping[str, Secret] = field(default_factory=dict)
    """Environment variable named by a workflow's ``secret_env`` → its value(s)."""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str | None = None
    smtp_username: str | None = None
    smtp_password: Secret | None = None
    smtp_starttls: bool | None = None
    """None: use STARTTLS when the server offers it; True: require it; False: never."""
    outbox_max_attempts: int = 8
    outbox_backoff_base_seconds: float = 30.0
    outbox_backoff_max_seconds: float = 3600.0
    outbox_batch_size: int = 10
    outbox_poll_seconds: float = 1.0
    outbox_timeout_seconds: float = 10.0
    reactor_start: str = "latest"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        secrets: dict[str, Secret] = {}
        for provider in PROVIDERS:
            values = tuple(split_secrets(env.get(provider.secret_env, "")))
            if values:
                try:
                    provider.load_keys(values)
                except ValueError as exc:
                    raise SettingsError(f"{provider.secret_env}: {exc}") from None
                secrets[provider.name] = Secret(values)
        token = env.get("API_TOKEN", "").strip()
        return cls(
            database_url=env.get("DATABASE_URL", "").strip() or None,
            host=env.get("HOST", "").strip() or "127.0.0.1",
            port=_int(env, "PORT", 8000),
            web_workers=_int(env, "WEB_WORKERS", 1, minimum=1),
            data_dir=Path(env.get("DATA_DIR", "").strip() or ".data"),
            log_level=(env.get("LOG_LEVEL", "").strip() or "INFO").upper(),
            provider_secrets=secrets,
            signature_tolerance_seconds=_int(env, "SIGNATURE_TOLERANCE_SECONDS", 300),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 1024 * 1024, minimum=1),
            append_batch_max=_int(env, "APPEND_BATCH_MAX", 500, minimum=1),
            append_writers=_int(env, "APPEND_WRITERS", 2, minimum=1),
            append_timeout_seconds=_float(env, "APPEND_TIMEOUT_SECONDS", 10.0),
            db_pool_size=_int(env, "DB_POOL_SIZE", 8, minimum=2),
            db_connect_timeout_seconds=_float(env, "DB_CONNECT_TIMEOUT_SECONDS", 5.0),
            retry_after_seconds=_int(env, "RETRY_AFTER_SECONDS", 5, minimum=1),
            api_token=Secret((token,)) if token else None,
            products_file=Path(products)
            if (products := env.get("PRODUCTS_FILE", "").strip())
            else None,
            worker_batch_size=_int(env, "WORKER_BATCH_SIZE", 1000, minimum=1),
            worker_poll_seconds=_float(env, "WORKER_POLL_SECONDS", 1.0),
            rebuild_batch_size=_int(env, "REBUILD_BATCH_SIZE", 5000, minimum=1),
            **_workflow_settings(env),
        )

    def with_database(self, url: str) -> Settings:
        """A copy pointing at ``url`` (used once the embedded server has started)."""
        return replace(self, database_url=url)
