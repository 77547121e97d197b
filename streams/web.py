"""The worker's small HTTP surface: ``/metrics``, ``/healthz`` and ``/readyz``.

Liveness answers from the event loop alone (independent of Kafka), so a long table
recovery never gets the pod restarted; readiness says partitions are assigned and
the table is recovered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


@dataclass
class HealthState:
    """What the probes report; ``is_ready`` is wired to the worker."""

    started_at: float = field(default_factory=time.time)
    is_ready: Callable[[], bool] = lambda: False


class WebServer:
    """An aiohttp server on ``host:port`` serving metrics and probes."""

    def __init__(self, host: str, port: int, health: HealthState) -> None:
        self.host = host
        self.port = port
        self.health = health
        self._runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def start(self) -> None:
        """Bind and serve; idempotent."""
        if self._runner is not None:
            return
        runner = web.AppRunner(self.application(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        uptime = time.time() - self.health.started_at
        return web.json_response({"status": "ok", "uptime_seconds": round(uptime, 3)})

    async def _readyz(self, request: web.Request) -> web.Response:
        try:
            ready = self.health.is_ready()
        except Exception:  # a probe must answer, whatever state the app is in
            ready = False
        return web.json_response(
            {"ready": ready}, status=200 if ready else 503
        )
