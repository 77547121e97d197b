"""The product never imports the development tooling (``streams.dev``).

Product = every module of ``streams`` outside ``streams/dev/``: worker, delivery, replay,
kafka, config, join, events, policy, outcomes, metrics, web, logs, observability, cli.
The CLI only names the dev command groups in a table it imports from lazily.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import streams

PACKAGE = Path(streams.__file__).resolve().parent
ROOT = PACKAGE.parent
DEV = PACKAGE / "dev"


def _product_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if DEV not in p.parents)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, module: str | None = None) -> set[str]:
    """Every module an ``import`` / ``from … import`` names, at any depth of the file
    (lazy imports inside functions too); relative imports resolved."""
    package = (module or _module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = ".".join(package[: len(package) - node.level + 1])
                base = f"{prefix}.{base}" if base else prefix
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _is_dev(name: str) -> bool:
    return name == "streams.dev" or name.startswith("streams.dev.")


def test_no_product_module_imports_streams_dev() -> None:
    files = _product_files()
    assert {_module_name(p) for p in files} >= {
        "streams.worker", "streams.cli", "streams.kafka.admin", "streams.kafka.reader",
        "streams.kafka.tools", "streams.replay.reset", "streams.delivery.dispatcher",
        "streams.observability.dashboards",
    }
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _imported(p) if _is_dev(n))
                 for p in files}
    assert {f: names for f, names in offenders.items() if names} == {}


def test_the_import_scanner_sees_lazy_relative_and_from_imports(tmp_path: Path) -> None:
    sample = PACKAGE / "replay" / "__init__.py"  # a real package, for relative resolution
    assert "streams.replay.cli" in _imported(sample)
    fake = tmp_path / "mod.py"
    fake.write_text("def f():\n    from streams import dev\n    import streams.dev.kafka\n"
                    "    from ..dev.charts import cli\n")
    found = _imported(fake, "streams.replay.mod")
    assert {"streams.dev", "streams.dev.kafka", "streams.dev.charts.cli"} <= found


_WITHOUT_DEV = """
import importlib, importlib.abc, pkgutil, sys
import streams

class NoDev(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "streams.dev" or name.startswith("streams.dev."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoDev())
for info in pkgutil.walk_packages(streams.__path__, "streams."):
    if not info.name.startswith("streams.dev"):
        importlib.import_module(info.name)

from click.testing import CliRunner
from streams.cli import main
for args in (["--help"], ["worker", "--help"], ["replay", "--help"]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, (args, result.output)
listed = main.list_commands(None)
print(" ".join(listed))
"""


def test_the_product_and_its_cli_run_without_streams_dev() -> None:
    """As in a Docker image that leaves ``streams/dev/`` out."""
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_DEV], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["explain", "replay", "worker"]


_WITH_DEV = """
import sys
import click
from streams.cli import main
for name in ("worker", "replay"):
    assert main.get_command(click.Context(main), name) is not None
import streams.worker, streams.replay.run, streams.replay.reset, streams.topics
print(sorted(m for m in sys.modules if m.startswith("streams.dev")))
print(" ".join(main.list_commands(click.Context(main))))
"""


def test_the_worker_command_does_not_load_dev_tooling_and_dev_commands_are_listed() -> None:
    proc = subprocess.run([sys.executable, "-c", _WITH_DEV], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    loaded, listed = proc.stdout.splitlines()
    assert loaded == "[]"
    assert listed.split() == ["dashboards", "explain", "kafka", "replay", "simulate", "worker"]
