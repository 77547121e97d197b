"""Replay (with a scan process) and the offset-reset tool over SASL_SSL: the settings
reach every client, the secrets reach no command line, log or output."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

import streams.kafka.tools
from streams.kafka.admin import TopicSpec, ensure_topics_sync
from streams.kafka.security import KafkaSecurity
from streams.replay.errors import ReplayError
from streams.replay.reset import reset_offsets
from tests.conftest import SecuredKafka
from tests.helpers import REPO
from tests.replay.test_cli import replay, summary
from tests.worker.fixtures import RecordingPlatform, event, produce, read_all, worker_env


def test_replay_scans_in_two_processes_and_posts_over_sasl_ssl(
        secured_kafka: SecuredKafka, platform: RecordingPlatform, tmp_path: Path) -> None:
    k = secured_kafka
    topic = "replay-sasl-ssl"
    env = worker_env(k.sasl_ssl, topic, platform.base_url, tmp_path / "data", **k.env())
    outcomes = env["WRAPUP_OUTCOMES_TOPIC"]
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 2),
                                     TopicSpec(outcomes, 2, config={"cleanup.policy": "compact"})])
    for p in range(2):
        records: list[tuple[bytes | None, bytes]] = []
        for i in range(3):
            iid = f"r{p}-{i}"
            records += [(iid.encode(), event("ended", iid)),
                        (iid.encode(), event("wrapping-up", iid))]
        produce(k.plaintext, topic, records, partition=p)

    proc = replay(env, "--since", "-10m", "--json", "--processes", "2")
    done = summary(proc)
    assert (done["scan_processes"], done["events_scanned"], done["posted"]) == (2, 12, 6)
    assert sorted(platform.posted_ids()) == [f"r{p}-{i}" for p in range(2) for i in range(3)]
    recorded = {r.key.decode(): orjson.loads(r.value) for r in read_all(k.plaintext, outcomes)}
    assert {iid: doc["source"] for iid, doc in recorded.items()} == {
        iid: "replay" for iid in platform.posted_ids()}
    assert k.password not in proc.stdout + proc.stderr

    bad = replay({**env, "WRAPUP_KAFKA_SASL_PASSWORD": "wrong-password-7"}, "--since", "-10m")
    assert bad.returncode != 0
    assert "SASL authentication failed" in bad.stderr and "wrong-password-7" not in bad.stderr
    assert len(platform.posted_ids()) == 6


def test_the_reset_tool_runs_over_sasl_ssl_with_a_private_command_config(
        secured_kafka: SecuredKafka, kafka_jars: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k = secured_kafka
    topic = "reset-sasl-ssl"
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 1)])
    produce(k.plaintext, topic, [(b"a", event("ended", "a"))])
    security = KafkaSecurity("SASL_SSL", "SCRAM-SHA-256", k.user, k.password, str(k.tls.ca))
    seen: list[dict[str, Any]] = []
    real_run = subprocess.run

    def spy(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        config = Path(cmd[cmd.index("--command-config") + 1])
        seen.append({"cmd": cmd, "mode": stat.S_IMODE(config.stat().st_mode),
                     "text": config.read_text(), "path": config})
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(streams.kafka.tools.subprocess, "run", spy)
    table = reset_offsets(k.sasl_ssl, "reset-group", topic, None, execute=True,
                          security=security)
    assert "NEW-OFFSET" in table and topic in table
    (call,) = seen
    assert not any(k.password in arg for arg in call["cmd"])
    assert call["mode"] == 0o600 and "security.protocol=SASL_SSL" in call["text"]
    assert not call["path"].exists()

    with pytest.raises(ReplayError) as info:
        reset_offsets(k.sasl_ssl, "reset-group", topic, None, execute=False,
                      security=KafkaSecurity("SASL_SSL", "SCRAM-SHA-256", k.user,
                                             "wrong-password-8", str(k.tls.ca)),
                      timeout=60)
    message = str(info.value)
    assert "\n" not in message and "wrong-password-8" not in message
    assert "uthentication failed" in message, message


def test_the_reset_command_reads_the_settings_and_leaves_no_file(
        secured_kafka: SecuredKafka, kafka_jars: Path, tmp_path: Path) -> None:
    k = secured_kafka
    topic = "reset-cli-sasl-ssl"
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 1)])
    password_file = tmp_path / "password"
    password_file.write_text(k.password)
    env = {**{key: v for key, v in os.environ.items() if not key.startswith("WRAPUP_")},
           **k.env(WRAPUP_KAFKA_SASL_PASSWORD_FILE=str(password_file)),
           "WRAPUP_EVENTS_TOPIC": topic, "WRAPUP_APP_ID": "reset-cli-group",
           "WRAPUP_POLICY_JSON": '{"rules": [{"queue": "q", "code": {"id": "c", "label": "C"}}]}',
           "TMPDIR": str(tmp_path / "tmp")}
    del env["WRAPUP_KAFKA_SASL_PASSWORD"]
    (tmp_path / "tmp").mkdir()
    proc = subprocess.run([sys.executable, "-m", "streams.replay.reset", "--to", "latest"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "NEW-OFFSET" in proc.stdout and "(preview only" in proc.stdout
    assert k.password not in proc.stdout + proc.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_reset_tool_runs_over_mutual_tls(secured_kafka: SecuredKafka,
                                            kafka_jars: Path) -> None:
    k = secured_kafka
    topic = "reset-mtls"
    ensure_topics_sync(k.plaintext, [TopicSpec(topic, 1)])
    security = KafkaSecurity("SSL", ca_file=str(k.tls.ca), cert_file=str(k.tls.client_cert),
                             key_file=str(k.tls.client_key))
    table = reset_offsets(k.ssl, "reset-mtls-group", topic, None, execute=False,
                          security=security)
    assert "NEW-OFFSET" in table and topic in table
    with pytest.raises(ReplayError) as info:  # the same listener without the client certificate
        reset_offsets(k.ssl, "reset-mtls-group", topic, None, execute=False,
                      security=KafkaSecurity("SSL", ca_file=str(k.tls.ca)), timeout=60)
    assert "\n" not in str(info.value)
