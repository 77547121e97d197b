"""The Kafka jars from Maven Central, cached once per pom (``scripts/kafka/pom.xml``).

They land in :func:`streams.kafka.tools.jars_dir`, where the broker harness and the
product's Java tools runner find them.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from streams.kafka.errors import KafkaAccessError
from streams.kafka.tools import KAFKA_VERSION, cache_dir, jars_dir, tail

POM_PATH = Path(__file__).resolve().parents[3] / "scripts" / "kafka" / "pom.xml"
_MARKER = ".complete"


class LocalKafkaError(KafkaAccessError):
    """Provisioning, starting or talking to the local broker failed."""


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _jars_complete(jars: Path, pom: Path) -> bool:
    marker = jars / _MARKER
    return marker.is_file() and marker.read_text().strip() == _pom_digest(pom)


def fetch_jars(*, force: bool = False, pom: Path = POM_PATH, timeout: float = 900.0) -> Path:
    """Ensure the Kafka jars are in the cache (via Maven) and return the jars directory.

    A marker holding the pom's sha256 is written after a successful copy, so a complete
    cache is reused and a changed pom triggers a re-fetch. Concurrent callers are serialised
    by a file lock.
    """
    if not pom.is_file():
        raise LocalKafkaError(f"Kafka pom not found at {pom}")
    base = cache_dir()
    jars = jars_dir()
    if not force and _jars_complete(jars, pom):
        return jars
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalKafkaError("`mvn` not found on PATH (apt-get install -y maven)")
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and _jars_complete(jars, pom):
            return jars
        staging = Path(tempfile.mkdtemp(prefix="jars-", dir=base))
        try:
            _maven_copy(mvn, pom, staging, timeout)
            (staging / _MARKER).write_text(_pom_digest(pom) + "\n")
            if jars.exists():
                shutil.rmtree(jars)
            staging.rename(jars)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return jars


def _maven_copy(mvn: str, pom: Path, into: Path, timeout: float) -> None:
    cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
           f"-DoutputDirectory={into}", "-DincludeScope=runtime"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LocalKafkaError(f"Maven did not finish within {timeout:.0f}s") from exc
    if proc.returncode != 0:
        output = tail(proc.stdout + proc.stderr)
        raise LocalKafkaError(f"Maven failed ({proc.returncode}):\n{output}")
    if not any(into.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        raise LocalKafkaError(f"Maven ran but kafka_2.13-{KAFKA_VERSION}.jar is missing")
