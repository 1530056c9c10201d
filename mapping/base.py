"""Declarative field maps between one system's records and the unified model. Pure: no I/O.

A map lists, per unified field, the system's field name and how to convert each way. Reference
fields (a deal's partner) carry the *system's* id of the referenced record; the sync engine turns
them into hub ids through `external_links` (mapping never looks anything up).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from mapping import normalize

M = TypeVar("M", bound=BaseModel)
Convert = Callable[[Any], Any]


def same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class FieldSpec:
    """One unified field <-> one system field; `to_hub`/`to_system` convert the value each way."""

    unified: str
    system: str
    to_hub: Convert = same
    to_system: Convert = same
    read_only: bool = False


@dataclass(frozen=True)
class FieldMap(Generic[M]):
    """How one entity looks in one system.

    `id_field` is the system's own record id, `hub_id_field` the custom field holding our stable
    partnersync id, `modified_field` the system's last-modified timestamp.
    """

    system: str
    entity: str
    model: type[M]
    id_field: str
    hub_id_field: str
    modified_field: str
    fields: tuple[FieldSpec, ...]
    references: Mapping[str, str] = field(default_factory=dict)
    extra: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    def system_field(self, unified: str) -> str:
        """The system's name of a unified field (error messages name the field the user knows)."""
        return next((f.system for f in self.fields if f.unified == unified), unified)

    def external_id(self, record: Mapping[str, Any]) -> str:
        return str(record[self.id_field])

    def hub_id(self, record: Mapping[str, Any]) -> str | None:
        value = record.get(self.hub_id_field)
        return str(value) if value else None

    def modified_at(self, record: Mapping[str, Any]) -> datetime | None:
        return normalize.utc(record.get(self.modified_field))

    def to_values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Unified field values of a system record, unvalidated (pass them to `to_model`)."""
        values = {f.unified: f.to_hub(record.get(f.system)) for f in self.fields if f.system in record}
        if self.extra is not None:
            values.update(self.extra(record))
        if "modified_at" in self.model.model_fields:
            values["modified_at"] = self.modified_at(record)
        return values

    def to_model(self, record: Mapping[str, Any]) -> M:
        """The validated unified model; raises pydantic's ValidationError naming unified fields."""
        return self.model.model_validate(self.to_values(record))

    def to_record(self, values: Mapping[str, Any], hub_id: str) -> dict[str, Any]:
        """A system record (for push) from unified values; only fields present in `values` are set."""
        record = {
            f.system: f.to_system(values[f.unified])
            for f in self.fields
            if f.unified in values and not f.read_only
        }
        record[self.hub_id_field] = hub_id
        return record
