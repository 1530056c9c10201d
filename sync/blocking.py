"""Clustering any number of records in flat memory: keys and blocks wait on disk, sorted, one block at a time.

The records' keys go to a scratch SQLite file with one row per (blocking key, record). An index sorts the
blocks; they are then read back one at a time with their members' keys, so memory holds one block (a
sliding window for big ones) and a union-find of 4 bytes per record, never all the keys.
"""

import sqlite3
import tempfile
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import fields
from pathlib import Path
from typing import NamedTuple

from sync.matching import Keys, score

MAX_BLOCK = 60  # larger blocks are compared within a sliding window over their sorted name keys
WINDOW = 8
KINDS = "dtpnf"  # blocking key kinds (domain, tax id, phone, name + country, phonetic), in the order pairs go
_BATCH = 5_000
_COLUMNS = tuple(f.name for f in fields(Keys))  # the order of the records table's columns after `no`
_SCHEMA = """
CREATE TABLE records (no INTEGER PRIMARY KEY, id TEXT, name TEXT, core TEXT, phonetic TEXT, domain TEXT,
                      phone TEXT, tax TEXT, street TEXT, city TEXT, postal TEXT, country TEXT);
CREATE TABLE blocks (block TEXT, name TEXT, no INTEGER);
"""
# Blocks of two or more, each block's members in name order (the sliding window of a big block needs it).
_MEMBERS = """
SELECT m.block, m.size, r.* FROM multi m JOIN blocks b ON b.block = m.block JOIN records r ON r.no = b.no
ORDER BY m.block, b.name, b.no
"""


class Forest:
    """Union-find over record numbers in one flat array; a cluster's root is its smallest (first) record."""

    def __init__(self, size: int) -> None:
        self.parent = array("i", range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]  # path halving
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _block_keys(record: Keys) -> dict[str, str]:
    """kind -> blocking key (kind-prefixed, so a phone never meets a tax id)."""
    return {kind: f"{kind}|{value}" for kind, value in record.blocks()}


def _store(db: sqlite3.Connection, records: Iterable[Keys]) -> int:
    """Write every record and its blocking keys; returns how many records there were."""
    count = 0
    rows: list[tuple[object, ...]] = []
    blocks: list[tuple[str, str, int]] = []
    for count, record in enumerate(records, 1):
        rows.append((count - 1, *(getattr(record, name) for name in _COLUMNS)))
        blocks.extend((block, record.name or "", count - 1) for block in _block_keys(record).values())
        if len(rows) >= _BATCH:
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO blocks VALUES (?, ?, ?)", blocks)
            rows, blocks = [], []
    db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO blocks VALUES (?, ?, ?)", blocks)
    db.execute("CREATE INDEX blocks_sorted ON blocks (block, name, no)")
    db.execute("CREATE TABLE multi AS SELECT block, count(*) AS size FROM blocks GROUP BY block HAVING size > 1")
    return count


def _designated(block: str, x: dict[str, str], y: dict[str, str], big: set[str]) -> bool:
    """Whether `block` is where this pair is compared: its first shared small block, else any shared big one.

    So a pair sharing a domain and a name is scored once, not once per block.
    """
    for kind in KINDS:
        shared = x.get(kind)
        if shared is None or shared != y.get(kind) or shared in big:
            continue
        return shared == block
    return True


def _members(db: sqlite3.Connection) -> Iterator[tuple[str, int, int, Keys]]:
    """(block, block size, record number, keys) for each member of each block of two or more."""
    for block, size, no, *values in db.execute(_MEMBERS):
        yield block, size, no, Keys(*values)


def _pairs(db: sqlite3.Connection, big: set[str]) -> Iterator[tuple[int, Keys, int, Keys]]:
    """Each candidate pair once: all pairs of a small block, a sliding window over a big one."""
    current: str | None = None
    window: deque[tuple[int, Keys, dict[str, str]]] = deque()
    for block, size, no, record in _members(db):
        if block != current:
            current = block
            window = deque(maxlen=WINDOW - 1 if size > MAX_BLOCK else None)
        mine = _block_keys(record)
        for other_no, other, theirs in window:
            if _designated(block, mine, theirs, big):
                yield other_no, other, no, record
        window.append((no, record, mine))


class Member(NamedTuple):
    id: str
    cluster_id: str  # the id of the cluster's first record
    first: bool  # this record is its cluster's first


def cluster(records: Iterable[Keys], threshold: float) -> Iterator[Member]:
    """Each record's cluster, in input order (all records are read before the first is placed).

    Pairs scoring at or above `threshold` join their clusters (transitively); a pair already in one cluster
    is not scored again.
    """
    with tempfile.TemporaryDirectory(prefix="partnersync-dedupe-") as scratch, \
            closing(sqlite3.connect(Path(scratch) / "blocks.db")) as db:
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;"
                         "PRAGMA cache_size = -4000;" + _SCHEMA)
        forest = Forest(_store(db, records))
        big = {block for (block,) in db.execute("SELECT block FROM multi WHERE size > ?", (MAX_BLOCK,))}
        for a, x, b, y in _pairs(db, big):
            if forest.find(a) != forest.find(b) and score(x, y).score >= threshold:
                forest.union(a, b)
        lookup = db.cursor()
        for no, record_id in db.execute("SELECT no, id FROM records ORDER BY no"):
            root = forest.find(no)
            if root == no:
                yield Member(record_id, record_id, True)
            else:
                yield Member(record_id, lookup.execute("SELECT id FROM records WHERE no = ?", (root,)).fetchone()[0],
                             False)
