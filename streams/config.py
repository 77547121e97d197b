"""Settings: one object built from ``WRAPUP_*`` environment variables, validated at start.

Every variable is declared once in :data:`VARIABLES` (name, default, meaning); the
CLI's ``--help``, the README and the Kubernetes consistency test read that table.
A bad value raises :class:`ConfigError` whose message is one line naming the variable.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streams.join import JoinRules
from streams.kafka.security import MECHANISMS, PROTOCOLS, KafkaSecurity
from streams.policy import Policy, PolicyError

PREFIX = "WRAPUP_"


class ConfigError(ValueError):
    """A configuration value is missing or invalid (message: one line, names the variable)."""


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable the service reads."""

    name: str
    default: str | None
    help: str
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("WRAPUP_KAFKA_BOOTSTRAP_SERVERS", None,
             "Kafka bootstrap servers, host:port[,host:port]; "
             "defaults to $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092"),
    Variable("WRAPUP_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT",
             "how every Kafka client connects: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
    Variable("WRAPUP_KAFKA_SASL_MECHANISM", None,
             "SASL mechanism with SASL_*: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    Variable("WRAPUP_KAFKA_SASL_USERNAME", None,
             "SASL user name (or WRAPUP_KAFKA_SASL_USERNAME_FILE)"),
    Variable("WRAPUP_KAFKA_SASL_USERNAME_FILE", None, "file holding the SASL user name"),
    Variable("WRAPUP_KAFKA_SASL_PASSWORD", None,
             "SASL password (or WRAPUP_KAFKA_SASL_PASSWORD_FILE)", secret=True),
    Variable("WRAPUP_KAFKA_SASL_PASSWORD_FILE", None,
             "file holding the SASL password (a mounted Secret)"),
    Variable("WRAPUP_KAFKA_SSL_CA_FILE", None,
             "PEM file of the CA(s) that sign the brokers' certificates; default: the "
             "system's CAs"),
    Variable("WRAPUP_KAFKA_SSL_CERT_FILE", None,
             "PEM client certificate (chain) for mutual TLS"),
    Variable("WRAPUP_KAFKA_SSL_KEY_FILE", None,
             "PEM private key of the client certificate (mutual TLS)"),
    Variable("WRAPUP_KAFKA_SSL_KEY_PASSWORD", None,
             "password of an encrypted client key (or WRAPUP_KAFKA_SSL_KEY_PASSWORD_FILE)",
             secret=True),
    Variable("WRAPUP_KAFKA_SSL_KEY_PASSWORD_FILE", None,
             "file holding the client key's password"),
    Variable("WRAPUP_KAFKA_SSL_CHECK_HOSTNAME", "true",
             "check that a broker's certificate names the host connected to (certificates "
             "are always verified)"),
    Variable("WRAPUP_APP_ID", "wrapup-bridge",
             "Faust app id = Kafka consumer group and prefix of internal topics"),
    Variable("WRAPUP_EVENTS_TOPIC", "platform.interaction-events",
             "topic the platform bridge writes interaction events to"),
    Variable("WRAPUP_EVENTS_KEYED", "true",
             "true if the events topic is keyed by interaction ID; false repartitions first"),
    Variable("WRAPUP_OUTCOMES_TOPIC", "wrapup-bridge.outcomes",
             "compacted topic of final outcomes, keyed by interaction ID (the ledger)"),
    Variable("WRAPUP_DEAD_LETTER_TOPIC", "wrapup-bridge.dead-letter",
             "topic for unparseable events and permanent delivery failures"),
    Variable("WRAPUP_AUTO_OFFSET_RESET", "earliest",
             "where a new consumer group starts: earliest (nothing missed) or latest"),
    Variable("WRAPUP_KAFKA_SESSION_TIMEOUT_SECONDS", "10",
             "consumer group session timeout: how soon the partitions of a worker that is "
             "gone and not back (same instance ID) move to the others"),
    Variable("WRAPUP_KAFKA_GROUP_INSTANCE_ID", None,
             "static group membership ID of this worker (Kafka group.instance.id): a worker "
             "restarted with the same ID gets its partitions back at once, without a "
             "rebalance; defaults to the host name (the pod name); unique per worker "
             "process; 'none' for dynamic membership"),
    Variable("WRAPUP_REPLICATION_FACTOR", "1",
             "replication factor of the topics the worker creates (3 in production)"),
    Variable("WRAPUP_STORE", "memory",
             "table store: memory (recovered from the changelog) or rocksdb"),
    Variable("WRAPUP_DATA_DIR", "var/wrapup-data", "directory for Faust's data and RocksDB"),
    Variable("WRAPUP_POLICY_FILE", None, "path to the campaign/queue -> wrap-up code JSON"),
    Variable("WRAPUP_POLICY_JSON", None, "the policy JSON itself (instead of a file)"),
    Variable("WRAPUP_API_BASE_URL", "http://127.0.0.1:8080",
             "base URL of the contact-center API"),
    Variable("WRAPUP_API_WRAPUP_PATH",
             "/api/v2/conversations/interactions/{interactionId}/wrapup",
             "path template of the wrap-up POST"),
    Variable("WRAPUP_API_INTERACTION_PATH", "/api/v2/conversations/interactions/{interactionId}",
             "path template of the interaction read-back GET"),
    Variable("WRAPUP_API_BODY_TEMPLATE",
             '{"wrapupCode": {"id": "{codeId}", "label": "{codeLabel}"}}',
             "JSON body template of the wrap-up POST ({codeId}, {codeLabel})"),
    Variable("WRAPUP_API_CA_FILE", None,
             "PEM CA bundle for the API's TLS (a private or corporate CA); default: the "
             "system's CAs. TLS is always verified. The standard proxy variables are "
             "honoured ($HTTPS_PROXY, $HTTP_PROXY, $ALL_PROXY, $NO_PROXY, or lower case "
             "$https_proxy, $http_proxy, $all_proxy, $no_proxy); http(s) proxies only"),
    Variable("WRAPUP_API_TOKEN", None,
             "static bearer token (instead of OAuth2; or WRAPUP_API_TOKEN_FILE)", secret=True),
    Variable("WRAPUP_API_TOKEN_FILE", None, "file holding the static bearer token"),
    Variable("WRAPUP_OAUTH_TOKEN_URL", "/oauth/token",
             "OAuth2 token endpoint (client-credentials grant); relative to the base URL if "
             "it starts with /"),
    Variable("WRAPUP_OAUTH_CLIENT_ID", None, "OAuth2 client ID"),
    Variable("WRAPUP_OAUTH_CLIENT_SECRET", None,
             "OAuth2 client secret (or WRAPUP_OAUTH_CLIENT_SECRET_FILE)", secret=True),
    Variable("WRAPUP_OAUTH_CLIENT_SECRET_FILE", None, "file holding the OAuth2 client secret"),
    Variable("WRAPUP_API_TIMEOUT_SECONDS", "5", "read/write/pool timeout of one API request"),
    Variable("WRAPUP_API_CONNECT_TIMEOUT_SECONDS", "2", "connect timeout of one API request"),
    Variable("WRAPUP_API_MAX_CONNECTIONS", "20", "HTTP connection pool size"),
    Variable("WRAPUP_API_RATE_LIMIT", "5",
             "client-side request rate limit, requests/s for the whole process"),
    Variable("WRAPUP_API_MAX_ATTEMPTS", "8", "attempts per wrap-up before it fails"),
    Variable("WRAPUP_MAX_IN_FLIGHT", "64", "wrap-up deliveries running at once per worker"),
    Variable("WRAPUP_DEFAULT_ACW_SECONDS", "120",
             "after-call-work deadline after wrapping-up when the event carries none"),
    Variable("WRAPUP_PENDING_TTL_SECONDS", "1800",
             "how long an interaction waits for its partner event before it expires"),
    Variable("WRAPUP_STATE_RETENTION_SECONDS", "21600",
             "how long a finished interaction is remembered to swallow late duplicates"),
    Variable("WRAPUP_MIN_RETRY_WINDOW_SECONDS", "15",
             "not-ready retries go on at least this long after the worker paired the "
             "interaction, even if the ACW deadline (from event timestamps) has passed"),
    Variable("WRAPUP_CLOCK_SKEW_WARN_SECONDS", "30",
             "events stamped further than this from the worker's clock when read are "
             "counted in wrapup_events_clock_skewed_total"),
    Variable("WRAPUP_TICK_INTERVAL_SECONDS", "5",
             "how often expiry sweeps and the tail-hole check run per partition"),
    Variable("WRAPUP_WEB_HOST", "127.0.0.1",
             "bind address of /metrics, /healthz, /readyz (0.0.0.0 in a pod)"),
    Variable("WRAPUP_WEB_PORT", "6066", "port of /metrics, /healthz, /readyz"),
    Variable("WRAPUP_LOG_LEVEL", "INFO", "log level: DEBUG, INFO, WARNING, ERROR"),
)

