#!/usr/bin/env bash
# The main job on the embedded default: a local Kafka broker, the simulated platform
# (API + event bridge) and the worker; prints a live log and a final summary from the
# simulator's ledger. Extra arguments go to `wrapup simulate run` (see --help), e.g.
#   scripts/demo.sh --interactions 500 --rate 20
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/wrapup simulate run --interactions 200 --rate 10 "$@"
