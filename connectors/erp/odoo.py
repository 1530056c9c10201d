"""Odoo over JSON-RPC (`POST /jsonrpc`, service "object", `execute_kw`) with a user's API key.

Partners are `res.partner` suppliers and payouts `account.move` vendor bills (`in_invoice`), both
found by `ref` = the hub id before anything is created. A bill is created as a draft, then posted:
after a crash between the two, the next push finds the draft by `ref` and posts it, so one payout
never yields two bills. Changes come back keyset-paged on `(write_date, id)`; each pull starts by
re-reading the cursor's second (write_date has one-second precision), so a change is never lost.
"""

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from config.systems import ErpSettings
from connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    Cursor,
    Page,
    PushResult,
    RateLimited,
    Record,
    RecordError,
    each_record,
)
from connectors.erp.http import loads, send

MODELS = {"partner": "res.partner", "payout": "account.move"}
PARTNER_FIELDS = ["id", "ref", "name", "email", "phone", "website", "street", "city", "zip", "country_code",
                  "vat", "active", "supplier_rank", "write_date"]
BILL_FIELDS = ["id", "ref", "name", "partner_id", "currency_id", "state", "payment_state", "amount_total",
               "amount_residual", "invoice_date", "invoice_date_due", "write_date"]
REQUIRED_FIELDS = {
    "res.partner": ("ref", "name", "supplier_rank", "active", "write_date"),
    "account.move": ("ref", "move_type", "partner_id", "invoice_date", "invoice_line_ids", "payment_state",
                     "amount_residual", "amount_total", "currency_id", "write_date"),
}
RECORD_ERRORS = {"odoo.exceptions.ValidationError", "odoo.exceptions.UserError", "odoo.exceptions.MissingError",
                 "odoo.exceptions.RedirectWarning"}
AUTH_ERRORS = {"odoo.exceptions.AccessDenied", "odoo.exceptions.AccessError"}
ODOO_STAMP = "%Y-%m-%d %H:%M:%S"


def odoo_error(error: dict[str, Any]) -> Exception:
    """A JSON-RPC `error` object as our error class, named after Odoo's exception."""
    data = error.get("data") or {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or error.get("message") or "Odoo error")
    short = name.rsplit(".", 1)[-1] or "OdooError"
    if name in AUTH_ERRORS:
        return AuthError(f"Odoo {short}: {message}")
    if name in RECORD_ERRORS:
        return RecordError(short, message)
    return ConnectorError(f"Odoo {short}: {message}")


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, ODOO_STAMP).replace(tzinfo=UTC)


