"""The configuration: `config.toml`, overridden by MICROMENTOR_<SECTION>_<KEY>, read once.

Each package owns its section as a frozen dataclass; this module gathers them into `Config`.
`config.toml` at the repository root documents every setting; defaults here match it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from billing.config import BillingSettings
from media.config import CallSettings, MediaSettings, RecordingSettings
from server.cluster.config import ClusterSettings
from server.settings_loader import ConfigError, build_section, unknown_variables
from signaling.config import SignalingSettings
from turn.config import TurnSettings

SQLITE_SCHEME = "sqlite+aiosqlite"
POSTGRES_SCHEME = "postgresql+asyncpg"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = field(default=8080, metadata={"min": 0, "max": 65535})
    data_dir: str = "var"
    public_url: str = ""
    secret_key: str = ""
    log_level: str = field(
        default="info", metadata={"choices": ("debug", "info", "warning", "error")}
    )
    environment: str = field(
        default="development", metadata={"choices": ("development", "production")}
    )
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_networks("trusted_proxies", self.trusted_proxies)
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"public_url: must be an http:// or https:// URL, got {self.public_url!r}"
                )
        if self.secret_key and len(self.secret_key) < 32:
            raise ValueError(
                "secret_key: must be at least 32 characters (or empty to generate one)"
            )
        if not self.data_dir:
            raise ValueError("data_dir: must not be empty")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    busy_timeout_ms: int = field(default=5000, metadata={"min": 0})

    def __post_init__(self) -> None:
        scheme = self.url.split("://", 1)[0] if "://" in self.url else ""
        if self.url and scheme not in (SQLITE_SCHEME, POSTGRES_SCHEME):
            raise ValueError(
                f"url: must start with {SQLITE_SCHEME}:// or {POSTGRES_SCHEME}://, "
                f"got {self.url.split('://', 1)[0]!r}"
            )


@dataclass(frozen=True)
class AuthSettings:
    failures_before_backoff: int = field(default=5, metadata={"min": 1})
    max_backoff_seconds: int = field(default=900, metadata={"min": 1})
    max_failures_per_address: int = field(default=100, metadata={"min": 1})
    failure_window_seconds: int = field(default=900, metadata={"min": 1})
    login_days: int = field(default=14, metadata={"min": 1, "max": 365})
    max_registrations_per_address: int = field(default=10, metadata={"min": 1})
    registration_window_seconds: int = field(default=3600, metadata={"min": 1})


# A campus email domain: lower-case labels and a top-level domain, like cs.campus.edu.
DOMAIN = re.compile(r"^(?=.{1,200}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")


@dataclass(frozen=True)
class AccountSettings:
    # Email domains of the campus: a student who confirms an address on one (or a subdomain)
    # gets the free calls or credits of the sponsor covering it.
    campus_domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for domain in self.campus_domains:
            if not DOMAIN.match(domain):
                raise ValueError(f"campus_domains: {domain!r} is not a domain like campus.edu")


@dataclass(frozen=True)
class CreditSettings:
    # Free calls each verified student gets per rolling window (a sponsor may change its own).
    free_calls_per_week: int = field(default=2, metadata={"min": 0, "max": 100})
    # The rolling window free calls are counted over, in days.
    window_days: int = field(default=7, metadata={"min": 1, "max": 90})
    # How long a campus address's confirmation link works, in hours.
    link_hours: int = field(default=48, metadata={"min": 1, "max": 720})


@dataclass(frozen=True)
class BookingSettings:
    buffer_minutes: int = field(default=5, metadata={"min": 0, "max": 240})
    min_notice_minutes: int = field(default=30, metadata={"min": 0})
    horizon_days: int = field(default=30, metadata={"min": 1, "max": 365})
    hold_minutes: int = field(default=10, metadata={"min": 1, "max": 120})
    join_early_minutes: int = field(default=5, metadata={"min": 0, "max": 60})
    max_unpaid_holds: int = field(default=2, metadata={"min": 1, "max": 50})
    bookings_per_minute: int = field(default=5, metadata={"min": 1, "max": 1000})


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = True
    token: str = ""
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_networks("allow", self.allow)


def check_networks(name: str, networks: tuple[str, ...]) -> None:
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{name}: {network!r} is not an address or network") from None


@dataclass(frozen=True)
class EmailSettings:
    host: str = ""
    port: int = field(default=587, metadata={"min": 1, "max": 65535})
    security: str = field(default="starttls", metadata={"choices": ("starttls", "tls", "none")})
    username: str = ""
    password: str = ""
    from_address: str = "micromentor <no-reply@micromentor.invalid>"
    timeout_seconds: int = field(default=20, metadata={"min": 1, "max": 300})


@dataclass(frozen=True)
class NotificationSettings:
    reminder_minutes: int = field(default=15, metadata={"min": 1, "max": 1440})
    poll_seconds: int = field(default=5, metadata={"min": 1, "max": 3600})
    max_attempts: int = field(default=8, metadata={"min": 1, "max": 50})
    digest_minutes: int = field(default=30, metadata={"min": 1, "max": 10080})


@dataclass(frozen=True)
class AssistantSettings:
    """[assistant]: the operator's own OpenAI-compatible model server, if it runs one
    (server/assistant/). Here rather than in its package: server/config.py imports no domain."""

    # The chat completions base URL (`{url}/chat/completions`); empty: the assistant is off.
    url: str = ""
    # The model name the server is asked for.
    model: str = ""
    # Sent as `Authorization: Bearer ...` when set.
    api_key: str = ""
    # How long to wait for the first words of a draft (and for each next piece), in seconds.
    timeout_seconds: int = field(default=20, metadata={"min": 1, "max": 600})
    # A whole draft never takes longer than this, in seconds.
    total_seconds: int = field(default=120, metadata={"min": 1, "max": 3600})
    # The most tokens one draft may have.
    max_tokens: int = field(default=600, metadata={"min": 16, "max": 8192})
    # Drafts one person may ask for in an hour.
    drafts_per_hour: int = field(default=20, metadata={"min": 1, "max": 10000})

    def __post_init__(self) -> None:
        if self.url:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"url: must be an http:// or https:// URL, got {self.url!r}")
        if self.url and not self.model:
            raise ValueError("model: must name the model when url is set")

    @property
    def on(self) -> bool:
        return bool(self.url)

    @property
    def completions_url(self) -> str:
        return self.url.rstrip("/") + "/chat/completions"


SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "auth": AuthSettings,
    "accounts": AccountSettings,
    "calls": CallSettings,
    "media": MediaSettings,
    "recording": RecordingSettings,
    "signaling": SignalingSettings,
    "booking": BookingSettings,
    "billing": BillingSettings,
    "turn": TurnSettings,
    "metrics": MetricsSettings,
    "email": EmailSettings,
    "notifications": NotificationSettings,
    "cluster": ClusterSettings,
    "credits": CreditSettings,
    "assistant": AssistantSettings,
}


@dataclass(frozen=True)
class Config:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    calls: CallSettings = field(default_factory=CallSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    signaling: SignalingSettings = field(default_factory=SignalingSettings)
    booking: BookingSettings = field(default_factory=BookingSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    turn: TurnSettings = field(default_factory=TurnSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    credits: CreditSettings = field(default_factory=CreditSettings)
    assistant: AssistantSettings = field(default_factory=AssistantSettings)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir).resolve()

    @property
    def recording_dir(self) -> Path:
        return self.data_dir / self.recording.directory

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"{SQLITE_SCHEME}:///{self.data_dir / 'micromentor.db'}"

    @property
    def public_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server.port}"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


CONFIG = web.AppKey("config", Config)


def default_config_path() -> Path | None:
    """MICROMENTOR_CONFIG, else ./config.toml when it exists, else none (built-in defaults)."""
    named = os.environ.get("MICROMENTOR_CONFIG")
    if named:
        return Path(named)
    here = Path("config.toml")
    return here if here.exists() else None


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Reads the file (if any) and the environment; raises ConfigError naming the bad setting."""
    env = os.environ if environ is None else environ
    tables: dict[str, Any] = {}
    source = "built-in defaults"
    if path is not None:
        source = str(path)
        try:
            tables = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    for name, table in tables.items():
        if name not in SECTIONS:
            raise ConfigError(f"[{name}]: not a section (known: {', '.join(SECTIONS)}) in {source}")
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: must be a [{name}] table in {source}")
    strays = unknown_variables(env, SECTIONS)
    if strays:
        raise ConfigError(f"{strays[0]}: not a setting; see config.toml for the names")
    built = {
        name: build_section(cls, name, tables.get(name, {}), env, source)
        for name, cls in SECTIONS.items()
    }
    config = Config(**built)
    if config.server.environment == "production":
        if not config.billing.uses_razorpay:
            raise ConfigError(
                "[billing] razorpay_key_id: production needs real Razorpay keys; the "
                "test-payment simulator is for development only"
            )
        if not config.server.public_url.startswith("https://"):
            raise ConfigError(
                "[server] public_url: production needs the https:// address users reach (behind "
                "a TLS proxy), so that login cookies are sent only over TLS"
            )
    return config
