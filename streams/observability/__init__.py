"""Observability definitions: the metrics catalogue, the dashboards, PromQL inspection.

Rendering them (a local Prometheus, a simulated run, the PNG charts) is development
tooling, in :mod:`streams.dev.charts` and :mod:`streams.dev.prometheus`.
"""
