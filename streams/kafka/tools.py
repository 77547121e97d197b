"""Kafka's Java CLI classes (e.g. ``ConsumerGroupCommand``) run on a classpath of jars.

No Kafka distribution is needed: the jars of ``org.apache.kafka:kafka-tools`` and its
dependencies sit in one directory, by default the cache that ``wrapup kafka fetch``
fills (``${WRAPUP_CACHE_DIR:-~/.cache/wrapup-bridge}/kafka-<version>/jars``). This module
only runs them; fetching them is development tooling.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from streams.kafka.errors import KafkaToolError

__all__ = [
    "CONSUMER_GROUP_COMMAND",
    "ENV_CACHE_DIR",
    "KAFKA_VERSION",
    "QUICK_JVM",
    "KafkaToolError",
    "cache_dir",
    "classpath",
    "jars_dir",
    "java_binary",
    "run_kafka_tool",
    "tail",
]

KAFKA_VERSION = "4.1.1"
ENV_CACHE_DIR = "WRAPUP_CACHE_DIR"
CONSUMER_GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
# Short-lived JVMs (storage format, CLI tools) start ~2x faster without the C2 JIT.
QUICK_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def cache_dir() -> Path:
    """Root of the per-version cache (jars, tool log config, run state)."""
    root = os.environ.get(ENV_CACHE_DIR) or str(Path.home() / ".cache" / "wrapup-bridge")
    return Path(root).expanduser() / f"kafka-{KAFKA_VERSION}"


def jars_dir() -> Path:
    """Where the jars are looked for unless a caller gives its own directory."""
    return cache_dir() / "jars"


def classpath(jars: Path) -> str:
    """The JVM classpath of every jar in ``jars`` (``<jars>/*``)."""
    return str(jars / "*")


def java_binary() -> str:
    """``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaToolError("`java` not found (JDK 17+ required, apt-get install -y default-jdk)")
    return java


def tail(text: str, lines: int = 40) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _tools_log4j(base: Path) -> Path:
    """A log4j2 config for CLI tools: warnings and errors to stderr only."""
    path = base / "tools-log4j2.xml"
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Configuration status="error">\n'
        '  <Appenders><Console name="err" target="SYSTEM_ERR">'
        '<PatternLayout pattern="[%d] %p %m (%c)%n"/></Console></Appenders>\n'
        '  <Loggers><Root level="warn"><AppenderRef ref="err"/></Root></Loggers>\n'
        "</Configuration>\n"
    )
    if not path.is_file() or path.read_text() != text:
        base.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def run_kafka_tool(
    main_class: str,
    args: Sequence[str],
    *,
    jars: Path | None = None,
    timeout: float = 120.0,
    check: bool = True,
    heap: str = "256m",
) -> subprocess.CompletedProcess[str]:
    """Run a Kafka Java CLI class (e.g. :data:`CONSUMER_GROUP_COMMAND`) on the jars in
    ``jars`` (default :func:`jars_dir`).

    Output is captured as text; with ``check`` a non-zero exit raises :class:`KafkaToolError`,
    as do missing jars or a missing ``java``.
    """
    jars = jars or jars_dir()
    if not any(jars.glob("kafka-tools-*.jar")):
        raise KafkaToolError(f"the Kafka tools jars are not in {jars}: run `wrapup kafka fetch` "
                             "(or use kafka-consumer-groups.sh from a Kafka installation)")
    cmd = [
        java_binary(),
        f"-Xmx{heap}",
        *QUICK_JVM,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={_tools_log4j(cache_dir())}",
        "-cp",
        classpath(jars),
        main_class,
        *args,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise KafkaToolError(f"{main_class} did not finish within {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise KafkaToolError(
            f"{main_class} {' '.join(args)} exited {proc.returncode}:\n"
            f"{tail(proc.stdout + proc.stderr)}"
        )
    return proc
