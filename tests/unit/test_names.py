"""Name keys, phonetic keys and pair scores on hand-made cases, including the false-positive traps."""

import pytest

from config.program import Dedup
from mapping import normalize
from mapping.names import digits, name_key, phonetic_key, street_key
from sync.blocking import cluster
from sync.matching import Match, keys, score

RULES = Dedup()


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Acme Inc", "acme"), ("Acme, Inc.", "acme"), ("ACME Incorporated", "acme"), ("Acme Corp.", "acme"),
        ("Acme Corporation", "acme"), ("Acme LLC", "acme"), ("Acme L.L.C.", "acme"), ("Acme Ltd", "acme"),
        ("Acme Limited", "acme"), ("Acme PLC", "acme"), ("Acme GmbH", "acme"), ("Acme AG", "acme"),
        ("Acme GmbH & Co. KG", "acme"), ("Acme N.V.", "acme"), ("Acme B.V.", "acme"), ("Acme BV", "acme"),
        ("Acme S.A.", "acme"), ("Acme SA", "acme"), ("Acme SARL", "acme"), ("Acme S.à r.l.", "acme"),
        ("Acme S.p.A.", "acme"), ("Acme Srl", "acme"), ("Acme S.r.l.", "acme"), ("Acme Pty Ltd", "acme"),
        ("Acme Pty. Ltd.", "acme"), ("Acme K.K.", "acme"), ("Acme KK", "acme"), ("Acme Oy", "acme"),
        ("Acme Oyj", "acme"), ("Acme AB", "acme"), ("Acme AS", "acme"), ("Acme ASA", "acme"), ("Acme SAS", "acme"),
        ("Acme Sp. z o.o.", "acme"), ("Acme S.L.", "acme"), ("Acme Ltda", "acme"), ("Acme Co., Ltd.", "acme"),
        ("Acme Pte. Ltd.", "acme"), ("Acme s.r.o.", "acme"), ("Acme Kft.", "acme"), ("Acme Sdn Bhd", "acme"),
        ("Acme ApS", "acme"), ("Acme LLP", "acme"), ("Acme OOO", "acme"), ("Acme d.o.o.", "acme"),
        ("The Acme Company", "acme"), ("  the   ACME  co ", "acme"),
        ("Müller & Söhne GmbH", "muller and sohne"), ("Muller and Sohne", "muller and sohne"),
        ("Smith + Jones Ltd", "smith and jones"), ("Dupont et Fils SARL", "dupont and fils"),
        ("Société Générale S.A.", "societe generale"), ("Straße AG", "strasse"),
        ("O'Brien's Bar Ltd", "obriens bar"), ("A.B.C. Holdings Inc.", "abc holdings"),
        ("Inc", "inc"), ("The", "the"), ("Ltd Ltd", "ltd"), ("", None), (None, None), ("  ", None),
    ],
)
def test_name_key(raw: str | None, key: str | None) -> None:
    assert name_key(raw) == key


def test_suffix_only_at_the_end() -> None:
    assert name_key("AG Barr plc") == "ag barr"
    assert name_key("Inc Publishing Corp") == "inc publishing"


def test_street_key_drops_what_is_written_every_which_way() -> None:
    assert street_key("3401 W Ainslie St") == street_key("3401 WEST AINSLIE") == "3401 w ainslie"
    assert street_key("10 South Main Street.") == street_key("10 S. Main") == "10 s main"
    assert street_key("Hauptstraße 5") == street_key("Hauptstr. 5") == "hauptstr 5"
    assert street_key("1 Court St") == "1 court" and street_key("Avenue") == "avenue" and street_key("") is None
    assert street_key("1900 W Van Buren St") != street_key("1912 W Van Buren St")


