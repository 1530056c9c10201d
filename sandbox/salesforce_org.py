"""The sandbox's in-memory org: objects with a schema, records, the recycle bin and record-level rules.

Write rules follow Salesforce: upsert matches live records by the external id field, creates need the
object's required fields, unknown or read-only fields and bad references fail that record only, and a
delete moves a record to the recycle bin (`IsDeleted = true`, still returned by queryAll).
"""

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from sandbox.salesforce_soql import MalformedQuery, Query, parse, sort_key

Row = dict[str, Any]
SYSTEM = {"Id": "id", "IsDeleted": "boolean", "SystemModstamp": "datetime", "CreatedDate": "datetime",
          "LastModifiedDate": "datetime"}
READ_ONLY = set(SYSTEM)
PREFIXES = {"Account": "001", "Opportunity": "006", "OpportunityLineItem": "00k", "Product2": "01t"}
CUSTOM = {"PartnerSync_Id__c": "string"}


def _schema() -> dict[str, dict[str, str]]:
    account = {"Name": "string", "IsPartner": "boolean", "Website": "url", "Phone": "phone",
               "BillingStreet": "textarea", "BillingCity": "string", "BillingPostalCode": "string",
               "BillingCountry": "string", "OwnerId": "reference", "PartnerSync_Tax_Id__c": "string",
               "PartnerSync_Tier__c": "picklist", "PartnerSync_Accrued_YTD__c": "currency",
               "PartnerSync_Paid_YTD__c": "currency", "PartnerSync_Last_Payout__c": "datetime"}
    opportunity = {"Name": "string", "AccountId": "reference", "PartnerAccountId": "reference",
                   "Amount": "currency", "CurrencyIsoCode": "picklist", "StageName": "picklist",
                   "CloseDate": "date", "OwnerId": "reference", "PartnerSync_Products__c": "multipicklist",
                   "PartnerSync_Customer_Name__c": "string", "PartnerSync_Customer_Domain__c": "string",
                   "PartnerSync_Customer_Country__c": "string", "PartnerSync_Registration_Status__c": "picklist",
                   "PartnerSync_Conflict_Reason__c": "textarea", "PartnerSync_Registration_Expires__c": "datetime",
                   "PartnerSync_Incentive_Amount__c": "currency", "PartnerSync_Incentive_Status__c": "picklist"}
    return {"Account": {**SYSTEM, **CUSTOM, **account}, "Opportunity": {**SYSTEM, **CUSTOM, **opportunity}}


REQUIRED = {"Account": ("Name",), "Opportunity": ("Name", "StageName", "CloseDate")}
REFERENCES = {"AccountId": "Account", "PartnerAccountId": "Account"}
MAX_TEXT = 255


