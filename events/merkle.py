"""The log's Merkle tree (RFC 6962 / RFC 9162 §2.1): roots, inclusion and consistency proofs, their checks.

Pure: no I/O. docs/proofs.md states the same bytes for auditors; keep the two in step.

- The leaves are the log's events in position order: the leaf of position p is leaf index p - 1, and
  its data is the event's stored hash as 32 raw bytes (raw32 of the `hash` column, docs/hash-chain.md),
  so the chain and the tree commit to the same thing.
- leaf hash = SHA-256(0x00 ‖ leaf data); node hash = SHA-256(0x01 ‖ left ‖ right); the root of the
  empty tree is SHA-256 of nothing. The tree of n leaves splits at the largest power of two below n.
- A proof is a list of 32-byte hashes, ordered as RFC 9162 §2.1.3 / §2.1.4 produce them (from the
  leaf upwards), which is also the order Go's golang.org/x/mod/sumdb/tlog uses (RecordProof,
  TreeProof) and C2SP tlog-proof writes.

Stored hashes. A tree kept incrementally stores the hash of every complete subtree: level l, index k
covers leaves [k·2^l, (k+1)·2^l). Appending leaf i writes (0, i) and then, while the new node is a
right child, its parent. `stored_index(level, k)` numbers them in the order they are written (the
numbering Go's tlog.StoredHashIndex uses); the hashes of a tree of n leaves are numbers
0 … stored_count(n) - 1. Any hash a proof needs is a fold of at most 2·log2(n) of them
(`range_nodes`), so proofs read O(log² n) stored hashes and an append writes O(1) amortised.

Functions taking a `read` callback (`HashReader`) ask it for stored hashes by (level, index) and
work whatever holds them: a database table, a list in memory (`MemoryTree`), published tiles.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

try:  # CPython's own SHA-256: for inputs of 33 and 65 bytes about twice as fast as OpenSSL's, whose
    from _sha256 import sha256  # context each call sets up costs more than the hashing (3.11)
except ImportError:  # pragma: no cover - other Pythons and versions
    try:
        from _sha2 import sha256  # CPython 3.12 on
    except ImportError:
        from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof that does not prove what it claims, or asked for of sizes that do not allow it."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 ‖ data): the hash of one leaf."""
    return sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): the hash of an interior node."""
    return sha256(NODE_PREFIX + left + right).digest()


def event_leaf_hash(event_hash_hex: str) -> bytes:
    """The leaf hash of an event whose stored `hash` column is `event_hash_hex` (64 hex digits)."""
    data = bytes.fromhex(event_hash_hex)
    if len(data) != HASH_SIZE:
        raise ValueError(f"an event hash is 64 hex digits, found {event_hash_hex!r}")
    return leaf_hash(data)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2): where RFC 6962 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


# -- stored hashes ---------------------------------------------------------------------------


class Node(NamedTuple):
    """A complete subtree: `level` 0 is a leaf; it covers leaves [index·2^level, (index+1)·2^level)."""

    level: int
    index: int


def stored_count(size: int) -> int:
    """How many stored hashes a tree of `size` leaves has: one per complete subtree, Σ size >> l."""
    return 2 * size - size.bit_count()  # Σ_{l ≥ 0} ⌊size / 2^l⌋


def stored_index(level: int, index: int) -> int:
    """The number of node (level, index) in the order appends write stored hashes (from 0).

    The node is written right after its last leaf, k = (index + 1)·2^level − 1, whose own hash
    follows the stored_count(k) hashes of the tree before it; then come the `level` parents
    that leaf completes.
    """
    last_leaf = ((index + 1) << level) - 1
    return stored_count(last_leaf) + level


def split_stored_index(number: int) -> Node:
    """The node whose stored number is `number` (the inverse of `stored_index`)."""
    if number < 0:
        raise ValueError(f"stored hash numbers start at 0, found {number}")
    # The leaf k whose hash is written last at or before `number`: the largest k with stored_count(k) + 0 ≤ number.
    low, high = 0, number + 1  # stored_count(k) ≥ k, so k ≤ number
    while low < high:
        middle = (low + high + 1) // 2
        if stored_count(middle) <= number:
            low = middle
        else:
            high = middle - 1
    leaf = low
    level = number - stored_count(leaf)
    return Node(level, ((leaf + 1) >> level) - 1)


def range_nodes(lo: int, hi: int) -> list[Node]:
    """The complete subtrees that make up the leaves [lo, hi), left to right, largest first.

    The hash of [lo, hi) is their fold from the right (`fold`), for every range a tree or a proof
    uses: those start at a multiple of a power of two at least as large as the range.
    """
    if not 0 <= lo < hi:
        raise ValueError(f"a range of leaves needs 0 ≤ lo < hi, found [{lo}, {hi})")
    width = hi - lo
    if width & (width - 1) == 0 and lo % width == 0:  # one complete subtree: most ranges a proof names
        return [Node(width.bit_length() - 1, lo // width)]
    nodes = []
    while lo < hi:
        level = (lo & -lo).bit_length() - 1 if lo else (hi - lo).bit_length() - 1
        while (1 << level) > hi - lo:
            level -= 1
        nodes.append(Node(level, lo >> level))
        lo += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of consecutive complete subtrees, largest first: node(h0, node(h1, … node(hn-2, hn-1)))."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


class Appender:
    """Stored hashes for leaves appended one after another, with the right edge kept in memory.

    `append` returns the (node, hash) pairs to store, in stored order; `root` is the current root.
    """

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if len(frontier) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes, given {len(frontier)}")
        self.size = size
        self.frontier = list(frontier)

    def append(self, new_leaf_hash: bytes) -> list[tuple[Node, bytes]]:
        written = [(Node(0, self.size), new_leaf_hash)]
        current, index, level = new_leaf_hash, self.size, 0
        frontier = self.frontier
        while index & 1:
            current = node_hash(frontier.pop(), current)
            index >>= 1
            level += 1
            written.append((Node(level, index), current))
        frontier.append(current)
        self.size += 1
        return written

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[Node, bytes]]:
        written: list[tuple[Node, bytes]] = []
        for item in leaf_hashes:
            written.extend(self.append(item))
        return written

    def extend_levels(
        self, leaf_hashes: Sequence[bytes], keep: Callable[[int], bool] = lambda level: True
    ) -> list[tuple[Node, bytes]]:
        """`extend`, a level at a time (a batch's hashes are paired in list operations, not leaf by
        leaf); returns only the nodes of the levels `keep` accepts, by level, not in stored order."""
        written: list[tuple[Node, bytes]] = []
        size = self.size
        # The right edge by level: a tree of `size` leaves has a complete subtree at level l
        # for each 1 bit l of `size`, largest first in self.frontier.
        edge = {level: item for level, item in zip(
            (level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1), self.frontier)}
        hashes, start, level = list(leaf_hashes), size, 0
        while hashes:
            if keep(level):
                written.extend(zip(map(Node, [level] * len(hashes), range(start, start + len(hashes))), hashes))
            if start & 1:  # the first new node is a right child: its sibling is on the edge
                hashes.insert(0, edge.pop(level))
                start -= 1
            if len(hashes) & 1:
                edge[level] = hashes.pop()
            pairs = map(b"".join, zip([NODE_PREFIX] * (len(hashes) // 2), hashes[0::2], hashes[1::2]))
            hashes = [sha256(pair).digest() for pair in pairs]
            start >>= 1
            level += 1
        self.size = size + len(leaf_hashes)
        self.frontier = [edge[level] for level in sorted(edge, reverse=True)]
        return written

    @property
    def root(self) -> bytes:
        return fold(self.frontier)


# -- proofs from stored hashes ---------------------------------------------------------------

HashReader = Callable[[Sequence[Node]], Sequence[bytes]]
"""Returns the stored hashes of the nodes asked for, in the order asked."""


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size`
    leaves (RFC 9162 §2.1.3.1 PATH), from the leaf upwards."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form the consistency proof from a tree of `old_size` leaves to
    one of `new_size` (RFC 9162 §2.1.4.1 PROOF/SUBPROOF), in proof order.

    Empty when the sizes are equal or the old tree is empty: nothing needs proving.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from a tree of {old_size} leaves to one of {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, whole = 0, new_size, True  # SUBPROOF(m, D[lo:hi], whole)
    m = old_size
    while True:
        if m == hi - lo:
            if not whole:
                ranges.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    ranges.reverse()
    return ranges


def _hashes_of_ranges(ranges: Sequence[tuple[int, int]], read: HashReader) -> list[bytes]:
    """The hash of each range, reading every stored hash they need in one call of `read`."""
    parts = [range_nodes(lo, hi) for lo, hi in ranges]
    wanted = list(dict.fromkeys(node for nodes in parts for node in nodes))
    found = dict(zip(wanted, read(wanted)))
    return [fold([found[node] for node in nodes]) for nodes in parts]


def tree_root(size: int, read: HashReader) -> bytes:
    """The root of the tree of the first `size` leaves, from stored hashes."""
    if size == 0:
        return EMPTY_ROOT
    return _hashes_of_ranges([(0, size)], read)[0]


def inclusion_proof(index: int, size: int, read: HashReader) -> list[bytes]:
    """The proof that leaf `index` is in the tree of `size` leaves, from stored hashes."""
    return _hashes_of_ranges(inclusion_ranges(index, size), read)


def consistency_proof(old_size: int, new_size: int, read: HashReader) -> list[bytes]:
    """The proof that the tree of `new_size` leaves extends the tree of `old_size`, from stored hashes."""
    return _hashes_of_ranges(consistency_ranges(old_size, new_size), read)


class MemoryTree:
    """A whole tree in memory, from its leaf hashes: proofs for a few thousand leaves without a database."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._appender = Appender()
        self._stored: list[bytes] = []
        self.extend(leaf_hashes)

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        self._stored.extend(item for _node, item in self._appender.extend(leaf_hashes))

    @property
    def size(self) -> int:
        return self._appender.size

    def read(self, nodes: Sequence[Node]) -> list[bytes]:
        return [self._stored[stored_index(*node)] for node in nodes]

    def stored(self) -> Iterator[tuple[Node, bytes]]:
        for number, item in enumerate(self._stored):
            yield split_stored_index(number), item

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.size if size is None else self._check_size(size), self.read)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else self._check_size(size), self.read)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self.size if new_size is None else self._check_size(new_size), self.read)

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= self.size:
            raise ProofError(f"the tree has {self.size} leaves, not {size}")
        return size


