"""Live policy reload in the real worker: a ConfigMap-style symlink swap, on the broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.policy import Policy
from streams.worker.reload import PolicyWatcher, policy_version
from tests.conftest import TopicFactory
from tests.helpers import wait_for
from tests.worker.fixtures import (
    DEFAULT_POLICY,
    RecordingPlatform,
    WorkerProcess,
    event,
    produce,
    worker_env,
)

NEW_CAMPAIGN = {"campaign": "c-winback", "code": {"id": "wc-winback", "label": "Winback"}}
RENEWALS_V2 = {"campaign": "c-renewals", "code": {"id": "wc-renewal-2", "label": "Renewal v2"}}


class ConfigMapDir:
    """A directory laid out as the kubelet mounts a ConfigMap: ``policy.json`` ->
    ``..data/policy.json``, ``..data`` -> ``..<version>``; an update swaps ``..data``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0
        root.mkdir()
        (root / "policy.json").symlink_to("..data/policy.json")

    def publish(self, content: bytes) -> str:
        self.count += 1
        version = self.root / f"..v{self.count}"
        version.mkdir()
        (version / "policy.json").write_bytes(content)
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(version.name)
        os.replace(tmp, self.root / "..data")  # the atomic swap the kubelet does
        return policy_version(content)

    @property
    def file(self) -> Path:
        return self.root / "policy.json"


@pytest.fixture
def worker() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        w.kill()


def posted_code(platform: RecordingPlatform, iid: str) -> Any:
    return next((body["wrapupCode"]["id"] for i, body in list(platform.posts) if i == iid), None)


def test_a_new_campaign_applies_without_a_restart_and_a_broken_file_is_refused(
    kafka_bootstrap: str, topic_factory: TopicFactory, platform: RecordingPlatform,
    worker: list[WorkerProcess], tmp_path: Path,
) -> None:
    topic = topic_factory(partitions=1)  # one partition: records in produce order
    cm = ConfigMapDir(tmp_path / "policy")
    first = cm.publish(orjson.dumps(DEFAULT_POLICY))
    env = worker_env(kafka_bootstrap, topic, platform.base_url, tmp_path / "data",
                     WRAPUP_POLICY_FILE=str(cm.file))
    del env["WRAPUP_POLICY_JSON"]
    w = WorkerProcess(env, tmp_path / "worker.log").start()
    worker.append(w)
    w.wait_ready()
    assert w.metric("wrapup_policy_info", version=first) == 1

    # Before: c-winback is out of scope. A pending c-renewals interaction spans the reload.
    produce(kafka_bootstrap, topic, [
        (b"before", event("ended", "before", campaign="c-winback")),
        (b"before", event("wrapping-up", "before", campaign="c-winback")),
        (b"spans", event("ended", "spans")),
        (b"mark-1", event("ended", "mark-1")),
        (b"mark-1", event("wrapping-up", "mark-1")),
    ])
    wait_for(lambda: posted_code(platform, "mark-1"), timeout=30, message="mark-1 posted")
    assert posted_code(platform, "before") is None

    # The new policy adds c-winback and changes c-renewals' code.
    second = cm.publish(orjson.dumps({"rules": [RENEWALS_V2, *DEFAULT_POLICY["rules"][1:],
                                                NEW_CAMPAIGN]}))
    wait_for(lambda: w.metric("wrapup_policy_info", version=second) == 1, timeout=15,
             message="new policy live")
    assert w.metric("wrapup_policy_info", version=first) == 0
    assert w.metric("wrapup_policy_reloads_total", result="applied") == 1
    produce(kafka_bootstrap, topic, [
        (b"after", event("ended", "after", campaign="c-winback")),
        (b"after", event("wrapping-up", "after", campaign="c-winback")),
        (b"spans", event("wrapping-up", "spans")),
    ])
    wait_for(lambda: posted_code(platform, "after"), timeout=30, message="after posted")
    assert posted_code(platform, "after") == "wc-winback"
    wait_for(lambda: posted_code(platform, "spans"), timeout=30, message="spans posted")
    assert posted_code(platform, "spans") == "wc-renewal-2"  # paired after the reload
    assert posted_code(platform, "mark-1") == "wc-renewal"  # paired before: kept its code
    log = w.log_path.read_text()
    assert f'"version": "{second}"' in log or f'"version":"{second}"' in log

    broken = cm.publish(b'{"rules": [{"campaign": "c-x"}]}')
    wait_for(lambda: w.metric("wrapup_policy_reloads_total", result="refused") == 1,
             timeout=15, message="broken policy refused")
    assert w.metric("wrapup_policy_info", version=second) == 1
    assert w.metric("wrapup_policy_info", version=broken) == 0
    refused = [line for line in w.log_path.read_text().splitlines()
               if "policy refused" in line]
    assert len(refused) == 1 and broken in refused[0] and "rules[0].code" in refused[0]
    produce(kafka_bootstrap, topic, [
        (b"still", event("ended", "still", campaign="c-winback")),
        (b"still", event("wrapping-up", "still", campaign="c-winback")),
    ])
    wait_for(lambda: posted_code(platform, "still"), timeout=30, message="still posted")
    assert posted_code(platform, "still") == "wc-winback"
    assert w.metric("wrapup_policy_reloads_total", result="refused") == 1  # logged once


# ---------------------------------------------------------------- the watcher, unit
def test_the_watcher_stages_a_changed_valid_policy_once(tmp_path: Path) -> None:
    cm = ConfigMapDir(tmp_path / "cm")
    first = cm.publish(orjson.dumps(DEFAULT_POLICY))
    watcher = PolicyWatcher.open(cm.file, Policy.from_json(orjson.dumps(DEFAULT_POLICY)))
    assert watcher.version == first and not watcher.poll() and watcher.take() is None
    cm.publish(orjson.dumps(DEFAULT_POLICY))  # same content, new inode: not a change
    assert not watcher.poll()
    second = cm.publish(orjson.dumps({"rules": [NEW_CAMPAIGN]}))
    assert watcher.poll()
    policy = watcher.take()
    assert policy is not None and watcher.version == second
    assert policy.resolve("c-winback", None) is not None and watcher.take() is None


def test_the_watcher_refuses_a_broken_policy_and_keeps_the_old(tmp_path: Path) -> None:
    cm = ConfigMapDir(tmp_path / "cm")
    first = cm.publish(orjson.dumps(DEFAULT_POLICY))
    watcher = PolicyWatcher.open(cm.file, Policy.from_json(orjson.dumps(DEFAULT_POLICY)))
    cm.publish(b"{not json")
    assert not watcher.poll() and watcher.take() is None and watcher.version == first
    cm.publish(orjson.dumps(DEFAULT_POLICY))  # reverted: nothing to apply
    assert not watcher.poll() and watcher.version == first


def test_an_inline_policy_has_a_version_and_is_never_reloaded() -> None:
    watcher = PolicyWatcher.open(None, Policy.from_json(orjson.dumps(DEFAULT_POLICY)))
    assert len(watcher.version) == 12 and not watcher.poll()
