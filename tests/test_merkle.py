"""The Merkle tree: its roots and proofs equal RFC 6962's definitions and reference vectors; checks refuse any change."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.merkle import (
    EMPTY_ROOT,
    Appender,
    MemoryTree,
    Node,
    ProofError,
    event_leaf_hash,
    leaf_hash,
    node_hash,
    range_nodes,
    root_from_inclusion_proof,
    split_stored_index,
    stored_count,
    stored_index,
    verify_consistency,
    verify_inclusion,
)

# -- RFC 6962 §2.1, transcribed literally: the definition the fast code must equal ---------------


def naive_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf data."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(leaves[:k]) + naive_root(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return naive_path(m, leaves[:k]) + [naive_root(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [naive_root(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if whole else [naive_root(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return naive_subproof(m, leaves[:k], whole) + [naive_root(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [naive_root(leaves[:k])]


def tree_of(leaves: list[bytes]) -> MemoryTree:
    return MemoryTree(map(leaf_hash, leaves))


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


# -- reference vectors (RFC 6962's test data, as the Certificate Transparency implementations use it) --

RFC_LEAVES = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                         "606162636465666768696a6b6c6d6e6f")]
RFC_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, proof)
RFC_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
# (old size, new size, proof)
RFC_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]


def test_roots_of_the_reference_leaves_are_the_rfc_6962_reference_roots():
    tree = tree_of(RFC_LEAVES)
    assert [tree.root(size).hex() for size in range(9)] == RFC_ROOTS
    assert EMPTY_ROOT.hex() == RFC_ROOTS[0]


@pytest.mark.parametrize(("index", "size", "expected"), RFC_INCLUSION)
def test_inclusion_proofs_of_the_reference_leaves_are_the_reference_proofs(index, size, expected):
    tree = tree_of(RFC_LEAVES)
    assert [h.hex() for h in tree.inclusion_proof(index, size)] == expected
    verify_inclusion(index, size, leaf_hash(RFC_LEAVES[index]), [bytes.fromhex(h) for h in expected],
                     bytes.fromhex(RFC_ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "expected"), RFC_CONSISTENCY)
def test_consistency_proofs_of_the_reference_leaves_are_the_reference_proofs(old, new, expected):
    tree = tree_of(RFC_LEAVES)
    assert [h.hex() for h in tree.consistency_proof(old, new)] == expected
    verify_consistency(old, new, bytes.fromhex(RFC_ROOTS[old]), bytes.fromhex(RFC_ROOTS[new]),
                       [bytes.fromhex(h) for h in expected])


# -- the fast code equals the definition ------------------------------------------------------


@settings(deadline=None)  # a loaded machine is no failure
@given(leaf_lists)
def test_every_root_equals_the_recursive_definition(leaves):
    tree = tree_of(leaves)
    for size in range(len(leaves) + 1):
        assert tree.root(size) == naive_root(leaves[:size])


@settings(deadline=None)  # a loaded machine is no failure
@given(leaf_lists, st.data())
def test_inclusion_proofs_equal_the_recursive_path_and_verify(leaves, data):
    tree = tree_of(leaves)
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    assert proof == naive_path(index, leaves[:size])
    verify_inclusion(index, size, leaf_hash(leaves[index]), proof, naive_root(leaves[:size]))


@settings(deadline=None)  # a loaded machine is no failure
@given(leaf_lists, st.data())
def test_consistency_proofs_equal_the_recursive_subproof_and_verify(leaves, data):
    tree = tree_of(leaves)
    new = data.draw(st.integers(1, len(leaves)))
    old = data.draw(st.integers(1, new))
    proof = tree.consistency_proof(old, new)
    assert proof == (naive_subproof(old, leaves[:new], True) if old < new else [])
    verify_consistency(old, new, naive_root(leaves[:old]), naive_root(leaves[:new]), proof)


@settings(deadline=None)  # a loaded machine is no failure
@given(st.integers(0, 5000))
def test_stored_numbers_run_in_append_order_and_invert(size):
    appender = Appender()
    written = [node for node, _hash in appender.extend(leaf_hash(b"%d" % i) for i in range(size % 300))]
    assert [stored_index(*node) for node in written] == list(range(stored_count(size % 300)))
    assert split_stored_index(stored_index(3, size)) == Node(3, size)
    assert split_stored_index(size) == split_stored_index(size)  # defined for every number
    assert stored_index(*split_stored_index(size)) == size


def test_stored_numbers_are_gos_tlog_numbering():
    # tlog.StoredHashIndex(0, n) for n = 0..7, and a few higher levels, as its package documents them.
    assert [stored_index(0, n) for n in range(8)] == [0, 1, 3, 4, 7, 8, 10, 11]
    assert stored_index(1, 0) == 2 and stored_index(2, 0) == 6 and stored_index(3, 0) == 14
    assert [stored_count(n) for n in (0, 1, 2, 3, 4, 8)] == [0, 1, 3, 4, 7, 15]


@settings(deadline=None)  # a loaded machine is no failure
@given(st.integers(0, 2**40), st.integers(1, 2**40))
def test_range_nodes_cover_the_range_exactly_with_complete_aligned_subtrees(lo, length):
    hi = lo + length
    nodes = range_nodes(lo, hi)
    start = lo
    for level, index in nodes:
        assert index << level == start
        start += 1 << level
    assert start == hi
    assert len(nodes) <= 2 * hi.bit_length()


def test_an_appender_restarted_from_its_frontier_writes_what_one_that_never_stopped_writes():
    hashes = [leaf_hash(bytes([i])) for i in range(45)]
    whole = Appender()
    first = whole.extend(hashes[:29])
    rest = whole.extend(hashes[29:])
    resumed = Appender(29, MemoryTree(hashes[:29]).read(range_nodes(0, 29)))
    assert resumed.extend(hashes[29:]) == rest
    assert resumed.root == whole.root == naive_root([bytes([i]) for i in range(45)])
    assert len(first) == stored_count(29)
    with pytest.raises(ValueError):
        Appender(29, [])


def test_an_events_leaf_is_its_stored_hash_as_32_bytes_under_the_leaf_prefix():
    digest = "9961bfaa7d6a0d5daba40201e00aea2ae12af037527ac12b2c8e6e532ca631a6"
    assert event_leaf_hash(digest) == hashlib.sha256(b"\x00" + bytes.fromhex(digest)).digest()
    with pytest.raises(ValueError):
        event_leaf_hash("ab" * 31)


# -- the checks refuse what is not a proof ----------------------------------------------------


def flipped(proof: list[bytes], at: int) -> list[bytes]:
    changed = list(proof)
    changed[at] = bytes([changed[at][0] ^ 8]) + changed[at][1:]
    return changed


@settings(deadline=None)  # a loaded machine is no failure
@given(st.lists(st.binary(max_size=4), min_size=2, max_size=40), st.data())
def test_an_inclusion_proof_fails_for_any_other_leaf_index_size_root_or_changed_hash(leaves, data):
    tree = tree_of(leaves)
    size = data.draw(st.integers(2, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    proof, root, leaf = tree.inclusion_proof(index, size), tree.root(size), leaf_hash(leaves[index])
    other_leaf = leaf_hash(leaves[index] + b"!")
    wrong = [
        (index, size, other_leaf, proof, root),
        (index, size, leaf, proof, tree.root(size - 1)),
        (index, size, leaf, proof + [root], root),
        (index, size, leaf, [root] + proof, root),
        (index, size, leaf, proof[:-1], root),
        (index, size * 2, leaf, proof, root),
        *[(index, size, leaf, flipped(proof, at), root) for at in range(len(proof))],
    ]
    if index + 1 < size and leaves[index + 1] != leaves[index]:
        wrong.append((index + 1, size, leaf, proof, root))
    if index > 0 and leaves[index - 1] != leaves[index]:
        wrong.append((index - 1, size, leaf, proof, root))
    for case in wrong:
        with pytest.raises(ProofError):
            verify_inclusion(*case)


@settings(deadline=None)  # a loaded machine is no failure
@given(st.lists(st.binary(max_size=4), min_size=3, max_size=40), st.data())
def test_a_consistency_proof_fails_for_other_sizes_roots_or_any_changed_hash(leaves, data):
    leaves = [b"%d:" % i + leaf for i, leaf in enumerate(leaves)]  # distinct, so no two subtrees collide
    tree = tree_of(leaves)
    new = data.draw(st.integers(2, len(leaves)))
    old = data.draw(st.integers(1, new - 1))
    proof = tree.consistency_proof(old, new)
    old_root, new_root = tree.root(old), tree.root(new)
    forked = tree_of(leaves[: old - 1] + [b"rewritten"] + leaves[old:])
    wrong = [
        (old, new, forked.root(old), new_root, proof),
        (old, new, old_root, forked.root(new), proof),
        (old, new, new_root, old_root, proof),
        (old, new, old_root, new_root, []),
        (old, new, old_root, new_root, proof + [old_root]),
        (old, new, old_root, new_root, [old_root] + proof),
        (old, new, old_root, new_root, proof[:-1]),
        (old, new * 2, old_root, new_root, proof),
        (old + 1, new, old_root, new_root, proof),
        (new, old, new_root, old_root, proof),
        *[(old, new, old_root, new_root, flipped(proof, at)) for at in range(len(proof))],
    ]
    for case in wrong:
        with pytest.raises(ProofError):
            verify_consistency(*case)


def test_two_trees_of_one_size_with_different_roots_are_a_fork():
    with pytest.raises(ProofError, match="fork"):
        verify_consistency(3, 3, tree_of(RFC_LEAVES).root(3), tree_of(RFC_LEAVES[::-1]).root(3), [])
    verify_consistency(3, 3, tree_of(RFC_LEAVES).root(3), tree_of(RFC_LEAVES).root(3), [])
    verify_consistency(0, 5, EMPTY_ROOT, tree_of(RFC_LEAVES).root(5), [])


def test_proofs_are_refused_for_leaves_outside_the_tree_and_hashes_of_another_length():
    tree = tree_of(RFC_LEAVES)
    with pytest.raises(ProofError):
        tree.inclusion_proof(8, 8)
    with pytest.raises(ProofError):
        tree.consistency_proof(5, 4)
    with pytest.raises(ProofError):
        tree.root(9)
    with pytest.raises(ProofError):
        root_from_inclusion_proof(0, 0, leaf_hash(b""), [])
    with pytest.raises(ProofError):
        verify_inclusion(0, 2, leaf_hash(b""), [b"short"], tree.root(2))
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@settings(deadline=None)  # a loaded machine is no failure
@given(st.integers(0, 300), st.lists(st.integers(0, 40), max_size=6))
def test_extending_a_level_at_a_time_writes_what_appending_leaf_by_leaf_writes(start, batches):
    hashes = [leaf_hash(b"%d" % i) for i in range(start + sum(batches))]
    one_by_one, by_levels = Appender(), Appender()
    one_by_one.extend(hashes[:start])
    by_levels.extend_levels(hashes[:start])
    offset = start
    for count in batches:
        expected = one_by_one.extend(hashes[offset : offset + count])
        written = by_levels.extend_levels(hashes[offset : offset + count])
        assert sorted(written, key=lambda item: stored_index(*item[0])) == expected
        assert by_levels.extend_levels([], keep=lambda level: level % 4 == 0) == []
        assert (by_levels.size, by_levels.frontier) == (one_by_one.size, one_by_one.frontier)
        offset += count
    resumed = Appender(by_levels.size, by_levels.frontier)
    kept = resumed.extend_levels(hashes[:5], keep=lambda level: level >= 2)
    assert all(node.level >= 2 for node, _ in kept)
    assert resumed.root == MemoryTree([*hashes, *hashes[:5]]).root()
