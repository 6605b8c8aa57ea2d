"""`python -m bench [store|scorecard|publish|http|proofs|edition-proofs|import|proxy] [options]`: run one benchmark (the store's by default).

Each benchmark is a module of its own with its own options (`python -m bench NAME --help`); all of
them report through bench/report.py.
"""

from __future__ import annotations

import sys
from importlib import import_module

BENCHMARKS = {
    "store": "bench_store",  # appends, reads, verify, peak memory: ours vs eventsourcing and raw SQL
    "scorecard": "bench_scorecard",  # the projections rebuilt, the scorecard as of past moments
    "publish": "bench_publish",  # rendering and publishing an edition, the feeds
    "http": "bench_http",  # `serve` under load, bulk imports, concurrent writers
    "proofs": "bench_proofs",  # appends with the Merkle tree vs without, signing a checkpoint, proving and checking
    "edition-proofs": "bench_edition_proofs",  # proofs of a published edition: added to publish, proof check
    "proxy": "bench_proxy",  # public reads through HAProxy: three `serve` processes against one
    "import": "bench_import",  # a CSV of new figures through the CLI vs eventsourcing's batched append; a profile
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name, rest = (argv[0], argv[1:]) if argv[:1] and argv[0] in BENCHMARKS else ("store", argv)
    return import_module(f".{BENCHMARKS[name]}", __package__).main(rest)


if __name__ == "__main__":
    sys.exit(main())
