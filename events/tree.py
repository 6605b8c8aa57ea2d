"""The log's Merkle tree kept in the database, beside the events, caught up before anything reads it.

Table `tree_hashes` (id, hash): the hash of every complete subtree at levels 4, 8, 12, … (a subtree
of 16, 256, 4096, … leaves), `id` being its number in events.merkle.stored_index (Go's tlog
numbering). Level 0 is not stored: a leaf's hash is SHA-256(0x00 ‖ raw32(events.hash)), read from
the events table; the levels between are folded from at most 8 hashes of the level below them that
is stored (or of the events). So the table holds one row per 16 events, and any hash a proof needs
costs at most 8 reads.

Appends write events only. Hashing each event's leaf and interior nodes in the append cost a
batched append a tenth to a fifth of its time (two SHA-256 per event beside the chain's one), so the
table is brought up to the log's head by `catch_up`, under the append lock, before anything reads
it: the store's tree_head, tree_root, proofs and verify call it whenever the table does not yet
cover the size they read (events/store.py). The table is derived from the events alone, so a crash
between an append and its catch-up loses nothing: the next reader hashes those events. A catch-up
writes all it adds in one transaction, whose commit need not reach the disk (dialect.begin_derived:
one lost is redone), and resumes from the table's own last row (`covered`).

Everything here works on a DB-API cursor inside the caller's transaction: `catch_up` extends the
table to the head; `rebuild` recomputes the table from the events; `TreeChecker` compares it with
the events (`verify`).

What the store offers on top (events/store.py; positions are 1-based, leaf index = position - 1,
a tree of size n covers positions 1 … n, every size up to the head's position stays available):

    store.tree_head() -> (size, root)                  the whole log now: what a checkpoint signs
    store.tree_root(size) -> bytes                     the root of the first `size` events
    store.inclusion_proof(position, size) -> [bytes]   RFC 9162 inclusion proof of leaf position - 1
    store.inclusion_proofs(positions, size) -> {position: [bytes]}   many at once, one read
    store.consistency_proof(old_size, new_size) -> [bytes]           RFC 9162 consistency proof
    store.catch_up_tree() -> size                      extend this table to the head (readers do it first)
    store.rebuild_tree() -> size                       recompute this table from the events

Proofs are checked with events.merkle.verify_inclusion / verify_consistency, the leaf hash of an
event with events.merkle.event_leaf_hash(event.hash); sizes the log has not reached, and positions
outside the tree, raise events.merkle.ProofError.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Iterator, Sequence

from .chain import Breach
from .errors import EventStoreError
from .merkle import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    Appender,
    HashReader,
    Node,
    consistency_proof,
    consistency_ranges,
    fold,
    inclusion_ranges,
    node_hash,
    sha256,
    range_nodes,
    split_stored_index,
    stored_count,
    stored_index,
)

LEVEL_STEP = 4  # the stored levels: 4, 8, 12, …
TILE = 1 << LEVEL_STEP  # base hashes a stored level's node folds from, at most
TABLE = "tree_hashes"
IN_CHUNK = 500  # ids or positions per `IN (...)`, well inside both engines' limits on parameters
_STORED_HASH = re.compile(r"[0-9a-f]{64}")  # what an append stores; anything else is damage verify names


def _rows(cursor, sql: str, params: Sequence) -> list[tuple]:
    """The rows of a read in `cursor`'s transaction, through a cursor of its own.

    In psycopg's pipeline mode (appends on PostgreSQL) a result reaches the cursor that sent its
    query whenever the server answers: an INSERT sent just before on the same cursor could land after
    this read was sent, and `fetchall` then found the INSERT's result ("the last operation didn't
    produce records"), a failed append seen under load."""
    reader = cursor.connection.cursor()
    try:
        reader.execute(sql, params)
        return reader.fetchall()
    finally:
        reader.close()


def is_stored(level: int) -> bool:
    return level > 0 and level % LEVEL_STEP == 0


class TreeBreach(Breach):
    """A place where the stored tree is not the tree of the log (the chain itself is sound)."""


