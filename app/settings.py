"""The one settings object: built once from the environment at start-up, then passed down.

Nothing else in the code base reads the environment. Secrets are wrapped so that no repr,
log line or error message can show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from domain.providers.hmac_tools import split_secrets
from domain.providers.registry import PROVIDERS


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
        )

    def with_database(self, url: str) -> Settings:
        """A copy pointing at ``url`` (used once the embedded server has started)."""
        return replace(self, database_url=url)
