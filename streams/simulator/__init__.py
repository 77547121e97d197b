"""A contact-center platform simulator: the API, the event bridge, a baseline consumer.

Pure parts (:mod:`~streams.simulator.scenario`, :mod:`~streams.simulator.workload`,
:mod:`~streams.simulator.lifecycle`, :mod:`~streams.simulator.ledger`) are separate from
the I/O shells (:mod:`~streams.simulator.platform`, :mod:`~streams.simulator.bridge`,
:mod:`~streams.simulator.baseline`, :mod:`~streams.simulator.compare`).
"""
