"""The README stays true: its configuration table is the one the code declares."""

from __future__ import annotations

from pathlib import Path

from streams.config import VARIABLES, markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(start: str, end: str) -> str:
    text = README.read_text()
    return text[text.index(start) + len(start):text.index(end)].strip()


def test_config_table_matches_the_declared_variables() -> None:
    block = _block("<!-- config-table:start -->", "<!-- config-table:end -->")
    assert block == markdown_table(), (
        "README config table is stale: regenerate with "
        "`python -c 'from streams.config import markdown_table; print(markdown_table())'`"
    )
    for var in VARIABLES:
        assert f"`{var.name}`" in block


def test_readme_names_the_two_commands_and_ci_runs_the_test_one() -> None:
    text = README.read_text()
    assert "scripts/demo.sh" in text and "scripts/test.sh" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
    assert (README.parent / "scripts" / "demo.sh").exists()
