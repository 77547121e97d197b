"""A contact-center platform simulator: the API, the event bridge, a baseline consumer.

Pure parts (:mod:`.scenario`, :mod:`.workload`, :mod:`.lifecycle`, :mod:`.ledger`, and the
:mod:`.platform` model) are separate from the I/O shells (:mod:`.server`, :mod:`.bridge`,
:mod:`.baseline`, :mod:`.compare`).
"""
