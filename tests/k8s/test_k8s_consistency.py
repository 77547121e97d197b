"""The manifests, the Dockerfile and the code agree with each other.

One port for the container, the probes, the Service and the scrape; the ScaledObject
watches the Faust app's consumer group; the image's user is the pod's; every variable
the manifests set is one the config reads, and every one it reads is documented.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from streams.config import VARIABLES, Settings
from streams.dev.kafka.tls import make_tls_files
from streams.topics import TopicLayout
from tests.k8s.k8s_render import (
    K8S,
    OVERLAYS,
    Doc,
    configmap_env,
    dockerfile_env,
    dockerfile_instructions,
    find,
    pod_spec,
    render,
    workloads,
)

DECLARED = {v.name: v for v in VARIABLES}


def worker_container(docs: list[Doc]) -> Doc:
    (container,) = pod_spec(find(docs, "StatefulSet"))["containers"]
    return container


def effective_config(docs: list[Doc], tmp_path: Path) -> Settings:
    """The Settings a worker pod would build: its ConfigMap env, the policy file as
    mounted, placeholder credentials for what the Secret provides."""
    container = worker_container(docs)
    env = configmap_env(docs, container)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    policy_volume = next(v for v in pod_spec(find(docs, "StatefulSet"))["volumes"]
                         if v["name"] == "policy")
    policy_map = find(docs, "ConfigMap", policy_volume["configMap"]["name"])
    (key, document), = policy_map["data"].items()
    assert env["WRAPUP_POLICY_FILE"] == f"{mounts['policy']}/{key}"
    local_policy = tmp_path / key
    local_policy.write_text(document)
    env["WRAPUP_POLICY_FILE"] = str(local_policy)
    # The Kafka Secret's files as mounted (a test CA for the CA file).
    kafka_mount = mounts["kafka"]
    for name, value in list(env.items()):
        if value.startswith(f"{kafka_mount}/"):
            local = tmp_path / "kafka" / value.rpartition("/")[2]
            local.parent.mkdir(exist_ok=True)
            if value.endswith((".crt", ".pem")):
                local.write_bytes(make_tls_files(tmp_path / "tls").ca.read_bytes())
            else:
                local.write_text(f"{local.name}-placeholder\n")
            env[name] = str(local)
    env["WRAPUP_OAUTH_CLIENT_ID"] = "client-id-placeholder"
    env["WRAPUP_OAUTH_CLIENT_SECRET"] = "client-secret-placeholder"
    env["WRAPUP_DATA_DIR"] = str(tmp_path / "data")
    return Settings.from_env(env)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_port_for_container_probes_service_scrape_and_config(overlay: str) -> None:
    docs = render(overlay)
    container = worker_container(docs)
    (port,) = container["ports"]
    assert port["name"] == "metrics"
    number = port["containerPort"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in (port["name"], number), probe
    (service_port,) = find(docs, "Service")["spec"]["ports"]
    assert service_port["targetPort"] in (port["name"], number)
    assert service_port["port"] == number
    (endpoint,) = find(docs, "ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["port"] == service_port["name"]
    assert endpoint["path"] == "/metrics"
    (ingress,) = find(docs, "NetworkPolicy")["spec"]["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [port["name"]]
    env = configmap_env(docs, container)
    assert int(env["WRAPUP_WEB_PORT"]) == number
    assert env["WRAPUP_WEB_HOST"] == "0.0.0.0", "probes come from the kubelet, not loopback"
    assert int(dockerfile_env()["WRAPUP_WEB_PORT"]) == number
    assert ("EXPOSE", str(number)) in dockerfile_instructions(-1)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaledobject_watches_the_faust_apps_consumer_group(
        overlay: str, tmp_path: Path) -> None:
    from streams.worker import JoinWorker

    docs = render(overlay)
    settings = effective_config(docs, tmp_path)
    worker = JoinWorker(settings, TopicLayout.for_settings(settings, partitions=3))
    (trigger,) = find(docs, "ScaledObject")["spec"]["triggers"]
    meta = trigger["metadata"]
    assert meta["consumerGroup"] == worker.app.conf.id == settings.app_id
    assert meta["topic"] == settings.events_topic
    assert meta["bootstrapServers"] == settings.kafka_bootstrap_servers
    assert meta["offsetResetPolicy"] == settings.auto_offset_reset
    # KEDA connects as the worker does: same protocol, mechanism, and Secret.
    security = settings.kafka_security
    assert meta.get("tls", "disable") == ("enable" if security.uses_tls else "disable")
    sasl = (security.mechanism or "").lower().replace("-", "_").replace("scram_sha_", "scram_sha")
    assert meta.get("sasl", "none") == (sasl if security.uses_sasl else "none")
    if security.protocol != "PLAINTEXT":
        auth = find(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        secrets = {ref["name"] for ref in auth["spec"]["secretTargetRef"]}
        volumes = {v["name"]: v for v in pod_spec(find(docs, "StatefulSet"))["volumes"]}
        assert secrets == {volumes["kafka"]["secret"]["secretName"]}
        keys = {ref["parameter"]: ref["key"] for ref in auth["spec"]["secretTargetRef"]}
        if security.uses_sasl:
            assert {"username", "password"} <= set(keys)
        for parameter, variable in (("username", "WRAPUP_KAFKA_SASL_USERNAME_FILE"),
                                    ("password", "WRAPUP_KAFKA_SASL_PASSWORD_FILE"),
                                    ("ca", "WRAPUP_KAFKA_SSL_CA_FILE")):
            mounted = configmap_env(docs, worker_container(docs)).get(variable)
            if mounted is not None:
                assert mounted.endswith(f"/{keys[parameter]}"), (parameter, mounted)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_allows_the_configured_kafka_and_api_ports(
        overlay: str, tmp_path: Path) -> None:
    docs = render(overlay)
    settings = effective_config(docs, tmp_path)
    egress_ports = {(p["port"], p["protocol"])
                    for rule in find(docs, "NetworkPolicy")["spec"]["egress"]
                    for p in rule["ports"]}
    for server in settings.kafka_bootstrap_servers.split(","):
        assert (int(server.rpartition(":")[2]), "TCP") in egress_ports
    api = urlsplit(settings.api_base_url)
    assert (api.port or {"https": 443, "http": 80}[api.scheme], "TCP") in egress_ports
    assert {(53, "UDP"), (53, "TCP")} <= egress_ports
    assert len(egress_ports) == 2 + 2 + 1, "egress: DNS, Kafka (9092, 9093) and the API only"


def test_dockerfile_user_is_the_pods_user() -> None:
    users = [args for word, args in dockerfile_instructions(-1) if word == "USER"]
    assert users, "the final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 10000, "numeric, outside host UID ranges"
    for overlay in OVERLAYS:
        for workload in workloads(render(overlay)):
            spec = pod_spec(workload)
            for context in [spec["securityContext"]] + [
                    c["securityContext"] for c in spec["containers"]]:
                assert context["runAsUser"] == int(uid)
                assert context["runAsGroup"] == int(gid or uid)


def test_data_directory_is_the_dockerfile_volume_and_a_pod_volume() -> None:
    volumes = [args for word, args in dockerfile_instructions(-1) if word == "VOLUME"]
    data_dir = dockerfile_env()["WRAPUP_DATA_DIR"]
    assert volumes == [f'["{data_dir}"]']
    for overlay in OVERLAYS:
        docs = render(overlay)
        for workload in workloads(docs):
            (container,) = pod_spec(workload)["containers"]
            assert configmap_env(docs, container)["WRAPUP_DATA_DIR"] == data_dir
            assert data_dir in {m["mountPath"] for m in container["volumeMounts"]}


# --------------------------------------------------------------------- environment
def manifest_env(docs: list[Doc]) -> Iterator[tuple[str, Doc, Doc | None]]:
    """(variable name, container, its env entry or None if from a ConfigMap)."""
    for workload in workloads(docs):
        for container in pod_spec(workload)["containers"]:
            for name in configmap_env(docs, container):
                yield name, container, None
            for entry in container.get("env", []):
                yield entry["name"], container, entry


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_the_manifests_set_is_read_by_the_config(overlay: str) -> None:
    names = {name for name, _, _ in manifest_env(render(overlay))}
    assert names, "the manifests set no variables?"
    assert names <= set(DECLARED), f"not read by streams/config.py: {names - set(DECLARED)}"
    assert {n for n, _ in dockerfile_env().items() if n.startswith("WRAPUP_")} <= set(DECLARED)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_only_from_a_secret_reference(overlay: str) -> None:
    secret_names = {v.name for v in VARIABLES if v.secret}
    assert secret_names
    docs = render(overlay)
    assert not any(d["kind"] == "Secret" for d in docs), "no Secret is committed"
    for name, _container, entry in manifest_env(docs):
        if name in secret_names:
            assert entry is not None, f"{name} must not be in a ConfigMap"
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "wrapup-bridge-credentials" and ref["key"] == name


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers every name looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the config must look variables up by name, not scan them")

    def __len__(self) -> int:
        return len(self.values)


def test_every_variable_the_config_reads_is_documented(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text((K8S / "base" / "policy.json").read_text())
    recording = RecordingEnv({"WRAPUP_POLICY_FILE": str(policy)})
    Settings.from_env(recording)
    helps = " ".join(v.help for v in VARIABLES)
    for name in recording.read:
        # A fallback (KAFKA_BOOTSTRAP_SERVERS) counts as documented in the help it is named in.
        assert name in DECLARED or f"${name}" in helps, f"{name} is read but undocumented"
    assert set(DECLARED) <= recording.read, "declared but never read"
    readme = (K8S / "README.md").read_text()
    for variable in VARIABLES:
        assert variable.help.strip(), variable.name
        assert f"`{variable.name}`" in readme, f"k8s/README.md does not mention {variable.name}"


# ------------------------------------------------------------------ health endpoints
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_probe_paths_are_served_by_the_worker_web_server() -> None:
    from streams.web import HealthState, WebServer

    container = worker_container(render("prod"))
    health = HealthState()
    server = WebServer("127.0.0.1", free_port(), health)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}",
                                     timeout=5) as client:
            live = container["livenessProbe"]["httpGet"]["path"]
            ready = container["readinessProbe"]["httpGet"]["path"]
            assert (await client.get(live)).status_code == 200
            health.is_ready = lambda: False
            assert (await client.get(ready)).status_code == 503
            health.is_ready = lambda: True
            assert (await client.get(ready)).status_code == 200
            assert (await client.get(live)).status_code == 200

            def broken() -> bool:
                raise RuntimeError("worker in a bad state")

            health.is_ready = broken
            assert (await client.get(ready)).status_code == 503
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200 and b"wrapup_" in metrics.content
    finally:
        await server.stop()


# ---------------------------------------------------------------------------- replay
def test_replay_template_and_readme_use_options_the_replay_command_has() -> None:
    from streams.cli import main

    replay = main.commands["replay"]
    options = {opt for param in replay.params for opt in getattr(param, "opts", [])}
    args = pod_spec(find(render("prod"), "CronJob"))["containers"][0]["args"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "--since" in result.output
    readme = (K8S / "README.md").read_text()
    example = re.search(r'\["replay", (.*?)\]', readme)
    assert example, "k8s/README.md has no replay Job example"
    used = {a.strip('" ') for a in example.group(1).split(",") if a.strip('" ').startswith("--")}
    assert used and used <= options, f"unknown replay options: {used - options}"
    assert {"--since", "--dry-run"} <= used
