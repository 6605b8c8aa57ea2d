"""The stored Merkle tree, on SQLite and PostgreSQL: appends leave it behind and every reader catches it up with the
log first, its roots and proofs are RFC 6962's over the log, verify finds any change to it, and it is rebuilt from
the log on demand."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from events import EventStore
from events.database import alembic_config, make_engine, upgrade
from events.merkle import EMPTY_ROOT, MemoryTree, ProofError, event_leaf_hash, verify_consistency, verify_inclusion
from events.transfer import copy_log
from events.errors import EventStoreError
from events.tree import LEVEL_STEP, TABLE, DamagedLog

from .conftest import bypass_triggers
from .support import counted
from .support import registry as test_registry


def leaves(store: EventStore) -> list[bytes]:
    return [event_leaf_hash(event.hash) for event in store.read_all()]


def stored_rows(engine) -> dict[int, bytes]:
    with engine.connect() as connection:
        return {number: bytes(item) for number, item in connection.execute(text(f"SELECT id, hash FROM {TABLE}"))}


def expected_rows(store: EventStore) -> dict[int, bytes]:
    from events.merkle import stored_index

    return {
        stored_index(*node): item
        for node, item in MemoryTree(leaves(store)).stored()
        if node.level and node.level % LEVEL_STEP == 0
    }


def fill(store: EventStore, counts: list[int]) -> None:
    """Appends of these many events each, over a few streams, single and batched."""
    for number, count in enumerate(counts):
        store.append(f"s-{number % 3}", [counted(count=i) for i in range(count)], expected_version=None)


def test_appends_write_no_tree_hashes_and_the_first_read_brings_the_tree_to_the_head(store, engine):
    fill(store, [1, 1, 3, 1, 15, 1, 16, 40, 1, 1, 2, 100])
    assert stored_rows(engine) == {}
    size, root = store.tree_head()
    assert size == store.head().position == 182
    assert root == MemoryTree(leaves(store)).root()
    assert stored_rows(engine) == expected_rows(store)
    assert len(stored_rows(engine)) == 182 // 16  # level 4: 11 subtrees of 16 events; none of 256 yet
    assert store.verify().ok


# Each reader of the tree, and what it must answer for a log of 70 events (from a MemoryTree of its leaves).
READERS = {
    "tree_head": (lambda store: store.tree_head(), lambda tree: (70, tree.root())),
    "tree_root": (lambda store: store.tree_root(70), lambda tree: tree.root(70)),
    "inclusion_proofs": (lambda store: store.inclusion_proofs([1, 40, 70], 70),
                         lambda tree: {p: tree.inclusion_proof(p - 1, 70) for p in (1, 40, 70)}),
    "consistency_proof": (lambda store: store.consistency_proof(20, 70), lambda tree: tree.consistency_proof(20, 70)),
    "verify": (lambda store: store.verify().ok, lambda tree: True),
}


@pytest.mark.parametrize("reader", READERS)
def test_every_reader_catches_the_tree_up_with_the_log_before_reading_it(store, engine, reader):
    fill(store, [40])
    store.tree_head()  # the tree caught up to 40 events: two subtrees of 16 stored
    fill(store, [30])  # positions 41 to 70, appended after: their two subtrees of 16 are not stored yet
    assert len(stored_rows(engine)) == 2
    read, expected = READERS[reader]
    assert read(store) == expected(MemoryTree(leaves(store)))
    assert stored_rows(engine) == expected_rows(store) and len(stored_rows(engine)) == 4


def test_a_read_of_a_size_the_stored_tree_covers_writes_nothing(store, engine, monkeypatch):
    fill(store, [40])
    store.tree_head()
    fill(store, [30])
    monkeypatch.setattr(store, "catch_up_tree", lambda: pytest.fail("caught up for a size already covered"))
    assert store.tree_root(35) == MemoryTree(leaves(store)).root(35)  # needs subtrees up to position 32 only
    assert len(stored_rows(engine)) == 2


def test_a_log_appended_by_a_process_that_stopped_before_any_read_has_its_tree_at_the_next_read(database_url, clock):
    first = make_engine(database_url)
    try:
        upgrade(first)
        fill(EventStore(first, test_registry, clock=clock), [33, 1, 50])  # then the process stops: no catch-up ran
    finally:
        first.dispose()
    second = make_engine(database_url)
    try:
        store = EventStore(second, test_registry, clock=clock)
        assert stored_rows(second) == {}
        assert store.tree_head() == (84, MemoryTree(leaves(store)).root())
        assert stored_rows(second) == expected_rows(store) and store.verify().ok
    finally:
        second.dispose()


def test_roots_and_proofs_at_every_earlier_size_verify_against_the_log(store):
    fill(store, [5, 1, 30, 1, 7])
    tree = MemoryTree(leaves(store))
    assert store.tree_root(0) == EMPTY_ROOT
    for size in (1, 2, 5, 6, 16, 17, 32, 36, 37, 44):
        root = store.tree_root(size)
        assert root == tree.root(size)
        proofs = store.inclusion_proofs(range(1, size + 1), size)
        for position, proof in proofs.items():
            verify_inclusion(position - 1, size, tree.read([(0, position - 1)])[0], proof, root)
        for old in (1, 3, 16, size):
            if old <= size:
                verify_consistency(old, size, store.tree_root(old), root, store.consistency_proof(old, size))
    assert store.inclusion_proof(37, 44) == tree.inclusion_proof(36, 44)


def test_proofs_for_a_size_the_log_has_not_reached_or_a_position_outside_it_are_refused(store):
    fill(store, [3])
    with pytest.raises(ProofError, match="3 events, not 4"):
        store.tree_root(4)
    with pytest.raises(ProofError, match="position 4"):
        store.inclusion_proof(4, 3)
    with pytest.raises(ProofError, match="position 0"):
        store.inclusion_proof(0, 3)
    with pytest.raises(ProofError):
        store.consistency_proof(3, 2)


def test_appends_and_reads_by_two_writers_in_turn_keep_one_tree(engine, store, clock):
    other = EventStore(engine, test_registry, clock=clock)
    for round_ in range(20):
        (store if round_ % 2 else other).append("s", [counted(count=i) for i in range(round_ % 5 + 1)], expected_version=None)
        if round_ % 3 == 0:  # each catches up from where the other's catch-up left the table
            assert (other if round_ % 2 else store).tree_head()[1] == MemoryTree(leaves(store)).root()
    assert store.tree_head()[1] == other.tree_head()[1] == MemoryTree(leaves(store)).root()
    assert stored_rows(engine) == expected_rows(store)


def test_readers_catching_up_while_another_writer_appends_each_see_the_tree_of_the_log_they_read(engine, store, clock):
    import threading

    readers = [EventStore(engine, test_registry, clock=clock) for _ in range(2)]
    seen: list[tuple[int, bytes, dict]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def read(reader: EventStore) -> None:
        try:
            while not done.is_set():
                size, root = reader.tree_head()
                if size:
                    seen.append((size, root, reader.inclusion_proofs([1, size], size)))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=read, args=(reader,)) for reader in readers]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(40):
            store.append(f"s-{round_ % 3}", [counted(count=i) for i in range(round_ % 17 + 1)], expected_version=None)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not failures
    tree = MemoryTree(leaves(store))
    assert seen and all(root == tree.root(size) for size, root, _ in seen)
    assert all(proofs == {1: tree.inclusion_proof(0, size), size: tree.inclusion_proof(size - 1, size)}
               for size, _, proofs in seen)
    assert store.tree_head() == (tree.size, tree.root())
    assert stored_rows(engine) == expected_rows(store) and store.verify().ok


def test_a_reader_catching_up_holds_no_connection_while_it_takes_another(database_url, store, clock):
    # As many readers at once as the pool has connections (here one): each held its connection while the
    # catch-up waited for another, so every one waited until the pool's timeout and failed (TimeoutError).
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=2)
    reader = EventStore(engine, test_registry, clock=clock)
    try:
        reads = [
            lambda: reader.tree_head()[1],
            lambda: reader.tree_root(store.head().position),
            lambda: reader.inclusion_proofs([1], store.head().position)[1],
            lambda: reader.consistency_proof(1, store.head().position),
        ]
        for round_, read in enumerate(reads):
            store.append(f"s-{round_}", [counted(count=i) for i in range(17)], expected_version=None)
            tree = MemoryTree(leaves(store))
            expected = [tree.root(), tree.root(), tree.inclusion_proof(0, tree.size), tree.consistency_proof(1, tree.size)]
            assert read() == expected[round_]
        assert stored_rows(engine) == expected_rows(store)
    finally:
        engine.dispose()


def test_a_catch_up_that_fails_before_its_commit_writes_nothing_and_the_next_read_does_it(store, engine, monkeypatch):
    fill(store, [15, 20])
    original = store.tree.catch_up

    def fail_after_writing(cursor, **options):
        original(cursor, **options)
        raise RuntimeError("the connection dropped before the commit")

    monkeypatch.setattr(store.tree, "catch_up", fail_after_writing)
    with pytest.raises(RuntimeError):
        store.tree_head()
    monkeypatch.undo()
    assert store.head().position == 35 and stored_rows(engine) == {}
    assert store.tree_head() == (35, MemoryTree(leaves(store)).root())
    assert stored_rows(engine) == expected_rows(store) and len(stored_rows(engine)) == 2
    assert store.verify().ok


@pytest.mark.parametrize("fails", [False, True], ids=["committed", "failed"])
def test_a_catch_up_hands_its_connection_back_with_durable_commits(store, monkeypatch, fails):
    # The catch-up's own commit skips the wait for the disk (it writes only what the events give
    # again); the pooled connection it used must not go on committing so for whoever takes it next.
    fill(store, [20])
    used = []
    end_derived, catch_up = store.dialect.end_derived, store.tree.catch_up

    def ended(cursor):
        end_derived(cursor)
        used.append(cursor.connection)

    def failing(cursor, **options):
        catch_up(cursor, **options)
        raise RuntimeError("the connection dropped before the commit")

    monkeypatch.setattr(store.dialect, "end_derived", ended)
    if fails:
        monkeypatch.setattr(store.tree, "catch_up", failing)
        with pytest.raises(RuntimeError):
            store.catch_up_tree()
    else:
        assert store.catch_up_tree() == 20
    (driver,) = used
    cursor = driver.cursor()
    cursor.execute("PRAGMA synchronous" if store.dialect.name == "sqlite" else "SHOW synchronous_commit")
    assert cursor.fetchone()[0] in (2, "on")  # SQLite's FULL; PostgreSQL's on
    cursor.close()
    driver.rollback()


@pytest.mark.parametrize("tamper", ["change", "delete", "add"])
def test_verify_names_a_changed_missing_or_surplus_tree_hash_and_rebuild_restores_the_tree(store, engine, tamper):
    fill(store, [40, 30])
    store.tree_head()
    with engine.begin() as connection:
        if tamper == "change":
            connection.execute(text(f"UPDATE {TABLE} SET hash = :h WHERE id = (SELECT min(id) FROM {TABLE})"), {"h": b"\x00" * 32})
        elif tamper == "delete":  # not the last: a table lacking its last rows is one not caught up yet
            connection.execute(text(f"DELETE FROM {TABLE} WHERE id = (SELECT min(id) FROM {TABLE})"))
        else:
            connection.execute(text(f"INSERT INTO {TABLE} (id, hash) VALUES (999999, :h)"), {"h": b"\x01" * 32})
    report = store.verify()
    assert not report.ok
    assert "Merkle tree" in report.breach.problem and "tree rebuild" in report.breach.problem
    assert store.rebuild_tree() == 70
    assert store.verify().ok and stored_rows(engine) == expected_rows(store)


def test_a_tree_missing_a_hash_its_catch_up_resumes_from_is_rebuilt_by_the_next_read(store, engine, clock):
    fill(store, [40])
    store.tree_head()
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {TABLE} WHERE id = (SELECT min(id) FROM {TABLE})"))
    fill(store, [30])
    fresh = EventStore(engine, test_registry, clock=clock)
    assert fresh.tree_head() == (70, MemoryTree(leaves(store)).root())
    assert stored_rows(engine) == expected_rows(store)
    assert fresh.verify().ok


def test_a_stored_hash_no_append_wrote_stops_the_tree_before_it_and_verify_names_its_position(store, engine):
    """The tree is built from the events' stored hashes after their append: one altered into something
    that is not a hash is the chain's damage to report, never a crash of the catch-up."""
    fill(store, [40])
    store.tree_head()
    fill(store, [30])  # positions 41-70: not in the tree yet
    bypass_triggers(engine, "UPDATE events SET hash = ? WHERE position = ?", ("z" * 64, 50))
    report = store.verify()
    assert not report.ok and report.breach.position == 50
    with pytest.raises(DamagedLog, match="position 50's stored hash is not 64 hexadecimal digits"):
        store.rebuild_tree()
    with pytest.raises(EventStoreError):  # no proof over damage: the tree stops at 48, the last whole tile before it
        store.tree_head()


def test_upgrading_a_log_written_before_the_tree_builds_its_tree(database_url, clock):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        store = EventStore(engine, test_registry, clock=clock)
        fill(store, [20, 1, 300])
        expected = expected_rows(store)
        command.downgrade(alembic_config(engine), "0005")  # the schema before the tree: no tree_hashes
        upgrade(engine)
        assert stored_rows(engine) == expected
        assert EventStore(engine, test_registry, clock=clock).verify().ok
    finally:
        engine.dispose()


def test_a_copied_log_has_the_same_tree(store, engine, tmp_path, clock):
    fill(store, [33, 1, 50])
    target_engine = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        upgrade(target_engine)
        target = EventStore(target_engine, test_registry, clock=clock)
        copy_log(store, target, batch_size=20)
        assert stored_rows(target_engine) == stored_rows(engine)
        assert target.tree_head() == store.tree_head()
    finally:
        target_engine.dispose()
