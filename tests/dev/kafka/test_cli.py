"""``wrapup kafka start|status|stop|fetch``: the one CLI of the development broker.

Every test points WRAPUP_CACHE_DIR at its own directory, so the run state of a broker
someone started by hand (``<cache>/run/local-kafka.json``) is never read or removed.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from streams.cli import main
from streams.dev.kafka import find_free_port
from streams.kafka.tools import KAFKA_VERSION
from tests.helpers import REPO, wait_for

ROOT = REPO

FAKE_MVN = """#!/bin/sh
echo "$@" >> "{calls}"
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${{arg#-DoutputDirectory=}}";; esac
done
[ -n "{fail}" ] && {{ echo "could not resolve dependencies" >&2; exit 1; }}
touch "$out/kafka_2.13-{version}.jar" "$out/kafka-tools-{version}.jar"
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private WRAPUP_CACHE_DIR; no KAFKA_BOOTSTRAP_SERVERS."""
    root = tmp_path / "cache"
    monkeypatch.setenv("WRAPUP_CACHE_DIR", str(root))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    return root / f"kafka-{KAFKA_VERSION}"


def _fake_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> Path:
    calls = tmp_path / "mvn-calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN.format(calls=calls, fail="yes" if fail else "", version=KAFKA_VERSION))
    mvn.chmod(mvn.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def _wrapup(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_fetch_downloads_once_and_again_with_force(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_mvn(tmp_path, monkeypatch)
    first = _wrapup("kafka", "fetch")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == str(cache / "jars")
    assert (cache / "jars" / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()
    assert len(calls.read_text().splitlines()) == 1

    cached = _wrapup("kafka", "fetch")
    assert cached.exit_code == 0 and cached.output == first.output
    assert len(calls.read_text().splitlines()) == 1, "a complete cache is reused"

    forced = _wrapup("kafka", "fetch", "--force")
    assert forced.exit_code == 0 and forced.output == first.output
    assert len(calls.read_text().splitlines()) == 2


def test_a_failed_fetch_is_one_error_and_exit_2(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_mvn(tmp_path, monkeypatch, fail=True)
    result = _wrapup("kafka", "fetch")
    assert result.exit_code == 2
    assert result.output.startswith("wrapup: kafka: Maven failed (1):")
    assert "could not resolve dependencies" in result.output
    assert not (cache / "jars").exists()


def test_status_and_stop_without_a_broker(cache: Path) -> None:
    status = _wrapup("kafka", "status")
    assert (status.exit_code, status.output) == (1, "not running\n")
    stop = _wrapup("kafka", "stop")
    assert (stop.exit_code, stop.output) == (0, "not running\n")


def test_start_status_stop_with_data_dir_and_port(
    cache: Path, tmp_path: Path, kafka_jars: Path
) -> None:
    cache.mkdir(parents=True)
    (cache / "jars").symlink_to(kafka_jars)  # the real jars: nothing is fetched
    data, port = tmp_path / "data", find_free_port()
    out = tmp_path / "start.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "kafka", "start", "--data-dir", str(data),
             "--port", str(port)],
            cwd=ROOT, env=os.environ.copy(), stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: proc.poll() is not None or f"127.0.0.1:{port}\n" in out.read_text(),
                 timeout=150, interval=0.2, message="the bootstrap address")
        assert proc.poll() is None, out.read_text()

        status = _wrapup("kafka", "status")
        assert status.exit_code == 0, status.output
        assert status.output.startswith(f"127.0.0.1:{port} up (pid ")
        assert f"data {data.resolve()}" in status.output

        again = _wrapup("kafka", "start")
        assert again.exit_code == 1
        assert f"already running at 127.0.0.1:{port}" in again.output

        stop = _wrapup("kafka", "stop", "--timeout", "60")
        assert (stop.exit_code, stop.output) == (0, "stopped\n")
        assert proc.wait(timeout=30) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (data / "kraft-logs" / "meta.properties").is_file(), "--data-dir is kept"
    assert not (cache / "run" / "local-kafka.json").exists()
    after = _wrapup("kafka", "status")
    assert (after.exit_code, after.output) == (1, "not running\n")
