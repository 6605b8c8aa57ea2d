"""The edition proofs benchmark: what inclusion proofs add to publishing an edition, signing a checkpoint, and
checking a whole edition with no database.

    python -m bench edition-proofs [--runs 7] [--write/--no-write]

Workload: the publishing benchmark's edition (bench_publish: 50 measures with four figures each, 100
paragraphs binding them), approved in an SQLite log and published once to a local directory. Cases
(medians of --runs):

- gathering the evidence of every figure and paragraph, the work proofs add to a publish: finding each
  one's source event again (to compare with what the approval names) and the inclusion proof of each
  source and of the approval in the tree up to the approval (proof format 2: service/handlers/evidence.py);
  target ≤ 50 ms (issue 17). The first format (every event as stored, each with its proof in the tree of
  the frozen size) is timed beside it, for revisions approved before approvals named their content;
- signing one checkpoint (Ed25519, events.notes); target ≤ 1 ms;
- `proof check` of the published edition's directory against its checkpoint (publishers/proofcheck.py:
  the approval re-hashed, every inclusion proof, every value compared); target ≤ 100 ms.

Recorded in bench/results/edition-proofs.json (and .md, and the README section "Benchmarks: edition proofs").
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from .bench_publish import EDITION, PARAGRAPHS, MEASURES, START, build_log, quiet_logs, row, table
from .report import ROOT, conclude, last_run, log, missed, quiet, section_text
from .runs import common_options, new_record, timed

TARGET_GATHER_MS = 50.0
TARGET_SIGN_MS = 1.0
TARGET_CHECK_MS = 100.0
README_HEADING = "## Benchmarks: edition proofs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench edition-proofs", description=__doc__.splitlines()[0])
    common_options(parser, runs=7)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    quiet_logs()
    from events import EventStore
    from events.database import make_engine
    from events.domain import registry
    from events.notes import Checkpoint, SigningKey, sign_checkpoint
    from publishers.proofcheck import check
    from publishers.stores import LocalDirectory
    from service.handlers import evidence
    from service.handlers.publishing import Publishing

    tmp = Path(tempfile.mkdtemp(prefix="policing-metrics-bench-proofs-"))
    record = new_record(tmp, runs=args.runs, workload={"measures": MEASURES, "paragraphs": PARAGRAPHS})
    rows = []
    try:
        build_log(tmp / "log.db")
        engine = make_engine(f"sqlite:///{tmp / 'log.db'}")
        clock = lambda: START + timedelta(hours=1)  # noqa: E731
        store = EventStore(engine, registry, clock=clock)
        key = SigningKey.generate("bench.example/log")
        publishing = Publishing(store, site_url="https://statements.example.org/", software_version="bench", clock=clock, signing_key=key)
        site = LocalDirectory(tmp / "site")
        publishing.publish(EDITION, to=site)
        directory = LocalDirectory(tmp / "site" / f"editions/{EDITION}/r1")
        import json

        document = json.loads(directory.get("edition.json"))
        size = document["checkpoint"]["size"]
        figures = [(f["measure"], f["area"], f["period"]) for f in document["figures"]]
        paragraphs = [p["number"] for p in document["paragraphs"]]
        kept = [("checkpoint", site.get(f"checkpoints/{size}").decode())]

        approval = document["approval"]
        content, frozen = approval["data"]["content"], approval["data"]["position"]

        def gather_approved():
            evidence.sources(store, frozen, figures, paragraphs, EDITION)
            evidence.gather_approved(store, size, content, approval["position"])

        quiet(args.wait_for_quiet, record, "gather")
        gather = timed(gather_approved, args.runs)
        rows.append(row(f"Evidence of {len(figures)} figures and {len(paragraphs)} paragraphs from their approval (added to publish)", gather, "ms", TARGET_GATHER_MS))
        first = timed(lambda: evidence.gather(store, frozen, figures, paragraphs, EDITION), args.runs)
        rows.append(row("The same in the first format (their events, each with its proof)", first, "ms", TARGET_GATHER_MS))
        root = store.tree_root(size)
        quiet(args.wait_for_quiet, record, "sign")
        sign = timed(lambda: sign_checkpoint(Checkpoint(key.name, size, root), key), args.runs * 10)
        rows.append(row("Sign a checkpoint (Ed25519)", sign, "ms", TARGET_SIGN_MS))
        quiet(args.wait_for_quiet, record, "check")

        def check_edition():
            report = check(directory, [key.verifier()], kept=kept)
            if report.problems:
                raise RuntimeError(report.problems[0])

        checked = timed(check_edition, args.runs)
        rows.append(row("proof check of the whole edition (no database)", checked, "ms", TARGET_CHECK_MS))
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for r in rows:
        log(f"{r['case']}: median {r['median']:.2f} {r['unit']}")
    record["rows"] = rows
    m = record["machine"]
    prose = (
        "`.venv/bin/python -m bench edition-proofs` records every run in `bench/results/edition-proofs.json`: the publishing "
        f"benchmark's edition ({MEASURES} measures, {PARAGRAPHS} paragraphs). Medians of {args.runs} runs "
        f"(signing: {args.runs * 10}). " + last_run(record)
        + f"; 1-minute load average {m['load_average_at_start'][0]:.2f} at the "
        "start (the machine shared with other work)."
    )
    text = section_text(README_HEADING, [prose], table(rows))
    return conclude("edition-proofs", record, table(rows), missed(rows), text, README_HEADING, write=args.write)


if __name__ == "__main__":
    sys.exit(main())
