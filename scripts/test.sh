#!/usr/bin/env bash
# The project's test command: set-up, lint, type-check, then the whole pytest suite
# (which starts one real Kafka broker per session unless KAFKA_BOOTSTRAP_SERVERS is set).
# Every step runs even if an earlier one failed; the exit code is non-zero if any failed.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k kafka -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

failed=()

echo "== ruff"
.venv/bin/ruff check . --extend-exclude '.venv*' || failed+=(ruff)

echo "== mypy"
.venv/bin/mypy || failed+=(mypy)

echo "== pytest"
rc=0
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    failed+=("pytest (no tests)")
elif [ "$rc" -ne 0 ]; then
    failed+=("pytest (exit $rc)")
fi

if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all checks passed"
