"""Genesys regions: every host of the SDK's list, by suffix, API host or AWS name."""

from __future__ import annotations

import pytest

from streams.platforms.genesys.regions import REGIONS, endpoints, region_host
from streams.variables import ConfigError


def test_the_list_holds_the_sdk_hosts() -> None:
    assert len(REGIONS) == 16 and len(set(REGIONS.values())) == 16
    for host in ("mypurecloud.com", "mypurecloud.ie", "mypurecloud.de", "mypurecloud.com.au",
                 "mypurecloud.jp", "usw2.pure.cloud", "cac1.pure.cloud", "euw2.pure.cloud",
                 "aps1.pure.cloud", "apne2.pure.cloud", "use2.us-gov-pure.cloud",
                 "sae1.pure.cloud", "mec1.pure.cloud", "apne3.pure.cloud", "euc2.pure.cloud"):
        assert host in REGIONS


@pytest.mark.parametrize("given", ["mypurecloud.de", "api.mypurecloud.de", "eu-central-1",
                                   "https://api.mypurecloud.de/", " MyPureCloud.DE "])
def test_a_region_by_any_of_its_names(given: str) -> None:
    assert region_host(given, "V") == "mypurecloud.de"
    assert endpoints(given, None, None).token_url == "https://login.mypurecloud.de/oauth/token"


def test_an_override_wins_for_its_host_only() -> None:
    where = endpoints("usw2.pure.cloud", "https://proxy.example/genesys", None)
    assert where.api_url == "https://proxy.example/genesys"
    assert where.token_url == "https://login.usw2.pure.cloud/oauth/token"


def test_unknown_region() -> None:
    with pytest.raises(ConfigError, match=r"WRAPUP_GENESYS_REGION: 'pure\.cloud' is not"):
        endpoints("pure.cloud", None, None)