class DamagedLog(EventStoreError):
    """An event's stored hash is not one an append writes: no tree can be built over it."""


class TreeMissing(EventStoreError):
    """The tree table lacks hashes the log needs: it was never built, or rows were removed."""



def leaf_hashes_of(hexes: Iterable[str]) -> list[bytes]:
    """The leaf hashes of events whose stored hashes (hex) are `hexes`."""
    return [sha256(LEAF_PREFIX + bytes.fromhex(item)).digest() for item in hexes]


def _sound_prefix(rows: Sequence[tuple]) -> int:
    """How many of `rows` ((position, hash), …), from the first, have a hash as appends store it."""
    for index, row in enumerate(rows):
        if not (isinstance(row[1], str) and _STORED_HASH.fullmatch(row[1])):
            return index
    return len(rows)


class StoredTree:
    """The tree's reads and writes for one database; `sql` turns `?` placeholders into the driver's."""

    def __init__(self, sql: Callable[[str], str]) -> None:
        self._sql = sql
        self._insert = sql(f"INSERT INTO {TABLE} (id, hash) VALUES (?, ?)")
        self._delete = f"DELETE FROM {TABLE}"
        self._max_id = f"SELECT max(id) FROM {TABLE}"
        self._head = "SELECT max(position) FROM events"
        self._rows_between = sql(f"SELECT id, hash FROM {TABLE} WHERE id >= ? AND id <= ? ORDER BY id")
        self._rows_beyond = sql(
            f"SELECT min(id) FROM {TABLE} WHERE id > ? AND NOT EXISTS (SELECT 1 FROM events WHERE position > ?)"
        )
        self._events_between = sql("SELECT position, hash FROM events WHERE position >= ? AND position <= ? ORDER BY position")

    # -- reading ----------------------------------------------------------------------------

    def reader(self, cursor) -> HashReader:
        """Reads any complete subtree's hash, from stored hashes and event hashes (a few queries for all)."""

        def read(nodes: Sequence[Node]) -> list[bytes]:
            # A node at level l is folded from the 2^(l - b) hashes below it at base level b = l - l % 4
            # (the events for b = 0): all within one tile of 16 base hashes. Each tile is read and
            # folded once, however many of the nodes asked for lie in it (an edition's proofs share many).
            tiles: dict[tuple[int, int], int] = {}  # (base level, tile) -> base hashes needed from its start
            for level, index in nodes:
                depth = level % LEVEL_STEP
                first = index << depth
                key = (level - depth, first >> LEVEL_STEP)
                needed = (first & (TILE - 1)) + (1 << depth)
                if tiles.get(key, 0) < needed:
                    tiles[key] = needed
            positions = [(tile << LEVEL_STEP) + offset + 1 for (base, tile), count in tiles.items() if base == 0
                         for offset in range(count)]
            ids_of = {key: [stored_index(key[0], (key[1] << LEVEL_STEP) + offset) for offset in range(count)]
                      for key, count in tiles.items() if key[0]}
            ids = [number for numbers in ids_of.values() for number in numbers]
            leaves = self._fetch(cursor, "SELECT position, hash FROM events WHERE position IN ", positions)
            stored = self._fetch(cursor, f"SELECT id, hash FROM {TABLE} WHERE id IN ", ids)
            if len(leaves) < len(positions):
                missing = min(set(positions).difference(leaves))
                raise EventStoreError(f"the log has no event at position {missing}")
            if len(stored) < len(ids):
                level, index = split_stored_index(min(set(ids).difference(stored)))
                raise TreeMissing(
                    f"the tree lacks the hash of positions {(index << level) + 1} to {(index + 1) << level} "
                    f"(level {level}): run `policing-metrics tree rebuild`"
                )
            leaf_of = dict(zip(leaves, leaf_hashes_of(leaves.values())))
            folded: dict[tuple[int, int], list[list[bytes]]] = {}
            for (base, tile), count in tiles.items():
                start = tile << LEVEL_STEP
                if base == 0:
                    row = [leaf_of[start + offset + 1] for offset in range(count)]
                else:
                    row = [bytes(stored[number]) for number in ids_of[(base, tile)]]
                levels = [row]
                while len(row) > 1:
                    row = list(map(node_hash, row[0::2], row[1::2]))
                    levels.append(row)
                folded[(base, tile)] = levels
            result = []
            for level, index in nodes:
                depth = level % LEVEL_STEP
                tile = (index << depth) >> LEVEL_STEP
                result.append(folded[(level - depth, tile)][depth][index - (tile << (LEVEL_STEP - depth))])
            return result

        return read

    def _fetch(self, cursor, select: str, keys: list[int]) -> dict:
        found: dict = {}
        for start in range(0, len(keys), IN_CHUNK):
            chunk = keys[start : start + IN_CHUNK]
            found.update(_rows(cursor, self._sql(select + "(" + ", ".join("?" * len(chunk)) + ")"), chunk))
        return found

    def root(self, cursor, size: int) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        return fold(self.reader(cursor)(range_nodes(0, size)))

    def inclusion_proofs(self, cursor, indexes: Sequence[int], size: int) -> list[list[bytes]]:
        """The inclusion proof of each leaf index in the tree of `size` leaves, reading once for all."""
        per_leaf = [inclusion_ranges(index, size) for index in indexes]
        parts = {span: range_nodes(*span) for ranges in per_leaf for span in ranges}
        wanted = list(dict.fromkeys(node for nodes in parts.values() for node in nodes))
        found = dict(zip(wanted, self.reader(cursor)(wanted)))
        span_hash = {span: fold([found[node] for node in nodes]) for span, nodes in parts.items()}
        return [[span_hash[span] for span in ranges] for ranges in per_leaf]

    def consistency_proof(self, cursor, old_size: int, new_size: int) -> list[bytes]:
        consistency_ranges(old_size, new_size)  # refuses impossible sizes before reading
        return consistency_proof(old_size, new_size, self.reader(cursor))

    # -- writing ----------------------------------------------------------------------------

    def covered(self, cursor) -> int:
        """How many events the stored hashes cover: the last leaf of the last subtree stored, plus one
        (a multiple of 16; 0 for an empty table). Catching up extends the table from there."""
        ((last,),) = _rows(cursor, self._max_id, ())
        if last is None:
            return 0
        level, index = split_stored_index(last)
        return (index + 1) << level

    def covers(self, cursor, size: int) -> bool:
        """Whether the table holds every stored hash a tree of `size` events needs (proofs, roots)."""
        return self.covered(cursor) >= size - size % TILE

    def catch_up(self, cursor, batch_size: int = 5000, repair: bool = True) -> int:
        """Extend the table to the log's head in the caller's transaction, under its append lock;
        returns the number of events the tree then covers (the head's position).

        Appends write no tree hashes: the table covers `covered` events, and the events after them
        are hashed here, in batches, from their stored hashes. The right edge at a multiple of 16
        is all stored hashes, so one read of at most log2(n) of them resumes the tree. A table that
        lacks a hash of that edge (built before this software kept a tree, or rows removed), or holds
        one beyond the log, is recomputed from the events, unless `repair` is False (verify: it
        reports the damage instead, and this returns the head's position, changing nothing).
        """
        covered = self.covered(cursor)
        ((head,),) = _rows(cursor, self._head, ())
        head = head or 0
        try:
            if covered % TILE or covered > head:  # a row no append could have written: beyond the log
                raise TreeMissing(f"the tree holds hashes beyond the log's {head} events")
            frontier = self.reader(cursor)(range_nodes(0, covered)) if covered else []
        except TreeMissing:
            if not repair:
                return head
            return self.rebuild(cursor, batch_size=batch_size).size
        appender = Appender(covered, frontier)
        for rows in self._event_batches(cursor, covered + 1, None, batch_size):
            sound = _sound_prefix(rows)
            self._extend(cursor, appender, rows[:sound])
            if sound < len(rows):  # a stored hash no append wrote: the tree stops before it, verify names it
                break
        return appender.size

    def rebuild(self, cursor, size: int | None = None, batch_size: int = 5000) -> Appender:
        """Recompute the whole table from the events (up to position `size`, else all) in the caller's transaction."""
        cursor.execute(self._delete)
        appender = Appender()
        for rows in self._event_batches(cursor, 1, size, batch_size):
            sound = _sound_prefix(rows)
            if sound < len(rows):
                raise DamagedLog(f"position {rows[sound][0]}'s stored hash is not 64 hexadecimal digits: `policing-metrics verify` names the damage")
            self._extend(cursor, appender, rows)
        return appender

    def _extend(self, cursor, appender: Appender, rows: Sequence[tuple]) -> None:
        """Store the tree hashes that the events of `rows` ((position, hash), following the appender's
        size) complete."""
        written = appender.extend_levels(leaf_hashes_of(row[1] for row in rows), keep=is_stored)
        if written:
            cursor.executemany(self._insert, [(stored_index(*node), item) for node, item in written])

    def _event_batches(self, cursor, first: int, last: int | None, batch_size: int) -> Iterator[list[tuple]]:
        position = first
        bound = (1 << 62) if last is None else last
        while position <= bound:
            rows = _rows(cursor, self._events_between, (position, min(bound, position + batch_size - 1)))
            if not rows:
                return
            yield rows
            position = rows[-1][0] + 1

    # -- checking ---------------------------------------------------------------------------

    def checker(self) -> "TreeChecker":
        return TreeChecker(self)


