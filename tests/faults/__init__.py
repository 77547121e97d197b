"""Fault suite (issue 11): real worker processes on a real broker, judged by the
simulator's ledger."""
