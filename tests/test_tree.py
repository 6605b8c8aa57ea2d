"""The stored Merkle tree, on SQLite and PostgreSQL: every append writes it in its own transaction, its roots and
proofs are RFC 6962's over the log, verify finds any change to it, and it is rebuilt from the log on demand."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from events import EventStore
from events.database import alembic_config, make_engine, upgrade
from events.merkle import EMPTY_ROOT, MemoryTree, ProofError, event_leaf_hash, verify_consistency, verify_inclusion
from events.transfer import copy_log
from events.tree import LEVEL_STEP, TABLE

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


def test_every_append_leaves_the_tree_of_the_whole_log_stored(store, engine):
    fill(store, [1, 1, 3, 1, 15, 1, 16, 40, 1, 1, 2, 100])
    size, root = store.tree_head()
    assert size == store.head().position == 182
    assert root == MemoryTree(leaves(store)).root()
    assert stored_rows(engine) == expected_rows(store)
    assert len(stored_rows(engine)) == 182 // 16  # level 4: 11 subtrees of 16 events; none of 256 yet
    assert store.verify().ok


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


def test_appends_by_two_writers_in_turn_keep_one_tree(engine, store, clock):
    other = EventStore(engine, test_registry, clock=clock)
    for round_ in range(20):
        (store if round_ % 2 else other).append("s", [counted(count=i) for i in range(round_ % 5 + 1)], expected_version=None)
    assert stored_rows(engine) == expected_rows(store)
    assert store.tree_head()[1] == other.tree_head()[1] == MemoryTree(leaves(store)).root()


def test_an_append_that_fails_after_writing_leaves_neither_its_events_nor_their_tree_hashes(store, engine, monkeypatch):
    fill(store, [15])

    def fail(cursor, position):
        raise RuntimeError("the connection dropped before the commit")

    monkeypatch.setattr(store.dialect, "notify", fail)
    with pytest.raises(RuntimeError):
        store.append("s", [counted(count=1)], expected_version=None)  # the 16th event completes a stored subtree
    monkeypatch.undo()
    assert store.head().position == 15 and stored_rows(engine) == {}
    store.append("s", [counted(count=2)], expected_version=None)
    assert stored_rows(engine) == expected_rows(store) and len(stored_rows(engine)) == 1
    assert store.verify().ok


@pytest.mark.parametrize("tamper", ["change", "delete", "add"])
def test_verify_names_a_changed_missing_or_surplus_tree_hash_and_rebuild_restores_the_tree(store, engine, tamper):
    fill(store, [40, 30])
    with engine.begin() as connection:
        if tamper == "change":
            connection.execute(text(f"UPDATE {TABLE} SET hash = :h WHERE id = (SELECT min(id) FROM {TABLE})"), {"h": b"\x00" * 32})
        elif tamper == "delete":
            connection.execute(text(f"DELETE FROM {TABLE} WHERE id = (SELECT max(id) FROM {TABLE})"))
        else:
            connection.execute(text(f"INSERT INTO {TABLE} (id, hash) VALUES (999999, :h)"), {"h": b"\x01" * 32})
    report = store.verify()
    assert not report.ok
    assert "Merkle tree" in report.breach.problem and "tree rebuild" in report.breach.problem
    assert store.rebuild_tree() == 70
    assert store.verify().ok and stored_rows(engine) == expected_rows(store)


def test_a_tree_missing_its_hashes_is_rebuilt_by_the_next_append(store, engine, clock):
    fill(store, [40])
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {TABLE}"))
    fresh = EventStore(engine, test_registry, clock=clock)  # knows nothing of the tree's edge
    fresh.append("s", [counted(count=1)], expected_version=None)
    assert stored_rows(engine) == expected_rows(store)
    assert fresh.verify().ok


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