class TreeChecker:
    """Compares the stored tree with the events fed in position order (verify feeds it as it walks the chain).

    `breach` names the first stored hash that is missing, wrong or surplus; None while all agree.
    """

    def __init__(self, tree: StoredTree) -> None:
        self._tree = tree
        self._appender = Appender()
        self._checked_id = -1  # every stored id up to this one has been compared
        self.breach: Breach | None = None

    def feed(self, cursor, event_hashes: Sequence[str]) -> Breach | None:
        if self.breach is not None or not event_hashes:
            return self.breach
        written = self._appender.extend_levels(leaf_hashes_of(event_hashes), keep=is_stored)
        expected = sorted((stored_index(*node), node, item) for node, item in written)
        # Everything stored up to the last hash these events complete must be exactly the expected ones.
        last_id = stored_count(self._appender.size) - 1
        cursor.execute(self._tree._rows_between, (self._checked_id + 1, last_id))
        stored = {number: bytes(item) for number, item in cursor.fetchall()}
        for number, node, item in expected:
            found = stored.pop(number, None)
            if found != item:
                first, last = (node.index << node.level) + 1, (node.index + 1) << node.level
                self.breach = TreeBreach(first, (
                    f"the Merkle tree's hash of positions {first} to {last} (level {node.level}) is "
                    f"{'missing' if found is None else found.hex()}, the events give {item.hex()}: "
                    "`policing-metrics tree rebuild` recomputes the tree from the log"
                ))
                return self.breach
        if stored:
            self.breach = self._surplus(min(stored))
            return self.breach
        self._checked_id = last_id
        return None

    def finish(self, cursor) -> Breach | None:
        """After the last events fed: nothing may be stored beyond what they complete, unless the log
        has grown since (one statement, so an append committing meanwhile is seen whole or not at all)."""
        if self.breach is None:
            cursor.execute(self._tree._rows_beyond, (self._checked_id, self._appender.size))
            row = cursor.fetchone()
            if row is not None and row[0] is not None:
                self.breach = self._surplus(row[0])
        return self.breach

    def _surplus(self, number: int) -> TreeBreach:
        level, index = split_stored_index(number)
        first, last = (index << level) + 1, (index + 1) << level
        return TreeBreach(first, (
            f"the Merkle tree holds a hash of positions {first} to {last} (level {level}) that the log "
            f"({self._appender.size} events checked) does not have: `policing-metrics tree rebuild` recomputes it"
        ))
