"""A throwaway Prometheus on loopback: scrape given targets, answer PromQL over HTTP.

The live dashboard/alert tests and the chart renderer both need a real Prometheus
(Debian's ``prometheus`` package) scraping a worker. This module writes its config,
starts it on a free 127.0.0.1 port with storage in a temporary directory, waits for
readiness, and wraps the query API. Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import orjson

from streams.dev.kafka.config import find_free_port

JOB = "wrapup-bridge"


class PrometheusError(RuntimeError):
    """Prometheus could not start, or answered a query with an error."""


def find_binary(name: str = "prometheus") -> str:
    """Path of ``prometheus``/``promtool``; a clear error if the package is missing."""
    path = shutil.which(name)
    if path is None:
        raise PrometheusError(
            f"{name} not found on PATH: install Debian's prometheus package (scripts/setup.sh)"
        )
    return path


def render_config(targets: Sequence[str], *, job: str, scrape_interval: float,
                  rule_files: Sequence[Path] = ()) -> str:
    """The Prometheus configuration (JSON, which is valid YAML)."""
    interval = f"{int(scrape_interval * 1000)}ms"
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "scrape_timeout": interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [{
            "job_name": job,
            "metrics_path": "/metrics",
            "static_configs": [{"targets": list(targets)}],
        }],
    }
    return orjson.dumps(config, option=orjson.OPT_INDENT_2).decode()


class PrometheusClient:
    """The parts of Prometheus' HTTP API the tests and the renderer use."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self._url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout)

    @property
    def url(self) -> str:
        return self._url

    def close(self) -> None:
        self._client.close()

    def api(self, path: str, **params: str) -> Any:
        """``data`` of a ``/api/v1/...`` answer; :class:`PrometheusError` on an error."""
        response = self._client.post(f"{self.url}/api/v1/{path}", data=params)
        try:
            doc = response.json()
        except ValueError:
            raise PrometheusError(f"{path}: HTTP {response.status_code}") from None
        if doc.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query: the result series (``metric`` labels and ``value``)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        result = data["result"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return list(result)

    def query_range(self, expr: str, start: float, end: float,
                    step: float) -> list[dict[str, Any]]:
        """Range query: the result series (``metric`` labels and ``values``)."""
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                        step=f"{step:g}")
        return list(data["result"])

    def active_targets(self) -> list[dict[str, Any]]:
        return list(self.api_get("targets")["activeTargets"])

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(self.api_get("rules")["groups"])

    def api_get(self, path: str) -> Any:
        response = self._client.get(f"{self.url}/api/v1/{path}")
        doc = response.json()
        if doc.get("status") != "success":
            raise PrometheusError(f"{path}: {doc.get('error')}")
        return doc["data"]


class LocalPrometheus(PrometheusClient):
    """``prometheus`` as a child process scraping ``targets`` (``host:port``) as ``job``."""

    def __init__(
        self,
        targets: Sequence[str],
        *,
        job: str = JOB,
        scrape_interval: float = 1.0,
        rule_files: Sequence[Path] = (),
        data_dir: Path | None = None,
    ) -> None:
        self.targets = list(targets)
        self.job = job
        self.scrape_interval = scrape_interval
        self.rule_files = list(rule_files)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._data_dir = data_dir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        super().__init__("http://127.0.0.1:0")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wrapup-prometheus-")
            self._data_dir = Path(self._tmp.name)
        return self._data_dir

    @property
    def log_file(self) -> Path:
        return self.data_dir / "prometheus.log"

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def start(self, timeout: float = 30.0) -> LocalPrometheus:
        """Write the config, start Prometheus and wait until it answers ``/-/ready``."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        config.write_text(render_config(self.targets, job=self.job,
                                        scrape_interval=self.scrape_interval,
                                        rule_files=self.rule_files))
        self.port = find_free_port()
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [find_binary(), f"--config.file={config}",
                 f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--storage.tsdb.retention.time=1d", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                code = self.proc.returncode
                self.stop()
                raise PrometheusError(f"prometheus exited {code}:\n{tail}")
            try:
                if self._client.get(f"{self.url}/-/ready").status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                tail = self.log_tail()
                self.stop()
                raise PrometheusError(f"prometheus not ready within {timeout}s:\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate Prometheus (kill after 10 s) and remove a temporary data directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._data_dir = None

    def __enter__(self) -> LocalPrometheus:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        self.close()

    def wait_until_scraped(self, timeout: float = 30.0) -> None:
        """Wait until every target has been scraped successfully at least twice."""
        deadline = time.monotonic() + timeout
        expr = f'count_over_time(up{{job="{self.job}"}}[1h]) >= 2 and up{{job="{self.job}"}} == 1'
        while len(self.query(expr)) < len(self.targets):
            if time.monotonic() >= deadline:
                raise PrometheusError(f"targets not scraped within {timeout}s: "
                                      f"{self.active_targets()}")
            time.sleep(0.2)
