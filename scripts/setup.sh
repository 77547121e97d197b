#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine (as root) for wrapup-bridge:
# system packages (kcat, prometheus, JDK, Maven), the .venv, checkov's own venv, and the
# Kafka jars. kubectl (for `kubectl kustomize` in tests/k8s) comes with the machine image.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages (only what is missing; apt-get update at most once) -----------------
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v java >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python environment ---------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
fi
# Re-install only when pyproject.toml changed since the last successful install.
stamp=.venv/.wrapup-install-stamp
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
    || ! .venv/bin/python -c 'import streams, faust, aiokafka, pytest, pytest_timeout, rocksdict, kubernetes_validate, cloudcoil.models.keda' >/dev/null 2>&1; then
    log "pip install -e '.[dev,rocksdb,validate]'"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev,rocksdb,validate]'
    printf '%s\n' "$want" >"$stamp"
fi

# --- checkov in its own venv (its pins conflict with ours; see pyproject's `validate`) -----
command -v kubectl >/dev/null 2>&1 || log "WARNING: kubectl not found; tests/k8s will fail"
if ! .venv-checkov/bin/checkov --version >/dev/null 2>&1; then
    log "installing checkov into .venv-checkov"
    python3 -m venv .venv-checkov
    .venv-checkov/bin/python -m pip install -q 'checkov>=3.2,<4'
fi

# --- Kafka jars (Maven Central -> ${WRAPUP_CACHE_DIR:-~/.cache/wrapup-bridge}) -----------
log "Kafka jars: $(.venv/bin/wrapup kafka fetch)"
