"""Partner dedup quality and speed on generated records with known true clusters.

    python bench/dedup.py --records 100000      # default; CI uses e.g. --records 5000

Noise per copy: legal-form variants, case, typos, "&"/"and", missing fields, website/e-mail/phone format
variants. Reports precision, recall and F1 on pairs (at `auto_merge`), wall and CPU seconds (generating the
records not counted) and peak RSS of the whole run; the last line is `dedup_f1=<f1>`. Records stream through
`sync.blocking.cluster` and the scoring keeps flat arrays, so peak RSS should not grow with N.
"""

import argparse
import os
import random
import resource
import string
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faker import Faker

from config.program import Dedup
from sync.blocking import cluster
from sync.matching import Keys, keys

LOCALES = {"US": "en_US", "GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "NL": "nl_NL", "IT": "it_IT", "ES": "es_ES"}
FORMS = {"US": ["Inc", "Inc.", "LLC", "Corp", "Corporation", ""], "GB": ["Ltd", "Limited", "PLC", ""],
         "DE": ["GmbH", "AG", "GmbH & Co. KG", ""], "FR": ["SARL", "S.A.", "SAS", ""],
         "NL": ["B.V.", "N.V.", "BV", ""], "IT": ["S.p.A.", "Srl", "S.r.l.", ""], "ES": ["S.L.", "S.A.", ""]}
WORDS = ["Solutions", "Systems", "Labs", "Works", "Partners", "Digital", "Consulting", "Networks", "Analytics",
         "Logistics", "Foods", "Energy", "Robotics", "Health", "Media", "Security", "Cloud", "Data", "Group"]


def typo(text: str, rng: random.Random) -> str:
    """One edit (drop, swap, replace) away from `text`, never in the first letter."""
    if len(text) < 5:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1:]
    if kind == 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1:]


def entities(count: int, seed: int) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    fakers = {c: Faker(loc) for c, loc in LOCALES.items()}
    for f in fakers.values():
        f.seed_instance(seed)
    for n in range(count):
        country = rng.choice(list(LOCALES))
        fake = fakers[country]
        stem = f"{fake.last_name()} {rng.choice(WORDS)}" if rng.random() < 0.7 else fake.last_name()
        slug = "".join(ch for ch in stem.lower() if ch.isalnum())
        yield {
            "name": stem, "country": country, "website": f"{slug}{n % 997}.{rng.choice(['com', 'net', 'io'])}",
            "phone": f"+{rng.choice(['1', '44', '49', '33', '31', '39', '34'])}{rng.randrange(10**9, 10**10)}",
            "tax_id": f"{country}{rng.randrange(10**8, 10**9)}", "city": fake.city(), "postal_code": fake.postcode(),
            "street": fake.street_address(),
        }


def variant(base: dict[str, str], rng: random.Random) -> dict[str, str]:
    name = base["name"]
    if rng.random() < 0.25:
        name = typo(name, rng)
    if rng.random() < 0.3:
        name = name.upper() if rng.random() < 0.5 else name.lower()
    form = rng.choice(FORMS[base["country"]])
    row = {**base, "name": f"{name}, {form}" if form and rng.random() < 0.3 else f"{name} {form}".strip()}
    site = base["website"]
    row["website"] = rng.choice([site, f"www.{site}", f"https://www.{site}/about", f"http://{site}"])
    if rng.random() < 0.3:
        row["email"], row["website"] = f"info@{site}", ""
    phone = base["phone"]
    row["phone"] = rng.choice([phone, f"{phone[:3]} {phone[3:6]} {phone[6:]}", f"{phone[:3]}-{phone[3:]}"])
    for field in ("website", "phone", "tax_id", "city", "postal_code", "street"):
        if rng.random() < 0.25:
            row[field] = ""
    if rng.random() < 0.1:
        row["country"] = ""
    return row


def dataset(records: int, seed: int) -> Iterator[tuple[str, int, dict[str, str]]]:
    """(id, true entity, fields); about 60% of entities appear once, the rest 2-4 times."""
    rng = random.Random(seed + 1)
    made = 0
    for number, base in enumerate(entities(records, seed)):
        copies = 1 if rng.random() < 0.6 else rng.randint(2, 4)
        for _ in range(copies):
            if made == records:
                return
            yield f"r{made:07d}", number, variant(base, rng)
            made += 1


def pairs(size: int) -> int:
    return size * (size - 1) // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    threshold = Dedup().auto_merge
    truth = array("i")  # true entity per record: flat arrays, so the evaluation stays flat in N too
    generating = generating_cpu = 0.0

    def prepared() -> Iterator[Keys]:
        nonlocal generating, generating_cpu
        records = dataset(args.records, args.seed)
        while True:
            started, started_cpu = time.perf_counter(), time.process_time()
            item = next(records, None)
            generating += time.perf_counter() - started  # making up the records is not what is timed
            generating_cpu += time.process_time() - started_cpu
            if item is None:
                return
            rid, entity, values = item
            truth.append(entity)
            yield keys(rid, values)

    started, started_cpu = time.perf_counter(), time.process_time()
    roots = array("i", (int(member.cluster_id[1:]) for member in cluster(prepared(), threshold)))
    seconds = time.perf_counter() - started - generating
    cpu_seconds = time.process_time() - started_cpu - generating_cpu  # the machine may be shared: both count
    sizes = array("i", bytes(4 * len(roots)))
    for root in roots:
        sizes[root] += 1
    predicted = sum(pairs(size) for size in sizes)
    expected = hits = 0
    for _, run in groupby(range(len(truth)), key=truth.__getitem__):  # an entity's copies are consecutive
        members = [roots[i] for i in run]
        expected += pairs(len(members))
        hits += sum(pairs(count) for count in Counter(members).values())
    precision = hits / predicted if predicted else 1.0
    recall = hits / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records={len(truth)} true_pairs={expected} predicted_pairs={predicted} threshold={threshold}")
    print(f"precision={precision:.4f} recall={recall:.4f} seconds={seconds:.2f} cpu_seconds={cpu_seconds:.2f} "
          f"records_per_s={len(truth) / seconds:.0f} peak_rss_mb={rss_mb:.0f} load_avg={os.getloadavg()[0]:.1f}")
    print(f"dedup_f1={f1:.4f}")


if __name__ == "__main__":
    main()