def test_phonetic_key_meets_spelling_variants() -> None:
    assert phonetic_key(name_key("Acme Systems")) == phonetic_key(name_key("Akme Sistems"))
    assert phonetic_key("muller and sohne") == phonetic_key("muller sohne")
    assert phonetic_key(None) is None and phonetic_key("") is None
    assert phonetic_key("route 66 diner") == phonetic_key("rute 66 dinner") != phonetic_key("route 9 diner")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("https://www.shop.acme.co.uk/about", "acme.co.uk"), ("sales@mail.acme.com", "acme.com"),
     ("ACME.COM", "acme.com"), ("http://acme.com.au", "acme.com.au"), ("not a site", None), (None, None)],
)
def test_domain(raw: str | None, expected: str | None) -> None:
    assert normalize.domain(raw) == expected


def test_phone_and_tax_id() -> None:
    assert normalize.phone("(415) 555-0100") == "+14155550100"
    assert normalize.phone("030 1234567", "DE") == "+49301234567"
    assert normalize.phone("+44 20 7946 0958") == "+442079460958"
    assert normalize.phone("call me") is None
    assert digits("DE 123.456-789") == "123456789" and digits("n/a") is None


def _pair(a: dict[str, str], b: dict[str, str]) -> Match:
    return score(keys("a", a), keys("b", b))


def test_true_duplicates_score_above_auto_merge() -> None:
    base = {"name": "Acme Systems Inc", "website": "https://www.acme.com", "phone": "+1 415 555 0100",
            "country": "US", "city": "San Francisco"}
    variant = {"name": "ACME Sytems, LLC", "email": "info@acme.com", "phone": "(415) 555-0100", "country": "USA"}
    match = _pair(base, variant)
    assert match.score >= RULES.auto_merge
    assert match.reasons["domain"] == "same" and match.reasons["phone"] == "same" and match.reasons["name"] > 0.9
    assert _pair({"name": "Foo GmbH", "tax_id": "DE123456789"}, {"name": "Foo AG", "tax_id": "123 456 789"}).score \
        >= RULES.auto_merge


def test_same_name_in_two_countries_is_not_a_duplicate() -> None:
    match = _pair({"name": "Acme Ltd", "country": "GB"}, {"name": "Acme Inc", "country": "US"})
    assert match.score < RULES.review and match.reasons["country"] == "different"


def test_franchise_locations_are_not_merged() -> None:
    denver = {"name": "Mr. Rooter Plumbing", "website": "mrrooter.com", "phone": "+1 303 555 0101",
              "city": "Denver", "postal_code": "80202", "country": "US"}
    boston = {"name": "Mr Rooter Plumbing", "website": "mrrooter.com", "phone": "+1 617 555 0102",
              "city": "Boston", "postal_code": "02108", "country": "US"}
    assert _pair(denver, boston).score < RULES.auto_merge


def test_common_words_do_not_make_a_match() -> None:
    for other in ("Beta Solutions", "Acme Solutions Group", "Gamma Global Solutions"):
        pair = _pair({"name": "Delta Solutions", "country": "US"}, {"name": other, "country": "US"})
        assert pair.score < RULES.review, other


def test_free_mail_domains_are_ignored() -> None:
    assert keys("x", {"email": "bob@gmail.com"}).domain is None
    match = _pair({"name": "Acme", "email": "a@gmail.com"}, {"name": "Zenith", "email": "b@gmail.com"})
    assert "domain" not in match.reasons and match.score < RULES.review


def test_clusters_are_transitive_and_singletons_stay_alone() -> None:
    records = [
        keys("1", {"name": "Acme Inc", "website": "acme.com", "country": "US"}),
        keys("2", {"name": "Acme LLC", "website": "www.acme.com", "phone": "+14155550100", "country": "US"}),
        keys("3", {"name": "ACME Corp", "phone": "415-555-0100", "country": "US"}),
        keys("4", {"name": "Zenith GmbH", "country": "DE"}),
        keys("5", {}),
    ]
    found = list(cluster(records, RULES.auto_merge))
    assert [(m.id, m.cluster_id, m.first) for m in found] == [
        ("1", "1", True), ("2", "1", False), ("3", "1", False), ("4", "4", True), ("5", "5", True)]
