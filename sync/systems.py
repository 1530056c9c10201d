"""Which systems the hub syncs with, built from settings: each system's connector and field maps."""

from dataclasses import dataclass
from typing import Any

from config import Settings
from connectors.base import Connector
from mapping.base import FieldMap

ENTITY_ORDER = ("partner", "deal")


@dataclass
class System:
    name: str
    connector: Connector
    maps: dict[str, FieldMap[Any]]


def configured(settings: Settings) -> list[str]:
    """Systems that are enabled and have somewhere to connect to."""
    names = []
    sf = settings.salesforce
    if sf.enabled and (sf.instance_url or sf.username or sf.consumer_key):
        names.append("salesforce")
    if settings.hubspot.enabled and settings.hubspot.access_token is not None:
        names.append("hubspot")
    if settings.erp.enabled and settings.erp.base_url:
        names.append(settings.erp.kind)
    return names


def build(settings: Settings, name: str) -> System:
    """The connector and maps of one system (imported on demand: a deployment loads what it uses)."""
    if name == "salesforce":
        from connectors.salesforce import SalesforceConnector
        from mapping import salesforce

        return System(name, SalesforceConnector(settings.salesforce), salesforce.field_maps(settings.salesforce))
    if name == "hubspot":
        from connectors.hubspot import HubSpotConnector
        from mapping import hubspot

        return System(name, HubSpotConnector(settings.hubspot), hubspot.field_maps(settings.hubspot))
    if name in ("netsuite", "odoo"):
        from connectors.erp import erp_connector
        from mapping import netsuite, odoo

        maps: dict[str, FieldMap[Any]] = {"partner": netsuite.VENDOR, "payout": netsuite.VENDOR_BILL}
        if name == "odoo":
            maps = {"partner": odoo.RES_PARTNER, "payout": odoo.ACCOUNT_MOVE}
        return System(name, erp_connector(settings.erp), maps)
    raise ValueError(f"unknown system {name!r}")


def build_all(settings: Settings, only: list[str] | None = None) -> dict[str, System]:
    return {name: build(settings, name) for name in configured(settings) if only is None or name in only}
