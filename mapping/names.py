"""Company-name keys: the same firm written by two systems must give the same key. Pure, no I/O."""

import re
from functools import lru_cache

import jellyfish

from mapping.normalize import CACHED, clean_text, strip_accents

# Legal forms, written as their dot-less, lower-case tokens (so "S.p.A." and "spa" are one form).
# Multi-token forms come first so "sp z o o" wins over "o".
_LEGAL_FORMS = (
    "sp z o o", "sp zoo", "sa rl", "spolka z oo", "s de rl", "s de rl de cv", "sa de cv", "pty ltd", "pte ltd",
    "pvt ltd", "private limited", "public limited company", "limited liability company", "co ltd",
    "kabushiki kaisha", "godo kaisha", "yugen kaisha", "gmbh co kg", "gmbh und co kg", "ag co kg",
    "incorporated", "corporation", "company", "limited", "inc", "corp", "co", "llc", "llp", "lp", "ltd",
    "plc", "gmbh", "ag", "kg", "ohg", "ug", "ev", "nv", "bv", "vof", "cv", "sa", "sas", "sasu", "sarl",
    "eurl", "sca", "snc", "spa", "srl", "sapa", "scarl", "sl", "slu", "sll", "lda", "ltda", "sprl", "bvba",
    "pty", "pte", "pvt", "kk", "yk", "oy", "oyj", "ab", "as", "asa", "aps", "ehf", "hf", "kft", "zrt",
    "nyrt", "sro", "doo", "dd", "ad", "ood", "eood", "sp z oo", "spzoo", "ou", "uab", "sia", "bhd",
    "sdn bhd", "tbk", "jsc", "ojsc", "pjsc", "ooo", "zao", "oao", "gk", "fzco", "fze", "fz llc", "wll",
)
# Forms by their last token, longest first: only those ending in a name's last word can end the name.
_FORMS_BY_LAST: dict[str, list[tuple[str, ...]]] = {}
for _form in sorted({tuple(form.split()) for form in _LEGAL_FORMS}, key=len, reverse=True):
    _FORMS_BY_LAST.setdefault(_form[-1], []).append(_form)
_AND = re.compile(r"\s*(&|\+)\s*|\b(und|et)\b")
# Dots and apostrophes inside abbreviations join letters ("N.V." -> nv, "O'Brien" -> obrien).
_JOINERS = re.compile("[.'\u2019]")
_NON_WORD = re.compile(r"[^0-9a-z ]+")
_SPACES = re.compile(r"\s+")
_LEADING_THE = ("the",)


def _tokens(value: object) -> list[str]:
    text = clean_text(value)
    if text is None:
        return []
    text = strip_accents(text).lower().replace("ß", "ss")
    text = _AND.sub(" and ", text)
    text = _JOINERS.sub("", text)
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip().split()


def _strip_forms(tokens: list[str]) -> list[str]:
    """Drop trailing legal forms and joining "and"s, repeatedly ("Müller & Söhne GmbH & Co. KG" -> muller and sohne)."""
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        if tokens[-1] == "and":
            tokens = tokens[:-1]
            changed = True
            continue
        for form in _FORMS_BY_LAST.get(tokens[-1], ()):
            n = len(form)
            if len(tokens) > n and tuple(tokens[-n:]) == form:
                tokens = tokens[:-n]
                changed = True
                break
    return tokens


def name_key(value: object) -> str | None:
    """The comparable core of a company name: lower case, no accents, punctuation, legal form or "the".

    "The Acme Company, Inc." and "ACME Co" both give `acme`; `&` and "and" are the same word. Memoised,
    like the keys below: dedup compares a popular name's partners again and again.
    """
    text = clean_text(value)
    return None if text is None else _name_key(text)


@lru_cache(maxsize=CACHED)
def _name_key(text: str) -> str | None:
    tokens = _strip_forms(_tokens(text))
    if len(tokens) > 1 and tokens[0] in _LEADING_THE:
        tokens = tokens[1:]
    return " ".join(tokens) or None


@lru_cache(maxsize=CACHED)
def phonetic_key(key: str | None) -> str | None:
    """Metaphone of the name key's words (spaces removed), so "Acme Sytems" and "Akme Systems" meet.

    A word of digits stays as it is (Metaphone would drop it): "Route 66" and "Route 9" are different firms.
    """
    if not key:
        return None
    code = "".join(word if word.isdigit() else jellyfish.metaphone(word) for word in key.split() if word != "and")
    return code[:64] or None


# Street types are written every which way ("Ave", "Avenue", none at all) and say little: dropped at the end.
_STREET_TYPES = frozenset({
    "st", "street", "ave", "av", "avenue", "rd", "road", "blvd", "boulevard", "dr", "drive", "ln", "lane", "pl",
    "place", "ct", "court", "ter", "terrace", "pkwy", "parkway", "hwy", "highway", "sq", "square",
})
_DIRECTIONS = {"north": "n", "south": "s", "east": "e", "west": "w"}


def street_key(value: object) -> str | None:
    """The comparable form of a street address: "10 South Main Street" and "10 S. MAIN" give `10 s main`.

    Directions become one letter, one trailing street type goes, and German "-strasse" is "-str".
    """
    text = clean_text(value)
    return None if text is None else _street_key(text)


@lru_cache(maxsize=CACHED)
def _street_key(text: str) -> str | None:
    tokens = [_DIRECTIONS.get(word, word) for word in _tokens(text)]
    tokens = [word[:-4] if word.endswith("strasse") else word for word in tokens]
    if len(tokens) > 1 and tokens[-1] in _STREET_TYPES:
        tokens.pop()  # one only: "1 Court St" is on Court
    return " ".join(tokens) or None


def digits(value: object) -> str | None:
    """Digits only (tax ids compared without country prefix, dots or dashes)."""
    text = clean_text(value)
    if text is None:
        return None
    return re.sub(r"\D", "", text) or None
