"""How the simulated platform speaks: one module per dialect, chosen by name.

A dialect is the wire of the simulator: its HTTP routes and their bodies, the error
bodies, the read-back document, any extra rate limit, the event payloads the bridge
publishes for each transition, the workload plan (one leg per interaction, or several),
and the worker environment that points the product at it. The model
(:class:`~streams.dev.simulator.platform.Platform`: lifecycles, tokens, chaos, ledger)
is the same for every dialect; its entries are keyed by the ledger key, the interaction
for a one-leg dialect and ``leg_key(conversation, participant)`` for a per-leg one.

To add one (say ``acme``):

1. ``streams/dev/simulator/dialects/acme.py`` with ``class AcmeDialect(Dialect)``
   (:class:`.base.Dialect`), overriding what differs from the generic defaults: usually
   :meth:`~.base.Dialect.routes`, :meth:`~.base.Dialect.key`,
   :meth:`~.base.Dialect.parse_wrapup`, :meth:`~.base.Dialect.error_body`,
   :meth:`~.base.Dialect.readback`, :meth:`~.base.Dialect.messages`,
   :meth:`~.base.Dialect.worker_env` and, for several legs, :meth:`~.base.Dialect.plan`;
   and a module-level ``def dialect(**options) -> AcmeDialect``.
2. A line in :data:`DIALECTS` below: ``"acme": "streams.dev.simulator.dialects.acme"``.
3. Tests under ``tests/dev/simulator/dialects/`` (the generic ones must still pass).

``wrapup simulate run/compare --platform acme`` then plays the workload in that dialect.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from streams.dev.simulator.dialects.base import Dialect, Route

__all__ = ["DIALECTS", "Dialect", "Route", "load"]

DIALECTS: dict[str, str] = {  # name -> the module whose dialect(**options) makes it
    "generic": "streams.dev.simulator.dialects.generic",
    "genesys": "streams.dev.simulator.dialects.genesys",
    "twilio": "streams.dev.simulator.dialects.twilio",
    "cxone": "streams.dev.simulator.dialects.cxone",
    "connect": "streams.dev.simulator.dialects.connect",
}


def load(name: str = "generic", **options: Any) -> Dialect:
    """The dialect called ``name`` (``ValueError`` for an unknown one)."""
    try:
        module = DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown simulator dialect {name!r} (known: "
                         f"{', '.join(sorted(DIALECTS))})") from None
    make = cast(Callable[..., Dialect], importlib.import_module(module).dialect)
    return make(**options)