class RecordFailure(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class InvalidField(Exception):
    """Salesforce's 400 INVALID_FIELD for a query naming a column the object lacks."""


@dataclass
class Org:
    """All objects of one org. Guarded by one lock: the server thread and the test thread share it."""

    schema: dict[str, dict[str, str]] = field(default_factory=_schema)
    records: dict[str, dict[str, Row]] = field(default_factory=dict)
    now: datetime | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    external_ids: set[str] = field(default_factory=lambda: set(CUSTOM))
    _ext_index: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def clock(self) -> datetime:
        """Salesforce keeps SystemModstamp to the second; many writes share one (hence the Id tie-break)."""
        return (self.now or datetime.now(UTC)).replace(microsecond=0)

    def new_id(self, sobject: str) -> str:
        return f"{PREFIXES.get(sobject, 'a0B')}8d{next(self._ids):010d}AAA"

    def table(self, sobject: str) -> dict[str, Row]:
        if sobject not in self.schema:
            raise KeyError(sobject)
        return self.records.setdefault(sobject, {})

    # -- writes ----------------------------------------------------------------------------------

    def coerce(self, sobject: str, name: str, value: Any) -> Any:
        kind = self.schema[sobject].get(name)
        if kind is None:
            raise RecordFailure("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}", [name])
        if name in READ_ONLY:
            raise RecordFailure("INVALID_FIELD_FOR_INSERT_UPDATE",
                                f"Unable to create/update fields: {name}. Please check the security settings "
                                "of this field and verify that it is read/write for your profile.", [name])
        if value is None or value == "":
            return None
        try:
            if kind == "boolean":
                return value if isinstance(value, bool) else str(value).lower() == "true"
            if kind == "currency":
                return float(Decimal(str(value)))
            if kind == "datetime":
                text = str(value).replace("Z", "+00:00")
                if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
                    text = f"{text[:-2]}:{text[-2:]}"
                parsed = datetime.fromisoformat(text)
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
            if kind == "date":
                return date.fromisoformat(str(value)[:10])
        except (ValueError, InvalidOperation):
            raise RecordFailure("INVALID_TYPE_ON_FIELD_IN_RECORD",
                                f"{name}: value not of required type: {value}", [name]) from None
        if kind in {"string", "url", "phone", "picklist"} and len(str(value)) > MAX_TEXT:
            raise RecordFailure("STRING_TOO_LONG", f"{name}: data value too large: {str(value)[:40]}... "
                                f"(max length={MAX_TEXT})", [name])
        if kind == "reference" and name in REFERENCES:
            target = self.records.get(REFERENCES[name], {}).get(str(value))
            if target is None or target["IsDeleted"]:
                raise RecordFailure("INVALID_CROSS_REFERENCE_KEY", f"{name}: id value of incorrect type: {value}",
                                    [name])
        return str(value) if kind in {"string", "url", "phone", "picklist", "multipicklist", "textarea",
                                      "reference"} else value

    def insert(self, sobject: str, values: Row) -> Row:
        """A new record from already coerced values (also the seed helpers' fast path)."""
        missing = [name for name in REQUIRED.get(sobject, ()) if values.get(name) in (None, "")]
        if missing:
            raise RecordFailure("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                                missing)
        now = self.clock()
        row: Row = dict.fromkeys(self.schema[sobject])
        row.update(values)
        row.update(Id=self.new_id(sobject), IsDeleted=False, CreatedDate=now, LastModifiedDate=now,
                   SystemModstamp=now)
        self.table(sobject)[row["Id"]] = row
        self._index(sobject, row)
        return row

    def _index(self, sobject: str, row: Row) -> None:
        for name in self.external_ids:
            if row.get(name):
                self._ext_index[(sobject, name, str(row[name]))] = row["Id"]

    def update(self, sobject: str, row: Row, values: Row) -> None:
        row.update(values)
        row["LastModifiedDate"] = row["SystemModstamp"] = self.clock()
        self._index(sobject, row)

    def update_by_id(self, sobject: str, record: Row) -> str:
        """sObject Collections update: the record names its Id; an unknown or deleted Id fails alone."""
        record_id = str(record.get("Id") or "")
        row = self.table(sobject).get(record_id)
        if row is None or row["IsDeleted"]:
            raise RecordFailure("ENTITY_IS_DELETED" if row else "INVALID_CROSS_REFERENCE_KEY",
                                "entity is deleted" if row else f"invalid cross reference id: {record_id}", ["Id"])
        values = {name: self.coerce(sobject, name, value) for name, value in record.items()
                  if name not in ("attributes", "Id")}
        self.update(sobject, row, values)
        return record_id

    def upsert(self, sobject: str, ext_field: str, record: Row) -> tuple[str, bool]:
        """`(id, created)` for one record, or RecordFailure naming the field and the reason."""
        if self.schema[sobject].get(ext_field) is None:
            raise RecordFailure("INVALID_FIELD", f"No such column '{ext_field}' on sobject of type {sobject}",
                                [ext_field])
        key = record.get(ext_field)
        if key in (None, ""):
            raise RecordFailure("MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field])
        values = {name: self.coerce(sobject, name, value) for name, value in record.items()
                  if name != "attributes"}
        existing_id = self._ext_index.get((sobject, ext_field, str(key)))
        existing = self.table(sobject).get(existing_id or "")
        if existing is not None and not existing["IsDeleted"]:
            self.update(sobject, existing, values)
            return existing["Id"], False
        return self.insert(sobject, values)["Id"], True

    def delete(self, record_id: str) -> str:
        for sobject, table in self.records.items():
            row = table.get(record_id)
            if row is None:
                continue
            if row["IsDeleted"]:
                raise RecordFailure("ENTITY_IS_DELETED", "entity is deleted")
            row["IsDeleted"] = True
            row["SystemModstamp"] = self.clock()
            for key in [k for k, v in self._ext_index.items() if v == record_id]:
                del self._ext_index[key]
            return sobject
        raise RecordFailure("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {record_id}")

    # -- reads -----------------------------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool) -> tuple[Query, list[Row]]:
        """Parse, check every column against the schema, filter, order and limit."""
        query = parse(soql)
        if query.sobject not in self.schema:
            raise MalformedQuery(f"sObject type '{query.sobject}' is not supported.")
        columns = self.schema[query.sobject]
        for name in [*query.fields, *(n for n, _ in query.terms), *(n for n, _ in query.order)]:
            if name.split(".")[0] not in columns:
                raise InvalidField(f"No such column '{name}' on entity '{query.sobject}'. If you are attempting "
                                   "to use a custom field, be sure to append the '__c' after the custom field name.")
        for name, value in query.terms:
            if columns.get(name) == "datetime" and isinstance(value, str):
                raise InvalidField(f"value of filter criterion for field '{name}' must be of type dateTime and "
                                   "should not be enclosed in quotes")
        for child in query.children:
            if query.sobject != "Opportunity" or child != "OpportunityLineItems":
                raise InvalidField(f"Didn't understand relationship '{child}' in FROM part of query call.")
        rows = [r for r in self.table(query.sobject).values() if include_deleted or not r["IsDeleted"]]
        if query.where is not None:
            rows = [r for r in rows if query.where(r)]
        for name, descending in reversed(query.order):
            rows.sort(key=partial(sort_key, name=name), reverse=descending)
        return query, rows[:query.limit] if query.limit is not None else rows
