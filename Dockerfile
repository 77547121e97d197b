# syntax=docker/dockerfile:1
# wrapup-bridge worker image: `wrapup worker` as a non-root numeric user.
# Build stage: install the package and its pinned dependencies into a venv from wheels.
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/wrapup
COPY pyproject.toml README.md ./
# streams/dev/ (development tooling) is excluded by .dockerignore: the product never imports it.
COPY streams ./streams
# --only-binary: every dependency ships a wheel, so no compiler is needed here either.
RUN /opt/wrapup/bin/pip install --no-cache-dir --only-binary=:all: ".[rocksdb]"

# Runtime stage: the venv only; no build tools, no pip cache, no source tree.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/wrapup/bin:$PATH \
    WRAPUP_DATA_DIR=/var/lib/wrapup \
    WRAPUP_WEB_HOST=0.0.0.0 \
    WRAPUP_WEB_PORT=6066
# Numeric user and group (10001, above the host's range): Kubernetes' runAsNonRoot can
# only verify a numeric UID; k8s/base/statefulset.yaml's runAsUser must match (tested).
RUN groupadd --system --gid 10001 wrapup \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /var/lib/wrapup --shell /usr/sbin/nologin wrapup \
    && mkdir -p /var/lib/wrapup \
    && chown 10001:10001 /var/lib/wrapup
COPY --from=build /opt/wrapup /opt/wrapup
# Faust's data directory (table state, RocksDB if chosen) lives on a mounted volume.
VOLUME ["/var/lib/wrapup"]
WORKDIR /var/lib/wrapup
USER 10001:10001
EXPOSE 6066
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('WRAPUP_WEB_PORT', '6066') + '/healthz', timeout=4)"]
ENTRYPOINT ["wrapup"]
CMD ["worker"]
