"""Grafana dashboards as data: their panels, queries and template variables.

The tests and the chart renderer read the committed dashboard JSON through this module,
so what they check and draw is exactly what Grafana shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streams.observability.promql import substitute

# grafana/dashboards/ next to the package in a source checkout.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"

LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
_LABEL_VALUES = re.compile(
    r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$"
)


@dataclass(frozen=True, slots=True)
class Target:
    """One query of a panel, with the legend that names the labels it must carry."""

    ref_id: str
    expr: str
    legend: str

    @property
    def legend_labels(self) -> frozenset[str]:
        """Labels the legend shows (``{{outcome}}``): every result series must have them."""
        return frozenset(LEGEND_LABEL.findall(self.legend))


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel that queries Prometheus."""

    dashboard: str  # uid
    id: int
    title: str
    type: str
    unit: str
    targets: tuple[Target, ...]
    datasource: str


@dataclass(frozen=True, slots=True)
class Variable:
    """A dashboard template variable."""

    name: str
    type: str
    query: str
    datasource: str | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A loaded dashboard file."""

    path: Path
    uid: str
    title: str
    raw: Mapping[str, Any]

    @property
    def panels(self) -> list[Panel]:
        return list(_panels(self.uid, self.raw.get("panels", [])))

    @property
    def variables(self) -> list[Variable]:
        found = []
        for var in self.raw.get("templating", {}).get("list", []):
            query = var.get("query", "")
            if isinstance(query, dict):
                query = query.get("query", "")
            found.append(Variable(var["name"], var["type"], str(query),
                                  _datasource_uid(var.get("datasource"))))
        return found


def _datasource_uid(ds: Any) -> str | None:
    if isinstance(ds, dict):
        uid = ds.get("uid")
        return str(uid) if uid is not None else None
    return None if ds is None else str(ds)


def _panels(uid: str, items: list[dict[str, Any]]) -> Iterator[Panel]:
    for item in items:
        if item.get("type") == "row":
            yield from _panels(uid, item.get("panels", []))  # collapsed rows nest panels
            continue
        targets = tuple(
            Target(t.get("refId", ""), t["expr"], t.get("legendFormat", ""))
            for t in item.get("targets", [])
            if t.get("expr")
        )
        unit = item.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
        yield Panel(uid, int(item.get("id", 0)), item.get("title", ""), item.get("type", ""),
                    unit, targets, _datasource_uid(item.get("datasource")) or "")


def legend_text(template: str, labels: Mapping[str, str]) -> str:
    """Grafana's legend format: ``{{label}}`` replaced by the series' label value."""
    text = LEGEND_LABEL.sub(lambda m: labels.get(m.group(1), ""), template)
    return text.strip() or "value"


def load(path: Path) -> Dashboard:
    """Read one dashboard JSON file."""
    raw = orjson.loads(path.read_bytes())
    return Dashboard(path, str(raw.get("uid", path.stem)), str(raw.get("title", path.stem)), raw)


def load_all(directory: Path = DEFAULT_DIR) -> list[Dashboard]:
    """Every ``*.json`` dashboard in ``directory``, sorted by file name."""
    return [load(p) for p in sorted(directory.glob("*.json"))]


def label_values_selector(query: str) -> tuple[str | None, str] | None:
    """``(selector, label)`` of a ``label_values(selector, label)`` variable query, else None."""
    match = _LABEL_VALUES.match(query)
    if match is None:
        return None
    return match.group("selector"), match.group("label")


def concrete(expr: str, *, rate_interval: str, job: str, instance: str = ".*",
             extra: Mapping[str, str] | None = None) -> str:
    """``expr`` with Grafana's variables filled in, ready for Prometheus' HTTP API."""
    values = {
        "__rate_interval": rate_interval,
        "__interval": rate_interval,
        "__range": rate_interval,
        "job": job,
        "instance": instance,
        "datasource": "prometheus",
    }
    values.update(extra or {})
    return substitute(expr, values)