# -- checking proofs (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from leaf hash `leaf` at `index` in a tree of `size` leaves.

    RFC 9162 §2.1.3.2; ProofError if the proof's length cannot belong to that index and size.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    _check_hash(leaf, "the leaf hash")
    fn, sn, r = index, size - 1, bytes(leaf)
    for number, p in enumerate(proof):
        _check_hash(p, f"proof hash {number}")
        if sn == 0:
            raise ProofError(f"the proof has {len(proof)} hashes, more than leaf {index} of {size} needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the proof has {len(proof)} hashes, fewer than leaf {index} of {size} needs")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves with `root`."""
    _check_hash(root, "the root")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"the proof of leaf {index} does not lead to the root of the tree of {size} leaves")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless `proof` shows the tree (`new_size`, `new_root`) extends (`old_size`, `old_root`).

    RFC 9162 §2.1.4.2 for 0 < old_size < new_size. Equal sizes need an empty proof and equal
    roots; every tree extends the empty one (its root SHA-256 of nothing), with an empty proof.
    """
    _check_hash(old_root, "the old root")
    _check_hash(new_root, "the new root")
    for number, p in enumerate(proof):
        _check_hash(p, f"proof hash {number}")
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of {new_size} leaves cannot extend one of {old_size}")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise ProofError(f"a consistency proof from size {old_size} to {new_size} is empty, this one has {len(proof)} hashes")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("the old root is not the root of the empty tree")
        if old_size == new_size and old_root != new_root:
            raise ProofError(f"two trees of {old_size} leaves with different roots: the log was rewritten (a fork)")
        return
    if not proof:
        raise ProofError(f"the consistency proof from size {old_size} to {new_size} is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old tree is a node of the new one
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"the consistency proof has more hashes than sizes {old_size} to {new_size} need")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the consistency proof has fewer hashes than sizes {old_size} to {new_size} need")
    if fr != old_root:
        raise ProofError(f"the consistency proof does not lead to the old root (size {old_size}): the log was rewritten")
    if sr != new_root:
        raise ProofError(f"the consistency proof does not lead to the new root (size {new_size})")
