"""The metrics catalogue: what :mod:`streams.metrics` defines, as data and as a README table.

The README's catalogue is generated from here (``python -m streams.observability.catalogue
--write README.md``) and a test checks it still matches, so it cannot drift.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from prometheus_client.metrics import MetricWrapperBase

START = "<!-- metrics-catalogue:start -->"
END = "<!-- metrics-catalogue:end -->"

# Families the default prometheus_client collectors export besides ours.
STANDARD_PREFIXES = ("process_", "python_")
STANDARD_NAMES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """One metric family as exported (``name`` is the exposition name, e.g. ``..._total``)."""

    name: str
    type: str
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()  # histogram upper bounds, without +Inf

    @property
    def series_names(self) -> frozenset[str]:
        """Every sample name the family produces on ``/metrics`` (without ``_created``)."""
        if self.type == "histogram":
            return frozenset(self.name + s for s in ("_bucket", "_sum", "_count"))
        return frozenset({self.name})


def defined_metrics(module: ModuleType | None = None) -> list[MetricInfo]:
    """Every metric object defined at module level in ``module`` (default: streams.metrics)."""
    if module is None:
        import streams.metrics as module
    infos: list[MetricInfo] = []
    for value in vars(module).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        name = value._name + ("_total" if value._type == "counter" else "")
        bounds = tuple(b for b in getattr(value, "_upper_bounds", ()) if b != float("inf"))
        infos.append(MetricInfo(name, str(value._type), tuple(value._labelnames),
                                value._documentation, bounds))
    return sorted(infos, key=lambda m: m.name)


def exported_series_names(infos: list[MetricInfo] | None = None) -> frozenset[str]:
    """Sample names the service's own metrics produce."""
    infos = defined_metrics() if infos is None else infos
    return frozenset().union(*(m.series_names for m in infos))


def is_standard(name: str) -> bool:
    """True for the default process/python collectors' metrics and Prometheus' own ``up``."""
    return name.startswith(STANDARD_PREFIXES) or name in STANDARD_NAMES


def render_table(infos: list[MetricInfo] | None = None) -> str:
    """The catalogue as a Markdown table plus a note on the standard collectors."""
    infos = defined_metrics() if infos is None else infos
    lines = ["| name | type | labels | meaning |", "| --- | --- | --- | --- |"]
    for m in infos:
        labels = ", ".join(f"`{label}`" for label in m.labels) or "—"
        meaning = m.help.replace("|", "\\|")
        if m.buckets:
            meaning += " Buckets (s): " + ", ".join(f"{b:g}" for b in m.buckets) + "."
        lines.append(f"| `{m.name}` | {m.type} | {labels} | {meaning} |")
    lines.append("")
    lines.append(
        "Histograms also export `_bucket` (label `le`), `_sum` and `_count`. Besides these, "
        "`/metrics` carries prometheus_client's standard `process_*` and `python_*` metrics "
        "(`process_start_time_seconds` shows restarts). No metric is labelled with an "
        "interaction, agent or contact ID: those appear only in the JSON logs."
    )
    return "\n".join(lines)


_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|\s*([^|]*)\|\s*(.*)\|\s*$")


def parse_table(markdown: str) -> list[MetricInfo]:
    """The metrics listed in a README's catalogue section (inverse of :func:`render_table`)."""
    section = extract_section(markdown)
    infos = []
    for line in section.splitlines():
        match = _ROW.match(line.strip())
        if match:
            name, kind, labels, meaning = match.groups()
            infos.append(MetricInfo(name, kind, tuple(re.findall(r"`([^`]+)`", labels)),
                                    meaning.strip().replace("\\|", "|")))
    return infos


def extract_section(markdown: str) -> str:
    """The text between the catalogue markers; ``ValueError`` if they are missing."""
    start, end = markdown.find(START), markdown.find(END)
    if start < 0 or end < start:
        raise ValueError("metrics catalogue markers not found")
    return markdown[start + len(START):end]


def replace_section(markdown: str, table: str) -> str:
    """``markdown`` with only the text between the markers replaced by ``table``."""
    start, end = markdown.find(START), markdown.find(END)
    if start < 0 or end < start:
        raise ValueError("metrics catalogue markers not found")
    return markdown[: start + len(START)] + "\n" + table + "\n" + markdown[end:]


def main(argv: list[str] | None = None) -> None:
    """Print the catalogue, or rewrite it in place between the README's markers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, metavar="README", help="update this file")
    args = parser.parse_args(argv)
    table = render_table()
    if args.write is None:
        print(table)
        return
    path: Path = args.write
    path.write_text(replace_section(path.read_text(encoding="utf-8"), table), encoding="utf-8")


if __name__ == "__main__":
    main()
