"""Clustering through the on-disk blocks: the same clusters as comparing every pair that shares a key."""

from config.program import Dedup
from sync.blocking import MAX_BLOCK, cluster
from sync.matching import keys

THRESHOLD = Dedup().auto_merge


def test_a_block_bigger_than_the_window_still_chains_its_duplicates() -> None:
    # one firm written 70 times (same name, phone, country): the block is windowed, yet all end up together
    records = [keys(f"{i:03d}", {"name": "Acme Robotics", "phone": "+1 415 555 0100", "country": "US"})
               for i in range(MAX_BLOCK + 10)]
    found = list(cluster(records, THRESHOLD))
    assert {m.cluster_id for m in found} == {"000"}
    assert [m.first for m in found] == [True] + [False] * (len(records) - 1)


def test_pairs_sharing_several_keys_and_records_without_keys() -> None:
    records = [
        keys("a", {"name": "Zenith GmbH", "website": "zenith.de", "phone": "+49 30 1234567", "country": "DE"}),
        keys("b", {}),
        keys("c", {"name": "ZENITH AG", "website": "https://www.zenith.de/", "phone": "030 1234567", "country": "DE"}),
        keys("d", {"name": "Zenith GmbH", "country": "AT"}),
    ]
    assert [(m.id, m.cluster_id) for m in cluster(records, THRESHOLD)] == [
        ("a", "a"), ("b", "b"), ("c", "a"), ("d", "d")]


def test_no_records_no_clusters() -> None:
    assert list(cluster([], THRESHOLD)) == []