class OdooConnector(Connector):
    """`OdooConnector(settings.erp)`: entities "partner" (res.partner) and "payout" (account.move)."""

    system = "odoo"
    entities = ("partner", "payout")

    def __init__(self, settings: ErpSettings, *, session: requests.Session | None = None) -> None:
        super().__init__()
        odoo = settings.odoo
        missing = [f"erp.odoo.{name}" for name in ("database", "username", "api_key") if not getattr(odoo, name)]
        if not settings.base_url:
            missing.insert(0, "erp.base_url")
        if missing:
            raise AuthError(f"Odoo JSON-RPC needs {', '.join(missing)}")
        self.settings = odoo
        self.url = f"{str(settings.base_url).rstrip('/')}/jsonrpc"
        self.timeout = settings.timeout
        self.attempts = settings.retries
        self.session = session or requests.Session()
        self._ids = itertools.count(1)
        self._uid: int | None = None
        self._refs: dict[tuple[str, str], int] = {}

    # -- transport -------------------------------------------------------------------------------

    def _rpc(self, service: str, method: str, *args: Any) -> Any:
        payload = {"jsonrpc": "2.0", "method": "call", "id": next(self._ids),
                   "params": {"service": service, "method": method, "args": list(args)}}
        response = send(self.session, "POST", self.url, usage=self.usage, timeout=self.timeout,
                        attempts=self.attempts, describe=f"Odoo {service}.{method}", payload=payload)
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            raise RateLimited("Odoo rate limit", float(retry_after) if retry_after and retry_after.isdigit() else None)
        if response.status_code in (401, 403):
            raise AuthError(f"Odoo refused the request (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise ConnectorError(f"Odoo answered HTTP {response.status_code} on {self.url}")
        try:
            body = loads(response.text)
        except ValueError as error:
            raise ConnectorError(f"Odoo answered with something other than JSON-RPC: {error}") from error
        if body.get("error"):
            raise odoo_error(body["error"])
        return body.get("result")

    @property
    def uid(self) -> int:
        if self._uid is None:
            s = self.settings
            assert s.api_key is not None
            uid = self._rpc("common", "authenticate", s.database, s.username, s.api_key.get_secret_value(), {})
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise AuthError(f"Odoo refused the login {s.username!r} on database {s.database!r}")
            self._uid = uid
        return self._uid

    def execute(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """`execute_kw` on `model`; Odoo's own exceptions come back as our error classes."""
        s = self.settings
        assert s.api_key is not None
        return self._rpc("object", "execute_kw", s.database, self.uid, s.api_key.get_secret_value(), model, method,
                         list(args), kwargs)

    def _model(self, entity: str) -> str:
        if entity not in MODELS:
            raise ConnectorError(f"Odoo has no entity {entity!r}; expected one of {', '.join(self.entities)}")
        return MODELS[entity]

    def _ref_id(self, model: str, field: str, value: str) -> int:
        """Internal id of a configured reference (account by code, journal by code, currency by name)."""
        key = (model, value)
        if key not in self._refs:
            found = self.execute(model, "search", [(field, "=", value)], limit=1)
            if not found:
                raise RecordError("MISSING_REFERENCE", f"no {model} with {field} {value!r} in Odoo", (field,))
            self._refs[key] = int(found[0])
        return self._refs[key]

    # -- pull ------------------------------------------------------------------------------------

    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        model = self._model(entity)
        base = [("supplier_rank", ">", 0)] if entity == "partner" else [("move_type", "=", "in_invoice"),
                                                                       ("ref", "!=", False)]
        fields = PARTNER_FIELDS if entity == "partner" else BILL_FIELDS
        position = Cursor() if full else cursor
        limit = self.settings.page_size
        resume = True
        while True:
            domain: list[Any] = list(base)
            if position.modified_at is not None:
                at = position.modified_at.astimezone(UTC).strftime(ODOO_STAMP)
                if resume:
                    domain.append(("write_date", ">=", at))
                else:
                    domain += ["|", ("write_date", ">", at), "&", ("write_date", "=", at),
                               ("id", ">", int(position.last_id or 0))]
            resume = False
            rows = self.execute(model, "search_read", domain, fields=fields, limit=limit,
                                order="write_date asc, id asc", context={"active_test": False})
            records = [self._row(entity, row) for row in rows]
            if records:
                position = Cursor(_stamp(rows[-1]["write_date"]), str(rows[-1]["id"]))
            yield Page(records=records, deleted=[], cursor=position)
            if len(rows) < limit:
                return

    @staticmethod
    def _row(entity: str, row: dict[str, Any]) -> Record:
        """Odoo's `False` for empty becomes None; many2one pairs become the id (and the currency its code)."""
        record: Record = {k: (None if v is False and k != "active" else v) for k, v in row.items()}
        record["id"] = str(row["id"])
        record["write_date"] = _stamp(row["write_date"]).isoformat()
        if entity == "payout":
            partner, currency = row.get("partner_id"), row.get("currency_id")
            record["partner_id"] = str(partner[0]) if partner else None
            record["currency"] = str(currency[1]) if currency else None
            record.pop("currency_id", None)
            for field in ("amount_total", "amount_residual"):
                record[field] = Decimal(str(row.get(field) or 0))
        return record

    # -- push ------------------------------------------------------------------------------------

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        """Find by `ref`, then create or update; a refused record does not stop the batch."""
        model = self._model(entity)
        keys = [str(r.get("ref") or "") for r in records]
        domain: list[Any] = [("ref", "in", [k for k in keys if k])]
        if entity == "payout":
            domain.append(("move_type", "=", "in_invoice"))
        fields = ["id", "ref", "supplier_rank"] if entity == "partner" else [
            "id", "ref", "state", "payment_state", "amount_total", "currency_id", "partner_id"]
        existing = {row["ref"]: row for row in self.execute(model, "search_read", domain, fields=fields,
                                                              context={"active_test": False})}
        results: list[PushResult] = []
        for key, record in zip(keys, records, strict=True):
            try:
                if not key:
                    raise RecordError("MISSING_REF", f"a {model} needs a ref (the partnersync id)", ("ref",))
                if entity == "partner":
                    internal, created = self._push_partner(record, existing.get(key))
                else:
                    internal, created = self._push_bill(record, existing.get(key))
            except RecordError as error:
                results.append(PushResult(key=key, success=False, error=error))
                continue
            results.append(PushResult(key=key, success=True, external_id=str(internal), created=created))
        return results

    def _partner_values(self, record: Record) -> dict[str, Any]:
        values = {k: v for k, v in record.items() if k not in {"id", "write_date", "country_code"}}
        if record.get("country_code"):
            values["country_id"] = self._ref_id("res.country", "code", str(record["country_code"]))
        return values

    def _push_partner(self, record: Record, found: dict[str, Any] | None) -> tuple[int, bool]:
        values = self._partner_values(record)
        if found is None:
            values.setdefault("supplier_rank", 1)
            return int(self.execute("res.partner", "create", values)), True
        if not found.get("supplier_rank"):
            values.setdefault("supplier_rank", 1)
        self.execute("res.partner", "write", [found["id"]], values)
        return int(found["id"]), False

    def _bill_values(self, record: Record) -> dict[str, Any]:
        values = {k: v for k, v in record.items() if k not in {"id", "write_date", "currency", "invoice_line_ids"}}
        values["move_type"] = "in_invoice"
        values["journal_id"] = self._ref_id("account.journal", "code", self.settings.journal_code)
        if record.get("currency"):
            values["currency_id"] = self._ref_id("res.currency", "name", str(record["currency"]))
        account = self._ref_id("account.account", "code", self.settings.expense_account_code)
        lines: list[Any] = [(5, 0, 0)]
        for line in record.get("invoice_line_ids", []):
            vals = dict(line[2]) if isinstance(line, list | tuple) else dict(line)
            vals.setdefault("account_id", account)
            vals.setdefault("quantity", 1)
            lines.append((0, 0, vals))
        values["invoice_line_ids"] = lines
        return values

    def _push_bill(self, record: Record, found: dict[str, Any] | None) -> tuple[int, bool]:
        """Create-or-reuse the draft, then post it; a posted bill that already matches is left alone."""
        values = self._bill_values(record)
        if found is None:
            move_id = int(self.execute("account.move", "create", values))
            self.execute("account.move", "action_post", [move_id])
            return move_id, True
        move_id = int(found["id"])
        if found["state"] == "cancel":
            raise RecordError("BILL_CANCELLED", f"vendor bill {move_id} for this payout is cancelled in Odoo; "
                              "reset it to draft there to send the payout again", ("ref",))
        if found["state"] == "posted":
            if self._matches(found, values):
                return move_id, False
            if found.get("payment_state") not in (None, False, "not_paid"):
                raise RecordError("BILL_PAID", f"vendor bill {move_id} is already (partly) paid with another "
                                  "amount; correct it in Odoo", ("amount_total",))
            self.execute("account.move", "button_draft", [move_id])
        self.execute("account.move", "write", [move_id], values)
        self.execute("account.move", "action_post", [move_id])
        return move_id, False

    @staticmethod
    def _matches(found: dict[str, Any], values: dict[str, Any]) -> bool:
        total = sum((Decimal(str(c[2].get("price_unit", 0))) * Decimal(str(c[2].get("quantity", 1)))
                     for c in values["invoice_line_ids"] if c[0] == 0), Decimal(0))
        currency, partner = found.get("currency_id"), found.get("partner_id")
        same_currency = "currency_id" not in values or (isinstance(currency, list) and
                                                        currency[0] == values["currency_id"])
        same_partner = isinstance(partner, list) and partner[0] == values.get("partner_id")
        return Decimal(str(found.get("amount_total") or 0)) == total and same_currency and same_partner

    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        """Partners are archived (`active` False); bills are never deleted by the sync."""
        model = self._model(entity)

        def deactivate(internal_id: str) -> None:
            if entity != "partner":
                raise RecordError("NOT_ARCHIVABLE", "vendor bills are cancelled in Odoo, not by the sync")
            self.execute(model, "write", [int(internal_id)], {"active": False})

        return each_record(ids, deactivate)

    # -- schema ----------------------------------------------------------------------------------

    def check_schema(self) -> list[str]:
        missing: list[str] = []
        for model, fields in REQUIRED_FIELDS.items():
            try:
                known = self.execute(model, "fields_get", attributes=["type"])
            except AuthError:
                raise
            except (RecordError, ConnectorError):
                missing.append(model)
                continue
            missing.extend(f"{model}.{field}" for field in fields if field not in known)
        references = [("account.account", "code", self.settings.expense_account_code),
                      ("account.journal", "code", self.settings.journal_code)]
        for model, field, value in references:
            try:
                self._ref_id(model, field, value)
            except RecordError:
                missing.append(f"{model}[{field}={value}]")
        return missing
