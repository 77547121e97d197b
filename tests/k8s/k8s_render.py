"""Render the kustomize overlays once and look resources up in them (shared by tests/k8s)."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
DOCKERFILE = ROOT / "Dockerfile"
RULES_FILE = ROOT / "grafana" / "alerts" / "wrapup-bridge.rules.yml"

Doc = dict[str, Any]


def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl is not on PATH (scripts/setup.sh checks for it)"
    return path


@functools.cache
def render_text(overlay: str) -> str:
    """``kubectl kustomize k8s/overlays/<overlay>`` (fails the test if it does not render)."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, f"kustomize {overlay} failed:\n{done.stderr}"
    return done.stdout


def render(overlay: str) -> list[Doc]:
    """The overlay's resources, freshly parsed (callers may mutate them)."""
    return [d for d in yaml.safe_load_all(render_text(overlay)) if d]


def find(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    """The one resource of ``kind`` (and ``name`` if given); fails if not exactly one."""
    found = [d for d in docs if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_spec(doc: Doc) -> Doc:
    """The pod template spec of a StatefulSet, Deployment, Job or CronJob."""
    if doc["kind"] == "CronJob":
        spec: Doc = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        spec = doc["spec"]["template"]["spec"]
    return spec


def workloads(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in ("Deployment", "CronJob", "Job", "StatefulSet")]


def configmap_env(docs: list[Doc], container: Doc) -> dict[str, str]:
    """Variables a container gets from ConfigMaps through ``envFrom``."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update(find(docs, "ConfigMap", ref)["data"])
    return env


def dockerfile_instructions(stage: int | None = None) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs of the Dockerfile, continuation lines joined;
    with ``stage`` (0-based, -1 = final), only that build stage's."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM" and stages[-1]:
            stages.append([])
        stages[-1].append((word.upper(), " ".join(rest.split())))
    if stage is None:
        return [pair for s in stages for pair in s]
    return stages[stage]


def dockerfile_env(stage: int = -1) -> dict[str, str]:
    """``ENV`` settings of a stage (``KEY=value`` form only)."""
    env: dict[str, str] = {}
    for word, args in dockerfile_instructions(stage):
        if word == "ENV":
            for item in args.split():
                key, _, value = item.partition("=")
                env[key] = value
    return env
