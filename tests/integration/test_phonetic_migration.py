"""Migration dedup2 on a database written before it: stored phonetic keys with a digit are recomputed."""

from pathlib import Path

from sqlalchemy import select

from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import DealRow, PartnerRow


def test_keys_with_digits_are_recomputed_and_others_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url, "health1")
    store = Store(url)
    with store.session() as s:  # keys as the release before wrote them (digits dropped)
        s.add_all([PartnerRow(id="p1", name="Route 66 Diner", name_key="route 66 diner", phonetic_key="RTTNR"),
                   PartnerRow(id="p2", name="Acme", name_key="acme", phonetic_key="AKM")])
        s.flush()
        s.add(DealRow(id="d1", partner_id="p1", name="d", customer_key="studio 54", customer_phonetic="STT"))
    upgrade(url)
    with store.session() as s:
        assert {key: code for key, code in s.execute(select(PartnerRow.id, PartnerRow.phonetic_key))} == {
            "p1": "RT66TNR", "p2": "AKM"}
        assert s.scalar(select(DealRow.customer_phonetic)) == "STT54"
    store.dispose()
