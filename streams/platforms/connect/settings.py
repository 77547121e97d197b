"""The ``WRAPUP_CONNECT_*`` settings, validated with one-line errors naming the variable.

The instance ID is a UUID (the end of the instance ARN). The Region must be one botocore
knows Amazon Connect in (its endpoint data), unless an endpoint override is given; the
default endpoint is ``https://connect.{region}.amazonaws.com`` (the botocore service
model's ``endpointPrefix``). Attribute names follow ``UpdateContactAttributes``: letters,
digits, dash and underscore. AWS credentials are not settings: they come from the
standard chain (:mod:`.credentials`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from streams.config_reader import EnvReader
from streams.variables import ConfigError

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ATTRIBUTE = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """Where the instance is and which attributes carry the code."""

    instance_id: str
    region: str
    endpoint: str  # scheme://host[:port], no trailing slash
    code_attribute: str = "wrapupCode"
    label_attribute: str | None = None


def connect_regions() -> frozenset[str]:
    """The Regions botocore's endpoint data lists for Amazon Connect (every partition)."""
    import botocore.session

    session = botocore.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("connect", partition_name=partition)
    )


def read_settings(env: Mapping[str, str]) -> ConnectSettings:
    """The settings from ``env`` (``settings.platform_env``); :class:`ConfigError` if bad."""
    r = EnvReader(env)
    name = "WRAPUP_CONNECT_INSTANCE_ID"
    instance_id = r.text(name).lower()
    if not _UUID.fullmatch(instance_id):
        raise ConfigError(f"{name}: {instance_id[:64]!r} is not an instance ID (a UUID, "
                          "the last part of the instance ARN)")
    name = "WRAPUP_CONNECT_REGION"
    region = r.text(name).lower()
    if not _REGION.fullmatch(region):
        raise ConfigError(f"{name}: {region[:64]!r} is not an AWS Region name (e.g. us-east-1)")
    override = r.optional("WRAPUP_CONNECT_ENDPOINT_URL")
    if override is None:
        known = connect_regions()
        if region not in known:
            raise ConfigError(f"{name}: Amazon Connect is not in {region!r} (known: "
                              f"{', '.join(sorted(known))}; a newer Region needs "
                              "WRAPUP_CONNECT_ENDPOINT_URL)")
        endpoint = f"https://connect.{region}.amazonaws.com"
    else:
        endpoint = r.url("WRAPUP_CONNECT_ENDPOINT_URL")
    code_attribute = _attribute(r, "WRAPUP_CONNECT_ATTRIBUTE")
    label_attribute = None
    if r.optional("WRAPUP_CONNECT_LABEL_ATTRIBUTE") is not None:
        label_attribute = _attribute(r, "WRAPUP_CONNECT_LABEL_ATTRIBUTE")
        if label_attribute == code_attribute:
            raise ConfigError("WRAPUP_CONNECT_LABEL_ATTRIBUTE: must differ from "
                              "WRAPUP_CONNECT_ATTRIBUTE")
    return ConnectSettings(instance_id, region, endpoint, code_attribute, label_attribute)


def _attribute(r: EnvReader, name: str) -> str:
    value = r.text(name)
    if not _ATTRIBUTE.fullmatch(value):
        raise ConfigError(f"{name}: {value[:64]!r} may only hold letters, digits, '-' and '_' "
                          "(at most 128)")
    return value
