"""Typed readers of ``WRAPUP_*`` variables, each failing with a one-line error that
names the variable (used by :mod:`streams.config`)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streams.kafka.security import MECHANISMS, PROTOCOLS, KafkaSecurity
from streams.policy import Policy, PolicyError
from streams.variables import DECLARED, ConfigError


class EnvReader:
    """Typed accessors that raise one-line :class:`ConfigError` messages."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return DECLARED[name].default
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
