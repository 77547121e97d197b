"""Observability artefacts' tooling: PromQL inspection, dashboard loading, chart rendering."""
