"""Benchmarks, one module each (`python -m bench [store|scorecard|publish|http]`, see __main__.py).

Not timed tests: each measures, prints a table, and records its runs in bench/results/ (and its
README section) through report.py. bench_store compares the event store with the `eventsourcing`
library and raw SQL; on_sqlite.py and on_postgres.py hold its per-engine contenders, contenders.py
what they share.
"""
