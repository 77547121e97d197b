"""The ``WRAPUP_*`` environment variables: each declared once (name, default, meaning).

The CLI's ``--help``, the README's configuration table and the Kubernetes consistency
test all read :data:`VARIABLES`; :mod:`streams.config` validates them.
"""

from __future__ import annotations

from dataclasses import dataclass

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
             "compacted topic of final outcomes, one per agent leg (the ledger)"),
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
    Variable("WRAPUP_PLATFORM", "generic",
             "the contact-center platform's dialect (events and API): generic (the "
             "simulator's own), genesys, twilio, cxone (NICE CXone) or connect (Amazon "
             "Connect); see the README's Platforms section"),
    # genesys
    Variable("WRAPUP_GENESYS_REGION", None,
             "Genesys Cloud region: the host suffix (mypurecloud.com, mypurecloud.ie, "
             "usw2.pure.cloud, ...) or its AWS name (us-east-1, ...); the API is "
             "https://api.{region}, tokens come from https://login.{region}/oauth/token"),
    Variable("WRAPUP_GENESYS_API_URL", None,
             "Genesys API base URL, instead of the region's (a proxy, or the simulator)"),
    Variable("WRAPUP_GENESYS_LOGIN_URL", None,
             "Genesys login base URL, instead of the region's (/oauth/token is appended)"),
    # twilio
    Variable("WRAPUP_TWILIO_WORKSPACE_SID", None,
             "TaskRouter workspace SID (WS + 32 hex digits); required with "
             "WRAPUP_PLATFORM=twilio. Its API host, https://taskrouter.twilio.com, is used "
             "unless WRAPUP_API_BASE_URL is set"),
    Variable("WRAPUP_TWILIO_API_KEY_SID", None,
             "API key SID (SK + 32 hex digits), the Basic user name; or "
             "WRAPUP_TWILIO_API_KEY_SID_FILE. Preferred over the auth token"),
    Variable("WRAPUP_TWILIO_API_KEY_SID_FILE", None,
             "file holding the API key SID (re-read after a 401: key rotation)"),
    Variable("WRAPUP_TWILIO_API_KEY_SECRET", None,
             "the API key's secret (or WRAPUP_TWILIO_API_KEY_SECRET_FILE)", secret=True),
    Variable("WRAPUP_TWILIO_API_KEY_SECRET_FILE", None,
             "file holding the API key's secret (re-read after a 401: key rotation)"),
    Variable("WRAPUP_TWILIO_ACCOUNT_SID", None,
             "account SID (AC + 32 hex digits), the Basic user name with "
             "WRAPUP_TWILIO_AUTH_TOKEN (instead of an API key)"),
    Variable("WRAPUP_TWILIO_AUTH_TOKEN", None,
             "the account's auth token (or WRAPUP_TWILIO_AUTH_TOKEN_FILE)", secret=True),
    Variable("WRAPUP_TWILIO_AUTH_TOKEN_FILE", None,
             "file holding the auth token (re-read after a 401: token rotation)"),
    Variable("WRAPUP_TWILIO_QUEUE_FIELD", "sid",
             "which TaskQueue identifier the policy's queue rules name: sid (WQ...) or "
             "name"),
    Variable("WRAPUP_TWILIO_CAMPAIGN_ATTRIBUTE", "campaign",
             "dotted path of the campaign in the task's attributes JSON (e.g. "
             "conversations.campaign)"),
    # cxone
    Variable("WRAPUP_CXONE_ISSUER", "https://cxone.niceincontact.com",
             "CXone's authentication host: the token endpoint is {issuer}/auth/token, the "
             "API discovery {issuer}/.well-known/cxone-configuration"),
    Variable("WRAPUP_CXONE_CLIENT_ID", None,
             "client ID of the back-end application registered with CXone"),
    Variable("WRAPUP_CXONE_CLIENT_SECRET", None,
             "client secret of that application (or WRAPUP_CXONE_CLIENT_SECRET_FILE)",
             secret=True),
    Variable("WRAPUP_CXONE_CLIENT_SECRET_FILE", None, "file holding the CXone client secret"),
    Variable("WRAPUP_CXONE_ACCESS_KEY_ID", None,
             "access key ID of the CXone API user the bridge acts as (password grant)"),
    Variable("WRAPUP_CXONE_ACCESS_KEY_SECRET", None,
             "that access key's secret (or WRAPUP_CXONE_ACCESS_KEY_SECRET_FILE)", secret=True),
    Variable("WRAPUP_CXONE_ACCESS_KEY_SECRET_FILE", None,
             "file holding the CXone access key secret"),
    Variable("WRAPUP_CXONE_TENANT_ID", None,
             "CXone tenant ID for the API discovery; default: the tenantId claim of the "
             "token response's id_token"),
    Variable("WRAPUP_CXONE_NOTES", None,
             "primaryDispositionNotes sent with every disposition (default: none)"),
    # connect
    Variable("WRAPUP_CONNECT_INSTANCE_ID", None,
             "Amazon Connect instance ID (a UUID, the end of the instance ARN); required "
             "with WRAPUP_PLATFORM=connect"),
    Variable("WRAPUP_CONNECT_REGION", None,
             "AWS Region of the Connect instance (e.g. us-east-1); required with connect"),
    Variable("WRAPUP_CONNECT_ENDPOINT_URL", None,
             "Connect API endpoint override; default https://connect.{region}.amazonaws.com "
             "(the simulator's URL in development)"),
    Variable("WRAPUP_CONNECT_ATTRIBUTE", "wrapupCode",
             "user-defined contact attribute the wrap-up code ID is written to (letters, "
             "digits, '-', '_'); one already set by someone else is never overwritten"),
    Variable("WRAPUP_CONNECT_LABEL_ATTRIBUTE", None,
             "optional second attribute the code's label is written to"),
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

DECLARED = {v.name: v for v in VARIABLES}
