"""A contact-center platform simulator: the API, the event bridge, a baseline consumer.

Pure parts (:mod:`~streams.dev.simulator.scenario`, :mod:`~streams.dev.simulator.workload`,
:mod:`~streams.dev.simulator.lifecycle`, :mod:`~streams.dev.simulator.ledger`) are separate from
the I/O shells (:mod:`~streams.dev.simulator.platform`, :mod:`~streams.dev.simulator.bridge`,
:mod:`~streams.dev.simulator.baseline`, :mod:`~streams.dev.simulator.compare`).
"""
