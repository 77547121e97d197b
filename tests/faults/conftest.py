"""Fixtures of the fault suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.fixtures import Workers


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """``workers.start(env, name)``: named worker processes, all killed afterwards."""
    started = Workers(tmp_path)
    yield started
    started.kill_all()
