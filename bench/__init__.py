"""Benchmarks of the event store against the `eventsourcing` library and raw SQL (`python -m bench`).

Not a timed test: it measures, prints a table, and records the runs in bench/results/.
"""
