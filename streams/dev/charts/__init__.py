"""``wrapup dashboards render``: every dashboard panel drawn to PNG, without Grafana.

* :mod:`~streams.dev.charts.simrun`: a short simulated run that fills every series.
* :mod:`~streams.dev.charts.render`: query a Prometheus and draw the panels (matplotlib).
* :mod:`~streams.dev.charts.cli`: the ``wrapup dashboards`` group.

The dashboards themselves are defined in :mod:`streams.observability.dashboards`.
"""
