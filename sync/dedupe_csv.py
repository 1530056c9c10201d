"""Standalone dedup of any CSV a spreadsheet writes: no database, one cluster id per input row.

Encodings: UTF-8 (with or without BOM), UTF-16 (BOM or not), else Windows-1252. Delimiters: comma,
semicolon, tab or pipe, sniffed from the first lines.
"""

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from sync.blocking import cluster
from sync.matching import FIELDS, Keys, keys

SAMPLE = 64 * 1024
Progress = Callable[[int], None]


class CsvError(ValueError):
    """Bad input the user can fix: the message names the file, column or field."""


@dataclass(frozen=True)
class Result:
    rows: int
    clusters: int


def parse_fields(specs: list[str]) -> dict[str, str]:
    """`name=Company` pairs -> {field: column}; unknown fields are refused by name."""
    mapping: dict[str, str] = {}
    for spec in specs:
        field, sep, column = spec.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not column:
            raise CsvError(f"--field {spec!r}: expected FIELD=COLUMN")
        if field not in FIELDS:
            raise CsvError(f"--field {spec!r}: unknown field {field!r}; expected one of {', '.join(FIELDS)}")
        mapping[field] = column
    if not mapping:
        raise CsvError("--field: give at least one FIELD=COLUMN (e.g. --field name=Company)")
    return mapping


def detect_encoding(head: bytes) -> str:
    """The encoding of a file from its first bytes: BOMs first, then UTF-8 if it decodes, else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4:
        return "utf-16-le"
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4:
        return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _delimiter(sample: str) -> str:
    """Only the delimiter is sniffed: spreadsheets always quote with `"` and double it inside fields."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_rows(path: Path, id_column: str, fields: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """(id, {field: value}) per data row; a missing column stops before any row with its name."""
    try:
        with path.open("rb") as raw:
            head = raw.read(SAMPLE)
    except OSError as exc:
        raise CsvError(f"{path}: cannot read ({exc.strerror})") from None
    encoding = detect_encoding(head)
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(SAMPLE)
        handle.seek(0)
        cut = sample.rfind("\n")
        reader = csv.reader(handle, delimiter=_delimiter(sample[:cut] if cut > 0 else sample))
        header = [column.strip() for column in next(reader, [])]
        if not header:
            raise CsvError(f"{path}: empty file, expected a header row")
        index = {column: i for i, column in enumerate(header)}
        for option, column in [("--id-column", id_column), *((f"--field {f}", c) for f, c in fields.items())]:
            if column not in index:
                raise CsvError(f"{path}: {option}: no column {column!r}; columns are {', '.join(header)}")
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            cells = {f: row[index[c]] if index[c] < len(row) else "" for f, c in fields.items()}
            yield (row[index[id_column]] if index[id_column] < len(row) else ""), cells


def dedupe(path: Path, out: Path, id_column: str, fields: dict[str, str], threshold: float,
           progress: Progress | None = None) -> Result:
    """Cluster the rows of `path` and write `id,cluster_id` (cluster id = id of its first row) to `out`.

    Rows stream through `sync.blocking.cluster`, so memory stays flat however long the file is.
    """

    def prepared() -> Iterator[Keys]:
        for number, (row_id, values) in enumerate(read_rows(path, id_column, fields)):
            yield keys(row_id, values)
            if progress is not None:
                progress(number + 1)

    placed = cluster(prepared(), threshold)
    head = next(placed, None)  # the whole input is read (and a bad column refused) before OUT is touched
    rows = clusters = 0
    try:
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "cluster_id"])
            for member in chain([head], placed) if head is not None else ():
                writer.writerow([member.id, member.cluster_id])
                rows += 1
                clusters += member.first
    except OSError as exc:
        raise CsvError(f"{out}: cannot write ({exc.strerror})") from None
    return Result(rows=rows, clusters=clusters)
