"""The kustomize overlays render, pass schema validation, and say what the issue asks.

Core kinds are checked by kubernetes-validate in strict mode (unknown fields are
errors); the CRDs by the cloudcoil models, which are generated from the upstream
prometheus-operator and KEDA CRD schemas (strict types, and a round trip that
rejects fields the schema does not know). Both validators are shown to bite.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.k8s.k8s_render import (
    K8S,
    OVERLAYS,
    ROOT,
    RULES_FILE,
    Doc,
    find,
    pod_spec,
    render,
    workloads,
)

# Kubernetes versions checked: the oldest we claim to support and the newest known.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
CRD_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PodMonitor",
             "PrometheusRule"}


@functools.cache
def crd_models() -> dict[str, Any]:
    """Pydantic models of the CRDs (slow to import: once per session)."""
    from cloudcoil.models.keda.v1alpha1 import ScaledObject, TriggerAuthentication
    from cloudcoil.models.prometheus_operator.v1 import PodMonitor, PrometheusRule, ServiceMonitor

    return {
        "keda.sh/v1alpha1/ScaledObject": ScaledObject,
        "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication,
        "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
        "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
        "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
    }


def validate_crd(doc: Doc) -> None:
    """Strict validation of a CRD instance; raises on a wrong type or an unknown field."""
    model = crd_models()[f"{doc['apiVersion']}/{doc['kind']}"]
    parsed = model.model_validate(doc, strict=True)
    again = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if again != doc:
        raise ValueError(f"{doc['kind']}: fields unknown to the CRD schema: "
                         f"{sorted(_diff(doc, again))}")


def _diff(ours: Any, schema: Any, path: str = "") -> list[str]:
    if isinstance(ours, dict) and isinstance(schema, dict):
        out = []
        for key, value in ours.items():
            if key not in schema:
                out.append(f"{path}.{key}")
            else:
                out += _diff(value, schema[key], f"{path}.{key}")
        return out
    if isinstance(ours, list) and isinstance(schema, list):
        return [p for i, (a, b) in enumerate(zip(ours, schema, strict=False))
                for p in _diff(a, b, f"{path}[{i}]")]
    return [] if ours == schema else [path]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_expected_kinds(overlay: str) -> None:
    kinds = sorted({d["kind"] for d in render(overlay)})
    assert kinds == sorted([
        "ConfigMap", "CronJob", "NetworkPolicy", "PodDisruptionBudget",
        "PrometheusRule", "ScaledObject", "Service", "ServiceAccount", "ServiceMonitor",
        "StatefulSet", "TriggerAuthentication",
    ])
    assert all(d["metadata"].get("namespace") for d in render(overlay)
               if d["kind"] not in ("Namespace",)), "every resource gets the overlay's namespace"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_core_kinds_pass_strict_schema_validation(overlay: str, version: str) -> None:
    checked = 0
    for doc in render(overlay):
        if doc["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 7


def test_strict_schema_validation_rejects_an_unknown_field() -> None:
    worker = find(render("prod"), "StatefulSet")
    pod_spec(worker)["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, K8S_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_pass_their_crd_schemas(overlay: str) -> None:
    crds = [d for d in render(overlay) if d["kind"] in CRD_KINDS]
    assert {d["kind"] for d in crds} == {"ScaledObject", "ServiceMonitor", "PrometheusRule",
                                         "TriggerAuthentication"}
    for doc in crds:
        validate_crd(doc)


def test_crd_validation_rejects_wrong_types_and_unknown_fields() -> None:
    scaled = find(render("prod"), "ScaledObject")
    typo = copy.deepcopy(scaled)
    typo["spec"]["maxReplicas"] = 3
    with pytest.raises(ValueError, match="maxReplicas"):
        validate_crd(typo)
    wrong_type = copy.deepcopy(scaled)
    wrong_type["spec"]["maxReplicaCount"] = "3"
    with pytest.raises(ValueError):
        validate_crd(wrong_type)
    monitor = find(render("prod"), "ServiceMonitor")
    del monitor["spec"]["selector"]
    with pytest.raises(ValueError):
        validate_crd(monitor)


# ----------------------------------------------------------------- security and probes
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_meet_pod_security_restricted_with_a_read_only_root(overlay: str) -> None:
    docs = render(overlay)
    assert len(workloads(docs)) == 2
    for workload in workloads(docs):
        spec = pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"] + spec.get("initContainers", []):
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc.get("privileged", False) is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert sc["readOnlyRootFilesystem"] is True
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, "/tmp must be an emptyDir"
            resources = container["resources"]
            for key in ("cpu", "memory"):
                assert key in resources["requests"] and key in resources["limits"]


def test_probes_liveness_is_kafka_free_readiness_and_startup_wait_for_recovery() -> None:
    container = pod_spec(find(render("prod"), "StatefulSet"))["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] == "/readyz"
    # Generous enough for a changelog recovery (k8s/README.md "Sizing"): at least 5 min.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300
    liveness = container["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 30


def test_graceful_shutdown_fits_the_termination_grace_period() -> None:
    from streams.worker import DRAIN_SECONDS

    for workload in workloads(render("prod")):
        grace = pod_spec(workload)["terminationGracePeriodSeconds"]
        # Drain in-flight deliveries, then commit offsets and leave the group.
        assert grace >= DRAIN_SECONDS + 30, workload["metadata"]["name"]


# --------------------------------------------------------------- scaling and disruption
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaledobject_scales_on_lag_within_the_partition_count(overlay: str) -> None:
    docs = render(overlay)
    scaled = find(docs, "ScaledObject")
    spec = scaled["spec"]
    partitions = int(scaled["metadata"]["annotations"]["wrapup-bridge/events-topic-partitions"])
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
    assert spec["scaleTargetRef"]["name"] == find(docs, "StatefulSet")["metadata"]["name"]
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 300
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    assert int(trigger["metadata"]["lagThreshold"]) > 0
    assert "replicas" not in find(docs, "StatefulSet")["spec"], "KEDA owns the replica count"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_match_the_worker_pods(overlay: str) -> None:
    docs = render(overlay)
    worker = find(docs, "StatefulSet")
    pod_labels = worker["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    assert selects(worker["spec"]["selector"]["matchLabels"], pod_labels)
    assert selects(find(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
                   pod_labels)
    assert find(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    service = find(docs, "Service")
    assert selects(service["spec"]["selector"], pod_labels)
    monitor = find(docs, "ServiceMonitor")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    policy = find(docs, "NetworkPolicy")
    assert selects(policy["spec"]["podSelector"]["matchLabels"], pod_labels)
    replay = find(docs, "CronJob")
    replay_labels = replay["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert selects(policy["spec"]["podSelector"]["matchLabels"], replay_labels)
    assert not selects(worker["spec"]["selector"]["matchLabels"], replay_labels), \
        "replay pods must not count as workers (PDB, Service)"


def test_replay_template_never_fires_on_its_own() -> None:
    replay = find(render("prod"), "CronJob")
    assert replay["spec"]["suspend"] is True
    assert replay["spec"]["schedule"] == "0 0 31 2 *"  # 31 February
    container = pod_spec(replay)["containers"][0]
    assert container["args"][0] == "replay"
    assert "--help" in container["args"], "an un-customised replay Job only prints help"


# ------------------------------------------------------------------------ alert rules
def rule_groups_file(tmp_path: Path, doc: Doc) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}, sort_keys=False))
    return path


def test_prometheusrule_groups_equal_the_alert_rules_file() -> None:
    rules = yaml.safe_load(RULES_FILE.read_text())
    for overlay in OVERLAYS:
        assert find(render(overlay), "PrometheusRule")["spec"]["groups"] == rules["groups"]


def test_committed_prometheusrule_is_generated_from_the_rules_file() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_prometheusrule", ROOT / "scripts" / "gen-prometheusrule.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    committed = (K8S / "base" / "prometheusrule.yaml").read_text()
    assert committed == gen.render(RULES_FILE.read_text()), \
        "stale: run scripts/gen-prometheusrule.py"


def test_prometheusrule_groups_pass_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not on PATH (scripts/setup.sh installs prometheus)"
    rule = find(render("prod"), "PrometheusRule")
    done = subprocess.run([promtool, "check", "rules", str(rule_groups_file(tmp_path, rule))],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
    # promtool bites: a broken expression fails.
    broken = copy.deepcopy(rule)
    broken["spec"]["groups"][0]["rules"][0]["expr"] = "sum(rate(x[5m])"
    done = subprocess.run([promtool, "check", "rules", str(rule_groups_file(tmp_path, broken))],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0



@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_worker_pod_has_a_stable_unique_static_membership_id(overlay: str) -> None:
    """Static group membership (a restarted pod gets its partitions back at once) needs
    an ID that survives restarts and differs per pod: the StatefulSet's pod name."""
    docs = render(overlay)
    worker = find(docs, "StatefulSet")
    assert worker["spec"]["serviceName"] == find(docs, "Service")["metadata"]["name"]
    (container,) = pod_spec(worker)["containers"]
    env = {e["name"]: e for e in container["env"]}
    ref = env["WRAPUP_KAFKA_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]
    assert ref["fieldPath"] == "metadata.name"
    assert "volumeClaimTemplates" not in worker["spec"]  # memory store: no volumes
