"""The Faust worker, split by concern (see :mod:`.app` for the coordinator).

* :mod:`.app` — the Faust app wiring and the join agent's handler;
* :mod:`.ingest` — decode, validate and dead-letter source records; re-key;
* :mod:`.holes` — the continuity guard's shell: restarts, holes, tail holes;
* :mod:`.commits` — the commit protocol, its steps in order;
* :mod:`.supervision` — deliveries as bounded tasks: slots, resume, drain;
* :mod:`.tracking` — sends the commits wait for;
* :mod:`.table` — the table's value encoding;
* :mod:`.reload` — the live policy reload;
* :mod:`.internals` — the Faust/aiokafka internals it reaches into.
"""

from streams.worker.app import JoinWorker
from streams.worker.supervision import DRAIN_SECONDS
from streams.worker.table import decode_state, encode_state

__all__ = ["DRAIN_SECONDS", "JoinWorker", "decode_state", "encode_state"]
