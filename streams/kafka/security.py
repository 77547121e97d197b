"""How every Kafka client of the project connects: TLS, SASL, or neither.

One :class:`KafkaSecurity` (built from the ``WRAPUP_KAFKA_*`` settings) is handed to
every client: aiokafka's consumers, producers and admin clients
(:meth:`KafkaSecurity.client_options`), the Faust app (:meth:`KafkaSecurity.faust_options`)
and Kafka's Java tools (:func:`command_config`, a private temporary properties file).
It is a plain picklable value (no SSL context inside), so a scan process gets it on its
stdin, never on a command line. The secrets are left out of its ``repr``.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MECHANISMS", "PROTOCOLS", "KafkaSecurity", "command_config"]

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

_JAAS_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """Security protocol, SASL credentials and TLS files of the Kafka connection."""

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = field(default=None, repr=False)
    check_hostname: bool = True

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying client context (the CA file, else the system's CAs; the client
        certificate for mutual TLS), or None without TLS. Verification is never off;
        only the host name check can be turned off (``check_hostname=False``)."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        context.check_hostname = self.check_hostname
        context.verify_mode = ssl.CERT_REQUIRED
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file, password=self.key_password)
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for an aiokafka client (consumer, producer, admin)."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.uses_sasl:
            options.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                           sasl_plain_password=self.password)
        return options

    def faust_options(self) -> dict[str, Any]:
        """Keyword arguments for ``faust.App``: its ``broker_credentials``, which Faust
        passes to its consumer, producer and admin client alike."""
        import faust

        context = self.ssl_context()
        credentials: Any
        if self.uses_sasl:
            credentials = faust.SASLCredentials(username=self.username, password=self.password,
                                                ssl_context=context, mechanism=self.mechanism)
        elif context is not None:
            credentials = faust.SSLCredentials(context)
        else:
            return {}
        return {"broker_credentials": credentials}

    def java_properties(self) -> dict[str, str]:
        """The Java client properties of this connection (secrets included: write them
        only to a private file, see :func:`command_config`)."""
        props = {"security.protocol": self.protocol}
        if self.uses_tls:
            if self.ca_file:
                props["ssl.truststore.type"] = "PEM"
                props["ssl.truststore.certificates"] = Path(self.ca_file).read_text()
            if not self.check_hostname:
                props["ssl.endpoint.identification.algorithm"] = ""
            if self.cert_file:
                props["ssl.keystore.type"] = "PEM"
                props["ssl.keystore.certificate.chain"] = Path(self.cert_file).read_text()
                props["ssl.keystore.key"] = Path(self.key_file or self.cert_file).read_text()
                if self.key_password:
                    props["ssl.key.password"] = self.key_password
        if self.uses_sasl and self.mechanism:
            props["sasl.mechanism"] = self.mechanism
            props["sasl.jaas.config"] = (
                f"{_JAAS_MODULES[self.mechanism]} required "
                f"username={_jaas_quote(self.username or '')} "
                f"password={_jaas_quote(self.password or '')};")
        return props


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _properties_escape(value: str) -> str:
    """A value for a Java ``.properties`` file (one line; ``\\n`` for new lines)."""
    out = value.replace("\\", "\\\\").replace("\r", "").replace("\n", "\\n")
    return out.replace("=", "\\=").replace(":", "\\:").replace("#", "\\#").replace("!", "\\!")


def render_properties(props: dict[str, str]) -> str:
    return "".join(f"{key}={_properties_escape(value)}\n" for key, value in props.items())


@contextlib.contextmanager
def command_config(security: KafkaSecurity) -> Iterator[Path]:
    """A Java tool's ``--command-config`` file for ``security``: created private (0600)
    in a private temporary directory, removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix="wrapup-kafka-") as tmp:
        path = Path(tmp) / "client.properties"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(render_properties(security.java_properties()))
        yield path
