"""Settings: one object built from ``WRAPUP_*`` environment variables, validated at start.

Every variable is declared once in :data:`VARIABLES` (name, default, meaning); the
CLI's ``--help``, the README and the Kubernetes consistency test read that table.
A bad value raises :class:`ConfigError` whose message is one line naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streams.config_reader import EnvReader
from streams.join import JoinRules
from streams.kafka.security import KafkaSecurity
from streams.policy import Policy
from streams.variables import PREFIX, VARIABLES, ConfigError, Variable

__all__ = ["PREFIX", "VARIABLES", "ConfigError", "Settings", "Variable", "describe_variables",
           "kafka_security_from_env", "markdown_table"]

@dataclass(frozen=True)
class Settings:
    """Validated configuration of a worker or a replay run."""

    kafka_bootstrap_servers: str
    app_id: str
    events_topic: str
    events_keyed: bool
    outcomes_topic: str
    dead_letter_topic: str
    auto_offset_reset: str
    session_timeout: float
    group_instance_id: str | None
    replication_factor: int
    store: str
    data_dir: Path
    policy: Policy
    policy_file: Path | None  # watched for live reloads (streams/worker/reload.py)
    api_base_url: str
    api_wrapup_path: str
    api_interaction_path: str
    api_body_template: str
    api_token: str | None = field(repr=False)
    oauth_token_url: str | None
    oauth_client_id: str | None
    oauth_client_secret: str | None = field(repr=False)
    api_timeout: float
    api_connect_timeout: float
    api_max_connections: int
    api_rate_limit: float
    api_max_attempts: int
    max_in_flight: int
    default_acw: float
    pending_ttl: float
    state_retention: float
    min_retry_window: float
    clock_skew_warn: float
    tick_interval: float
    web_host: str
    web_port: int
    log_level: str
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    api_ca_file: str | None = None
    platform: str = "generic"  # WRAPUP_PLATFORM: a name in streams.platforms.PLATFORMS
    # The declared variables that are set: a platform's build() reads its own here.
    platform_env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def join_rules(self) -> JoinRules:
        """The pure join's rules (policy and time limits) from these settings."""
        return JoinRules(policy=self.policy, pending_ttl=self.pending_ttl,
                         retention=self.state_retention, default_acw=self.default_acw,
                         min_retry_window=self.min_retry_window)

    @property
    def uses_oauth(self) -> bool:
        return self.oauth_client_id is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every variable; raise :class:`ConfigError` on the first bad one."""
        env = os.environ if env is None else env
        r = EnvReader(env)
        settings = cls(
            kafka_bootstrap_servers=r.bootstrap(),
            kafka_security=r.kafka_security(),
            app_id=r.name("WRAPUP_APP_ID"),
            events_topic=r.name("WRAPUP_EVENTS_TOPIC"),
            events_keyed=r.boolean("WRAPUP_EVENTS_KEYED"),
            outcomes_topic=r.name("WRAPUP_OUTCOMES_TOPIC"),
            dead_letter_topic=r.name("WRAPUP_DEAD_LETTER_TOPIC"),
            auto_offset_reset=r.choice("WRAPUP_AUTO_OFFSET_RESET", ("earliest", "latest")),
            session_timeout=r.number("WRAPUP_KAFKA_SESSION_TIMEOUT_SECONDS", low=6, high=300),
            group_instance_id=r.group_instance_id(),
            replication_factor=r.integer("WRAPUP_REPLICATION_FACTOR", low=1, high=10),
            store=r.choice("WRAPUP_STORE", ("memory", "rocksdb")),
            data_dir=Path(r.text("WRAPUP_DATA_DIR")),
            policy=r.policy(),
            policy_file=Path(path) if (path := r.raw("WRAPUP_POLICY_FILE")) else None,
            platform=r.name("WRAPUP_PLATFORM"),
            platform_env={v.name: env[v.name] for v in VARIABLES if v.name in env},
            api_base_url=r.url("WRAPUP_API_BASE_URL"),
            api_wrapup_path=r.path_template("WRAPUP_API_WRAPUP_PATH"),
            api_interaction_path=r.path_template("WRAPUP_API_INTERACTION_PATH"),
            api_body_template=r.body_template("WRAPUP_API_BODY_TEMPLATE"),
            api_ca_file=r.api_ca_file(),
            api_token=r.secret("WRAPUP_API_TOKEN"),
            oauth_token_url=r.optional("WRAPUP_OAUTH_TOKEN_URL"),
            oauth_client_id=r.optional("WRAPUP_OAUTH_CLIENT_ID"),
            oauth_client_secret=r.secret("WRAPUP_OAUTH_CLIENT_SECRET"),
            api_timeout=r.number("WRAPUP_API_TIMEOUT_SECONDS", low=0.01, high=300),
            api_connect_timeout=r.number("WRAPUP_API_CONNECT_TIMEOUT_SECONDS", low=0.01, high=60),
            api_max_connections=r.integer("WRAPUP_API_MAX_CONNECTIONS", low=1, high=1000),
            api_rate_limit=r.number("WRAPUP_API_RATE_LIMIT", low=0.01, high=10_000),
            api_max_attempts=r.integer("WRAPUP_API_MAX_ATTEMPTS", low=1, high=100),
            max_in_flight=r.integer("WRAPUP_MAX_IN_FLIGHT", low=1, high=10_000),
            default_acw=r.number("WRAPUP_DEFAULT_ACW_SECONDS", low=1, high=86_400),
            pending_ttl=r.number("WRAPUP_PENDING_TTL_SECONDS", low=1, high=7 * 86_400),
            state_retention=r.number("WRAPUP_STATE_RETENTION_SECONDS", low=1, high=30 * 86_400),
            min_retry_window=r.number("WRAPUP_MIN_RETRY_WINDOW_SECONDS", low=0, high=3600),
            clock_skew_warn=r.number("WRAPUP_CLOCK_SKEW_WARN_SECONDS", low=0.1, high=86_400),
            tick_interval=r.number("WRAPUP_TICK_INTERVAL_SECONDS", low=0.05, high=3600),
            web_host=r.text("WRAPUP_WEB_HOST"),
            web_port=r.integer("WRAPUP_WEB_PORT", low=1, high=65_535),
            log_level=r.choice("WRAPUP_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"),
                               upper=True),
        )
        _check_auth(settings)
        return settings


def _check_auth(s: Settings) -> None:
    oauth = (s.oauth_client_id, s.oauth_client_secret)
    if any(oauth) and not all(oauth):
        missing = "WRAPUP_OAUTH_CLIENT_SECRET" if s.oauth_client_id else "WRAPUP_OAUTH_CLIENT_ID"
        raise ConfigError(f"{missing}: required when the other OAuth2 client variable is set")
    if all(oauth) and s.api_token:
        raise ConfigError("WRAPUP_API_TOKEN: set either a static token or OAuth2 client "
                          "credentials, not both")


def kafka_security_from_env(env: Mapping[str, str] | None = None) -> KafkaSecurity:
    """Only the ``WRAPUP_KAFKA_*`` connection settings, validated as :meth:`Settings.from_env`
    does (for benchmarks and tools that need no policy)."""
    return EnvReader(os.environ if env is None else env).kafka_security()


def describe_variables() -> str:
    """Help text listing every variable, its default and its meaning."""
    lines = []
    for var in VARIABLES:
        default = f" (default: {var.default})" if var.default is not None else ""
        lines.append(f"  {var.name}{default}\n      {var.help}")
    return "\n".join(lines)


def markdown_table() -> str:
    """The README's configuration table, generated from :data:`VARIABLES`."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for var in VARIABLES:
        default = f"`{var.default}`" if var.default is not None else "-"
        secret = " **Secret.**" if var.secret else ""
        cells = [f"`{var.name}`", default, var.help + secret]
        rows.append("| " + " | ".join(c.replace("|", "&#124;") for c in cells) + " |")
    return "\n".join(rows)
