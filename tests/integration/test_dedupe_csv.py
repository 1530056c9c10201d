"""`partnersync dedupe` as a user runs it: real process, files as spreadsheets write them, no database."""

import csv
from pathlib import Path

import pytest

from tests.integration.test_cli import run

ROWS = [
    ("id", "Company", "Web", "Phone", "Country"),
    ("1", "Müller Maschinenbau GmbH", "www.mueller-mb.de", "+49 30 1234567", "DE"),
    ("2", "MÜLLER MASCHINENBAU AG", "https://mueller-mb.de/kontakt", "030 1234567", "Germany"),
    ("3", "Société Générale S.A.", "societegenerale.fr", "", "FR"),
    ("4", "Societe Generale", "http://www.societegenerale.fr", "", "FR"),
    ("5", "Acme Solutions; Inc", "", "", "US"),
    ("6", "", "", "", ""),
    ("7", "Acme Solutions Ltd", "", "", "GB"),
    ("8", 'Foo "Bar", Ltd\nsecond line', "", "", "GB"),
]


def _write(path: Path, encoding: str, delimiter: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(ROWS)
    return path


def _clusters(out: Path) -> dict[str, str]:
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "cluster_id"]
    return {row[0]: row[1] for row in rows[1:]}


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("utf-16-le", ","), ("cp1252", ";"), ("latin-1", ","),
     ("utf-8", "\t")],
)
def test_dedupe_reads_what_spreadsheets_write(workdir: Path, encoding: str, delimiter: str) -> None:
    source = _write(workdir / "partners.csv", encoding, delimiter)
    out = workdir / "out.csv"
    result = run("dedupe", str(source), "--out", str(out), "--id-column", "id", "--field", "name=Company",
                 "--field", "website=Web", "--field", "phone=Phone", "--field", "country=Country", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "8 rows, 6 clusters" in result.stdout
    assert _clusters(out) == {"1": "1", "2": "1", "3": "3", "4": "3", "5": "5", "6": "6", "7": "7", "8": "8"}
    assert not (workdir / "partnersync.db").exists()


def test_bad_column_and_bad_field_exit_2_naming_them(workdir: Path) -> None:
    source = _write(workdir / "partners.csv", "utf-8", ",")
    out = str(workdir / "out.csv")
    bad = run("dedupe", str(source), "--out", out, "--id-column", "id", "--field", "name=Firm", cwd=workdir)
    assert bad.returncode == 2 and "--field name: no column 'Firm'" in bad.stderr and "Company" in bad.stderr
    bad_id = run("dedupe", str(source), "--out", out, "--id-column", "ID#", "--field", "name=Company", cwd=workdir)
    assert bad_id.returncode == 2 and "--id-column: no column 'ID#'" in bad_id.stderr
    unknown = run("dedupe", str(source), "--out", out, "--id-column", "id", "--field", "vat=Company", cwd=workdir)
    assert unknown.returncode == 2 and "unknown field 'vat'" in unknown.stderr
    missing = run("dedupe", "nope.csv", "--out", out, "--id-column", "id", "--field", "name=Company", cwd=workdir)
    assert missing.returncode == 2 and "nope.csv: no such file" in missing.stderr
    for result in (bad, bad_id, unknown, missing):
        assert "Traceback" not in result.stderr
    assert not Path(out).exists()


def test_threshold_lets_name_and_country_alone_cluster(workdir: Path) -> None:
    source = workdir / "names.csv"
    source.write_text('id,name,country\n1,"Acme, Inc.",US\n2,ACME Inc,United States\n3,Acme Ltd,GB\n', encoding="utf-8")
    out = workdir / "out.csv"
    args = ("dedupe", str(source), "--out", str(out), "--id-column", "id", "--field", "name=name",
            "--field", "country=country")
    assert run(*args, cwd=workdir).returncode == 0
    assert _clusters(out) == {"1": "1", "2": "2", "3": "3"}  # name + country alone: review, not merge
    assert run(*args, "--threshold", "0.8", cwd=workdir).returncode == 0
    assert _clusters(out) == {"1": "1", "2": "1", "3": "3"}  # never across countries


PUBLIC = Path(__file__).resolve().parent.parent / "data" / "chicago_early_learning_sites.csv"
# Same site written by two sources (the City portal and DFSS): different case, punctuation, "Ave" or not.
SAME_SITE = [("0", "1"), ("90", "91", "1410"), ("116", "117", "1411"), ("61", "62", "1412"), ("19", "20", "1395"),
             ("107", "1400"), ("145", "1401"), ("126", "1387"), ("125", "1394"), ("141", "1402")]
# Different sites of one agency: one switchboard phone for the agency's family homes, one name prefix.
DIFFERENT = [("1410", "1413", "1414", "1415"), ("1405", "1406", "1407"), ("0", "29"), ("1385", "1386", "1387")]


def test_a_public_file_we_did_not_make(workdir: Path) -> None:
    """A real extract of Chicago early-learning sites (see tests/data/README.md): quoted cells with newlines,
    33 columns, duplicates across sources. Known duplicates cluster; sister sites of one agency do not."""
    out = workdir / "out.csv"
    result = run("dedupe", str(PUBLIC), "--out", str(out), "--id-column", "Id", "--field", "name=Site name",
                 "--field", "street=Address", "--field", "postal_code=Zip", "--field", "phone=Phone",
                 "--field", "website=Website", "--field", "email=Email Address", cwd=workdir)
    assert result.returncode == 0, result.stderr
    with PUBLIC.open(encoding="utf-8", newline="") as handle:
        ids = [row["Id"] for row in csv.DictReader(handle)]
    with out.open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["id", "cluster_id"]
    assert [row[0] for row in written[1:]] == ids and len(ids) == 110  # one row per input row, in order
    found = _clusters(out)
    for same in SAME_SITE:
        assert len({found[i] for i in same}) == 1, same
    for different in DIFFERENT:
        assert len({found[i] for i in different}) == len(different), different
