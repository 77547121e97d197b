"""Development tooling: the local broker, the platform simulator, the chart renderer.

The product (worker, replay, delivery, ...) never imports this package (a test checks
it), and the Docker image leaves it out; the ``wrapup`` CLI loads these commands only
when one of them is run.
"""
