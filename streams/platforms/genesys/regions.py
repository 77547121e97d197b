"""Genesys Cloud regions: the API and login hosts of each, and the settings that pick one.

The region is the host suffix, as the SDKs name hosts: ``api.{region}`` serves the
Platform API, ``login.{region}`` the OAuth token endpoint (``/oauth/token``). The list is
the Genesys Go SDK's (``platform-client-sdk-go``, ``configuration.go``: 15 hosts; the
Python SDK's ``purecloud_region_hosts.py`` holds the older subset) plus Mexico Central
(``mxc1.pure.cloud``, help.genesys.cloud "AWS regions for Genesys Cloud deployment").
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from streams.variables import ConfigError

REGIONS: Mapping[str, str] = {  # host suffix -> the AWS region it runs in
    "mypurecloud.com": "us-east-1",
    "use2.us-gov-pure.cloud": "us-east-2",
    "usw2.pure.cloud": "us-west-2",
    "cac1.pure.cloud": "ca-central-1",
    "sae1.pure.cloud": "sa-east-1",
    "mxc1.pure.cloud": "mx-central-1",
    "mypurecloud.ie": "eu-west-1",
    "euw2.pure.cloud": "eu-west-2",
    "mypurecloud.de": "eu-central-1",
    "euc2.pure.cloud": "eu-central-2",
    "aps1.pure.cloud": "ap-south-1",
    "apne2.pure.cloud": "ap-northeast-2",
    "apne3.pure.cloud": "ap-northeast-3",
    "mypurecloud.com.au": "ap-southeast-2",
    "mypurecloud.jp": "ap-northeast-1",
    "mec1.pure.cloud": "me-central-1",
}
_BY_AWS = {aws: host for host, aws in REGIONS.items()}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the API and the token endpoint are (absolute URLs, no trailing slash)."""

    api_url: str
    token_url: str


def region_host(value: str, variable: str) -> str:
    """The host suffix for a region given as a suffix (``mypurecloud.ie``), an API host
    (``api.mypurecloud.ie``) or an AWS region name (``eu-west-1``)."""
    name = value.strip().lower().rstrip("/")
    name = name.removeprefix("https://").removeprefix("api.").removeprefix("login.")
    if name in REGIONS:
        return name
    if name in _BY_AWS:
        return _BY_AWS[name]
    raise ConfigError(f"{variable}: {value!r} is not a Genesys Cloud region (one of "
                      f"{', '.join(REGIONS)}, or its AWS name)")


def endpoints(region: str | None, api_url: str | None, login_url: str | None) -> Endpoints:
    """The endpoints from ``WRAPUP_GENESYS_REGION`` and the two URL overrides (each wins
    over the region for its host; both set: no region needed, e.g. the simulator)."""
    host = region_host(region, "WRAPUP_GENESYS_REGION") if region else None
    if host is None and not (api_url and login_url):
        missing = "WRAPUP_GENESYS_REGION"
        raise ConfigError(f"{missing}: required (e.g. mypurecloud.com) unless both "
                          "WRAPUP_GENESYS_API_URL and WRAPUP_GENESYS_LOGIN_URL are set")
    api = _url(api_url, "WRAPUP_GENESYS_API_URL") if api_url else f"https://api.{host}"
    login = (_url(login_url, "WRAPUP_GENESYS_LOGIN_URL") if login_url
             else f"https://login.{host}")
    return Endpoints(api, f"{login}/oauth/token")


def _url(value: str, variable: str) -> str:
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"{variable}: {value!r} is not an http(s) base URL")
    return value