_DECLARED = {v.name: v for v in VARIABLES}


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
        r = _Reader(env)
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


class _Reader:
    """Typed accessors that raise one-line :class:`ConfigError` messages."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return _DECLARED[name].default
        return value.strip()

    def text(self, name: str) -> str:
        value = self.raw(name)
        if value is None:
            raise ConfigError(f"{name}: required but not set")
        return value

    def optional(self, name: str) -> str | None:
        return self.raw(name)

    def _convert(self, name: str, kind: str, conv: Callable[[str], Any]) -> Any:
        value = self.text(name)
        try:
            return conv(value)
        except ValueError:
            raise ConfigError(f"{name}: {value!r} is not {kind}") from None

    def number(self, name: str, *, low: float, high: float) -> float:
        value: float = self._convert(name, "a number", float)
        if not low <= value <= high:
            raise ConfigError(f"{name}: {value:g} is outside {low:g}..{high:g}")
        return value

    def integer(self, name: str, *, low: int, high: int) -> int:
        value: int = self._convert(name, "a whole number", int)
        if not low <= value <= high:
            raise ConfigError(f"{name}: {value} is outside {low}..{high}")
        return value

    def boolean(self, name: str) -> bool:
        value = self.text(name).lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: {value!r} is not a boolean (true/false)")

    def choice(self, name: str, options: tuple[str, ...], *, upper: bool = False) -> str:
        value = self.text(name)
        value = value.upper() if upper else value.lower()
        if value not in options:
            raise ConfigError(f"{name}: {value!r} is not one of {', '.join(options)}")
        return value

    def name(self, name: str) -> str:
        value = self.text(name)
        # ASCII only: str.isalnum() is also true for letters like "é", which Kafka rejects.
        if not all(c.isascii() and (c.isalnum() or c in "._-") for c in value) or len(value) > 200:
            raise ConfigError(f"{name}: {value!r} may only hold letters, digits, '.', '_', '-'")
        return value

    def group_instance_id(self) -> str | None:
        name = "WRAPUP_KAFKA_GROUP_INSTANCE_ID"
        value = self.raw(name) or socket.gethostname()
        if value.lower() == "none":
            return None
        # Kafka's rule for group.instance.id: at most 249 of [a-zA-Z0-9._-].
        if not all(c.isascii() and (c.isalnum() or c in "._-") for c in value) or len(value) > 249:
            raise ConfigError(f"{name}: {value!r} may only hold letters, digits, '.', '_', "
                              "'-' (at most 249)")
        return value

    def url(self, name: str) -> str:
        value = self.text(name).rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{name}: {value!r} is not an http(s) URL")
        return value

    def path_template(self, name: str) -> str:
        value = self.text(name)
        if not value.startswith("/") or "{interactionId}" not in value:
            raise ConfigError(f"{name}: must start with / and contain {{interactionId}}")
        return value

    def body_template(self, name: str) -> str:
        import orjson

        value = self.text(name)
        try:
            orjson.loads(value.replace("{codeId}", "x").replace("{codeLabel}", "x"))
        except orjson.JSONDecodeError:
            raise ConfigError(f"{name}: not valid JSON once placeholders are filled") from None
        if "{codeId}" not in value:
            raise ConfigError(f"{name}: must contain the {{codeId}} placeholder")
        return value

    def secret(self, name: str) -> str | None:
        """``name``'s value, or the content of the file ``name_FILE`` names (one trailing
        new line dropped). Errors never quote the value."""
        value = self.raw(name)
        path = self.raw(f"{name}_FILE")
        if value is not None and path is not None:
            raise ConfigError(f"{name}: set it or {name}_FILE, not both")
        if path is None:
            if value is not None and ("\n" in value or "\r" in value):
                raise ConfigError(f"{name}: must be one line")
            return value
        try:
            text = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"{name}_FILE: cannot read {path!r}: {reason}") from None
        text = text[:-1] if text.endswith("\n") else text
        text = text[:-1] if text.endswith("\r") else text
        if not text:
            raise ConfigError(f"{name}_FILE: {path!r} is empty")
        if "\n" in text or "\r" in text:
            raise ConfigError(f"{name}_FILE: {path!r} must hold one line")
        return text

    def pem_file(self, name: str) -> str | None:
        path = self.raw(name)
        if path is None:
            return None
        try:
            head = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read {path!r}: {exc.strerror}") from None
        if b"-----BEGIN " not in head:
            raise ConfigError(f"{name}: {path!r} is not a PEM file")
        return path

    def api_ca_file(self) -> str | None:
        path = self.pem_file("WRAPUP_API_CA_FILE")
        if path is not None:
            try:
                ssl.create_default_context(cafile=path)
            except ssl.SSLError:
                raise ConfigError(f"WRAPUP_API_CA_FILE: {path!r} holds no usable CA "
                                  "certificate") from None
        for proxy in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
            for var in (proxy, proxy.lower()):
                value = (self.env.get(var) or "").strip()
                if value and urlsplit(value).scheme not in ("http", "https"):
                    raise ConfigError(f"{var}: only http:// and https:// proxies are "
                                      "supported")
        return path

    def kafka_security(self) -> KafkaSecurity:
        protocol = self.choice("WRAPUP_KAFKA_SECURITY_PROTOCOL", PROTOCOLS, upper=True)
        sasl = protocol.startswith("SASL_")
        tls = protocol in ("SSL", "SASL_SSL")
        mechanism = self.raw("WRAPUP_KAFKA_SASL_MECHANISM")
        username = self.secret("WRAPUP_KAFKA_SASL_USERNAME")
        password = self.secret("WRAPUP_KAFKA_SASL_PASSWORD")
        if sasl:
            mechanism = self.choice("WRAPUP_KAFKA_SASL_MECHANISM", MECHANISMS, upper=True)
            if username is None:
                raise ConfigError(f"WRAPUP_KAFKA_SASL_USERNAME: required with {protocol}")
            if password is None:
                raise ConfigError(f"WRAPUP_KAFKA_SASL_PASSWORD: required with {protocol} "
                                  "(or WRAPUP_KAFKA_SASL_PASSWORD_FILE)")
        else:
            for name, value in (("WRAPUP_KAFKA_SASL_MECHANISM", mechanism),
                                ("WRAPUP_KAFKA_SASL_USERNAME", username),
                                ("WRAPUP_KAFKA_SASL_PASSWORD", password)):
                if value is not None:
                    raise ConfigError(f"{name}: set but WRAPUP_KAFKA_SECURITY_PROTOCOL is "
                                      f"{protocol} (SASL_SSL or SASL_PLAINTEXT uses it)")
        ca_file = self.pem_file("WRAPUP_KAFKA_SSL_CA_FILE")
        cert_file = self.pem_file("WRAPUP_KAFKA_SSL_CERT_FILE")
        key_file = self.pem_file("WRAPUP_KAFKA_SSL_KEY_FILE")
        key_password = self.secret("WRAPUP_KAFKA_SSL_KEY_PASSWORD")
        check_hostname = self.boolean("WRAPUP_KAFKA_SSL_CHECK_HOSTNAME")
        if not tls:
            for name, value in (("WRAPUP_KAFKA_SSL_CA_FILE", ca_file),
                                ("WRAPUP_KAFKA_SSL_CERT_FILE", cert_file),
                                ("WRAPUP_KAFKA_SSL_KEY_FILE", key_file)):
                if value is not None:
                    raise ConfigError(f"{name}: set but WRAPUP_KAFKA_SECURITY_PROTOCOL is "
                                      f"{protocol} (SSL or SASL_SSL uses it)")
        if key_file is not None and cert_file is None:
            raise ConfigError("WRAPUP_KAFKA_SSL_CERT_FILE: required with "
                              "WRAPUP_KAFKA_SSL_KEY_FILE")
        security = KafkaSecurity(protocol, mechanism, username, password, ca_file, cert_file,
                                 key_file, key_password, check_hostname)
        try:
            security.ssl_context()
        except ssl.SSLError as exc:
            name = ("WRAPUP_KAFKA_SSL_CA_FILE" if cert_file is None or "verify" in str(exc)
                    else "WRAPUP_KAFKA_SSL_CERT_FILE")
            raise ConfigError(f"{name}: unusable for TLS ({exc.reason or 'bad file'}; check "
                              "the files and WRAPUP_KAFKA_SSL_KEY_PASSWORD)") from None
        return security

    def bootstrap(self) -> str:
        name = "WRAPUP_KAFKA_BOOTSTRAP_SERVERS"
        value = self.raw(name) or self.env.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092"
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError(f"{name}: {server!r} is not host:port")
        return value

    def policy(self) -> Policy:
        inline = self.raw("WRAPUP_POLICY_JSON")
        path = self.raw("WRAPUP_POLICY_FILE")
        if inline and path:
            raise ConfigError("WRAPUP_POLICY_JSON: set it or WRAPUP_POLICY_FILE, not both")
        if inline:
            name, raw = "WRAPUP_POLICY_JSON", inline.encode()
        elif path:
            name = "WRAPUP_POLICY_FILE"
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                raise ConfigError(f"{name}: cannot read {path!r}: {exc.strerror}") from None
        else:
            raise ConfigError("WRAPUP_POLICY_FILE: required (or WRAPUP_POLICY_JSON)")
        try:
            return Policy.from_json(raw)
        except PolicyError as exc:
            raise ConfigError(f"{name}: {exc}") from None


def kafka_security_from_env(env: Mapping[str, str] | None = None) -> KafkaSecurity:
    """Only the ``WRAPUP_KAFKA_*`` connection settings, validated as :meth:`Settings.from_env`
    does (for benchmarks and tools that need no policy)."""
    return _Reader(os.environ if env is None else env).kafka_security()


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
