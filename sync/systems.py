"""Streams (system x entity) built from settings: a connector and its field maps per configured system.

Connector and map modules are imported by system name only when that system is configured, so a
deployment without an ERP (or a branch without a connector) never loads it.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config import Settings
from connectors.base import Connector
from mapping.base import FieldMap

ENTITY_ORDER = ("partner", "deal", "payout")


@dataclass
class Stream:
    """One system x entity: the connector that talks to the system and the map of the entity."""

    connector: Connector
    fmap: FieldMap[Any]

    @property
    def system(self) -> str:
        return self.fmap.system

    @property
    def entity(self) -> str:
        return self.fmap.entity


def _configured(settings: Settings) -> dict[str, Callable[[], tuple[Connector, dict[str, FieldMap[Any]]]]]:
    """system -> builder, for the systems enabled and given an address in settings."""
    found: dict[str, Callable[[], tuple[Connector, dict[str, FieldMap[Any]]]]] = {}
    sf, hs, erp = settings.salesforce, settings.hubspot, settings.erp
    if sf.enabled and (sf.instance_url or sf.username or sf.consumer_key):
        found["salesforce"] = lambda: (_new("connectors.salesforce", "SalesforceConnector", sf),
                                       _maps("mapping.salesforce", sf))
    if hs.enabled and hs.access_token is not None:
        found["hubspot"] = lambda: (_new("connectors.hubspot", "HubSpotConnector", hs), _maps("mapping.hubspot", hs))
    if erp.enabled and erp.base_url:
        def build_erp() -> tuple[Connector, dict[str, FieldMap[Any]]]:
            from connectors.erp import erp_connector

            module = importlib.import_module(f"mapping.{erp.kind}")
            partner = module.VENDOR if erp.kind == "netsuite" else module.RES_PARTNER
            return erp_connector(erp), {"partner": partner}

        found[erp.kind] = build_erp
    return found


def _new(module: str, name: str, section: Any) -> Connector:
    connector: Connector = getattr(importlib.import_module(module), name)(section)
    return connector


def _maps(module: str, section: Any) -> dict[str, FieldMap[Any]]:
    maps: dict[str, FieldMap[Any]] = importlib.import_module(module).field_maps(section)
    return maps


def build(settings: Settings, *, system: str | None = None, entity: str | None = None) -> list[Stream]:
    """Streams of the configured systems, partners first (deals reference them)."""
    streams = []
    for name, builder in _configured(settings).items():
        if system is not None and name != system:
            continue
        connector, maps = builder()
        streams += [Stream(connector, fmap) for key, fmap in maps.items()
                    if (entity is None or key == entity) and key in connector.entities]
    return sorted(streams, key=lambda s: (ENTITY_ORDER.index(s.entity), s.system))


def configured_systems(settings: Settings) -> list[str]:
    return list(_configured(settings))
