"""In-memory Odoo: JSON-RPC `/jsonrpc` with `common.authenticate` and `object.execute_kw`.

Models: res.partner, account.move (vendor bills), account.account, account.journal, res.currency,
res.country. Follows Odoo's behaviour where a client can get it wrong: errors are JSON-RPC `error`
objects named after Odoo's exception, `authenticate` answers `false` (not an error) on a bad key,
archived partners are hidden unless `active_test` is off, a posted bill cannot be edited, posting
checks the lock date and a duplicated vendor reference, datetimes are UTC `YYYY-MM-DD HH:MM:SS`.
Operator actions (tests, demo): `pay`, `close_period`, `bill_list`, `delete_partner`.
"""

import calendar
import itertools
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.erp.http import dumps, loads
from sandbox.erp_ops import operator_routes
from sandbox.faults import FaultMiddleware, Faults
from sandbox.odoo_domain import DomainError, matcher

Rec = dict[str, Any]
_WRITABLE = {
    "res.partner": {"name", "ref", "email", "phone", "website", "street", "city", "zip", "country_id", "vat",
                    "active", "supplier_rank", "is_company"},
    "account.move": {"ref", "move_type", "partner_id", "currency_id", "journal_id", "invoice_date",
                     "invoice_date_due", "narration", "invoice_line_ids"},
}
_FIELDS = {
    "res.partner": _WRITABLE["res.partner"] | {"id", "country_code", "write_date", "create_date", "display_name"},
    "account.move": _WRITABLE["account.move"] | {"id", "name", "state", "payment_state", "amount_total",
                                                 "amount_residual", "write_date", "create_date"},
    "account.account": {"id", "code", "name"},
    "account.journal": {"id", "code", "name", "type"},
    "res.currency": {"id", "name"},
    "res.country": {"id", "code", "name"},
}
_POSTED_EDITABLE = {"ref", "narration", "invoice_date_due"}


class OdooError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name, self.message = name, message


def _sort_key(field: str) -> Callable[[Rec], tuple[bool, Any]]:
    return lambda record: (record.get(field) in (None, False), record.get(field) or 0)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class OdooSandbox:
    """`OdooSandbox(database=..., login=..., api_key=...)`; serve `.app` with `SandboxServer`."""

    def __init__(self, *, database: str = "partner-program", login: str = "finance-bot@example.com",
                 api_key: str = "odoo-key", expense_account_code: str = "600000", journal_code: str = "BILL") -> None:
        self.database, self.login, self.api_key, self.uid = database, login, api_key, 2
        self.lock = threading.RLock()
        self.ids = itertools.count(1)
        self.lock_date: date | None = None
        self.tables: dict[str, dict[int, Rec]] = {model: {} for model in _FIELDS}
        self._insert("account.account", {"code": expense_account_code, "name": "Partner incentives"})
        self._insert("account.journal", {"code": journal_code, "name": "Vendor Bills", "type": "purchase"})
        for code in ("USD", "EUR", "GBP"):
            self._insert("res.currency", {"name": code})
        for code, name in (("US", "United States"), ("DE", "Germany"), ("GB", "United Kingdom"), ("FR", "France")):
            self._insert("res.country", {"code": code, "name": name})
        self.faults = Faults()
        routes = [Route("/jsonrpc", self._endpoint, methods=["POST"]),
                  *operator_routes(self.bill_list, lambda bill_id, amount: self.pay(int(bill_id), amount),
                                   self.close_period)]
        self.app = FaultMiddleware(Starlette(routes=routes), self.faults)

    def _insert(self, model: str, values: Rec) -> int:
        record_id = next(self.ids)
        self.tables[model][record_id] = {"id": record_id, **values}
        return record_id

    # -- operator actions ------------------------------------------------------------------------

    def pay(self, move_id: int, amount: Decimal | None = None, *, in_payment: bool = False) -> Rec:
        """Register a payment on a posted bill: fully (amount None) or partly."""
        with self.lock:
            move = self.tables["account.move"][move_id]
            if move["state"] != "posted":
                raise ValueError(f"bill {move_id} is {move['state']}, not posted")
            paid = move["amount_residual"] if amount is None else Decimal(amount)
            if paid <= 0 or paid > move["amount_residual"]:
                raise ValueError(f"payment {paid} does not fit the {move['amount_residual']} residual")
            move["amount_residual"] -= paid
            if move["amount_residual"] > 0:
                move["payment_state"] = "partial"
            else:
                move["payment_state"] = "in_payment" if in_payment else "paid"
            move["write_date"] = _now()
            return dict(move)

    def close_period(self, period: str) -> None:
        """Lock every entry up to the end of `YYYY-MM` (Odoo's lock date)."""
        year, month = (int(part) for part in period.split("-"))
        with self.lock:
            self.lock_date = date(year, month, calendar.monthrange(year, month)[1])

    def delete_partner(self, partner_id: int) -> None:
        with self.lock:
            self.tables["res.partner"].pop(partner_id, None)

    def bill_list(self) -> list[Rec]:
        with self.lock:
            return [dict(m) for m in self.tables["account.move"].values() if m.get("move_type") == "in_invoice"]

    # -- JSON-RPC --------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        request_id = None
        try:
            body = loads((await request.body()).decode() or "{}")
            request_id = body.get("id")
            params = body.get("params") or {}
            with self.lock:
                result = self._dispatch(str(params.get("service")), str(params.get("method")),
                                        list(params.get("args") or []))
            return Response(dumps({"jsonrpc": "2.0", "id": request_id, "result": result}),
                            media_type="application/json")
        except (OdooError, DomainError, ValueError, KeyError, TypeError, IndexError) as error:
            if isinstance(error, OdooError):
                name, message = error.name, error.message
            else:
                kind = "ValueError" if isinstance(error, ValueError) else type(error).__name__
                name, message = f"builtins.{kind}", str(error)
            data = {"name": name, "debug": f"Traceback (most recent call last):\n{name}: {message}",
                    "message": message, "arguments": [message], "context": {}}
            code = 100 if name == "odoo.http.SessionExpiredException" else 200
            return Response(dumps({"jsonrpc": "2.0", "id": request_id,
                                   "error": {"code": code, "message": "Odoo Server Error", "data": data}}),
                            media_type="application/json")

    def _dispatch(self, service: str, method: str, args: list[Any]) -> Any:
        if service == "common" and method == "version":
            return {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""], "protocol_version": 1}
        if service == "common" and method == "authenticate":
            db, login, key = args[0], args[1], args[2]
            self._check_db(db)
            return self.uid if (login, key) == (self.login, self.api_key) else False
        if service == "object" and method == "execute_kw":
            db, uid, key, model, name = args[:5]
            call_args = args[5] if len(args) > 5 else []
            kwargs = args[6] if len(args) > 6 else {}
            self._check_db(db)
            if uid != self.uid or key != self.api_key:
                raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")
            return self._execute(model, name, list(call_args), dict(kwargs))
        raise OdooError("builtins.NameError", f"No service or method {service}.{method}")

    def _check_db(self, db: object) -> None:
        if db != self.database:
            raise OdooError("psycopg2.OperationalError", f'connection failed: FATAL:  database "{db}" does not exist')

    def _execute(self, model: str, method: str, args: list[Any], kwargs: Rec) -> Any:
        if model not in self.tables:
            raise KeyError(model)
        context = kwargs.pop("context", {}) or {}
        if method in {"search", "search_read", "search_count"}:
            domain = args[0] if args else kwargs.pop("domain", [])
            found = self._search(model, domain, context, kwargs.get("order"))
            if method == "search_count":
                return len(found)
            found = found[int(kwargs.get("offset") or 0):]
            if kwargs.get("limit"):
                found = found[:int(kwargs["limit"])]
            if method == "search":
                return [r["id"] for r in found]
            fields = kwargs.get("fields") or (args[1] if len(args) > 1 else None)
            return [self._shown(model, r, fields) for r in found]
        if method == "read":
            return [self._shown(model, self._get(model, i), kwargs.get("fields")) for i in args[0]]
        if method == "fields_get":
            return {name: {"type": "char", "string": name} for name in sorted(_FIELDS[model])}
        if method == "create":
            many = isinstance(args[0], list)
            ids = [self._create(model, vals) for vals in (args[0] if many else [args[0]])]
            return ids if many else ids[0]
        if method == "write":
            for record_id in args[0]:
                self._write(model, self._get(model, record_id), dict(args[1]))
            return True
        if model == "account.move" and method in {"action_post", "button_draft", "button_cancel"}:
            for record_id in args[0]:
                getattr(self, f"_{method}")(self._get(model, record_id))
            return False
        raise OdooError("builtins.AttributeError", f"The method '{method}' does not exist on the model '{model}'")

    def _search(self, model: str, domain: list[Any], context: Rec, order: str | None) -> list[Rec]:
        test = matcher(domain, _FIELDS[model])
        hide_archived = model == "res.partner" and context.get("active_test", True)
        found = [r for r in self.tables[model].values() if test(r) and not (hide_archived and not r["active"])]
        for part in reversed([p.strip() for p in (order or "id").split(",") if p.strip()]):
            field, _, direction = part.partition(" ")
            if field not in _FIELDS[model]:
                raise ValueError(f"Invalid field {field!r} on model {model!r}")
            found.sort(key=_sort_key(field), reverse=direction.lower() == "desc")
        return found

    def _get(self, model: str, record_id: object) -> Rec:
        record = self.tables[model].get(record_id) if isinstance(record_id, int) else None
        if record is None:
            raise OdooError("odoo.exceptions.MissingError", f"Record does not exist or has been deleted.\n"
                            f"(Record: {model}({record_id},), User: {self.uid})")
        return record

    def _shown(self, model: str, record: Rec, fields: list[str] | None) -> Rec:
        names = fields or sorted(_FIELDS[model])
        shown: Rec = {"id": record["id"]}
        for name in names:
            if name not in _FIELDS[model]:
                raise ValueError(f"Invalid field {name!r} on model {model!r}")
            value = record.get(name, False)
            if name == "invoice_line_ids":
                value = [line["id"] for line in record.get(name, [])]
            shown[name] = False if value is None else value
        return shown

    def _many2one(self, model: str, value: object, field: str) -> list[Any] | bool:
        if value in (False, None):
            return False
        if not isinstance(value, int) or value not in self.tables[model]:
            raise OdooError("odoo.exceptions.ValidationError", "The operation cannot be completed:\n"
                            "- Create/update: a mandatory field is not set.\n- Delete: another model requires the "
                            f"record being deleted. If possible, archive it instead.\n\nModel: {model}, Field: {field}")
        target = self.tables[model][value]
        return [value, str(target.get("name") or target.get("code"))]

    def _create(self, model: str, vals: Rec) -> int:
        if model not in _WRITABLE:
            raise OdooError("odoo.exceptions.AccessError", f"You are not allowed to create '{model}' records.")
        record: Rec = {"active": True, "supplier_rank": 0} if model == "res.partner" else {
            "move_type": "entry", "state": "draft", "name": "/", "payment_state": "not_paid",
            "invoice_line_ids": [], "amount_total": Decimal(0), "amount_residual": Decimal(0)}
        record["create_date"] = _now()
        if model == "res.partner" and not vals.get("name"):
            raise OdooError("odoo.exceptions.ValidationError", "The field 'Name' is required (res.partner).")
        self._write(model, record, vals)
        record["id"] = next(self.ids)
        self.tables[model][record["id"]] = record
        return int(record["id"])

    def _write(self, model: str, record: Rec, vals: Rec) -> None:
        unknown = sorted(set(vals) - _WRITABLE.get(model, set()))
        if unknown:
            raise ValueError(f"Invalid field {unknown[0]!r} on model {model!r}")
        if model == "account.move" and record.get("state") == "posted" and set(vals) - _POSTED_EDITABLE:
            raise OdooError("odoo.exceptions.UserError", "You cannot modify a posted entry of this journal. "
                            "First you should set the journal to allow cancelling entries.")
        for field, value in vals.items():
            if field == "country_id":
                country = self._many2one("res.country", value, field)
                record["country_id"] = country
                record["country_code"] = self.tables["res.country"][value]["code"] if country else False
            elif field in {"partner_id", "currency_id", "journal_id"}:
                target = {"partner_id": "res.partner", "currency_id": "res.currency", "journal_id": "account.journal"}
                record[field] = self._many2one(target[field], value, field)
            elif field == "invoice_line_ids":
                self._lines(record, value)
            else:
                record[field] = value
        record["write_date"] = _now()

    def _lines(self, move: Rec, commands: list[Any]) -> None:
        """x2many commands: (0, 0, vals) add, (5, 0, 0) clear; totals follow the lines."""
        lines = list(move.get("invoice_line_ids", []))
        for command in commands:
            if command[0] == 5:
                lines = []
            elif command[0] == 0:
                vals = dict(command[2])
                self._many2one("account.account", vals.get("account_id"), "account_id")
                if not vals.get("name"):
                    raise OdooError("odoo.exceptions.ValidationError", "Missing required label on a bill line.")
                unit, quantity = Decimal(str(vals.get("price_unit", 0))), Decimal(str(vals.get("quantity", 1)))
                lines.append({"id": next(self.ids), "name": vals["name"], "account_id": vals.get("account_id"),
                              "price_unit": unit, "quantity": quantity, "price_subtotal": unit * quantity})
            else:
                raise ValueError(f"Unsupported x2many command {command!r} in this sandbox")
        move["invoice_line_ids"] = lines
        move["amount_total"] = sum((line["price_subtotal"] for line in lines), Decimal(0))
        move["amount_residual"] = move["amount_total"]

    def _action_post(self, move: Rec) -> None:
        if move["state"] != "draft":
            raise OdooError("odoo.exceptions.UserError", "Only draft journal entries can be posted.")
        if not move.get("invoice_line_ids"):
            raise OdooError("odoo.exceptions.UserError", "You need to add a line before posting.")
        partner = move.get("partner_id")
        if not partner or partner[0] not in self.tables["res.partner"]:
            raise OdooError("odoo.exceptions.UserError", "The field 'Vendor' is required, please complete it to "
                            "validate the Vendor Bill.")
        if not move.get("invoice_date"):
            raise OdooError("odoo.exceptions.UserError", "The Bill/Refund date is required to validate this document.")
        if move["amount_total"] < 0:
            raise OdooError("odoo.exceptions.UserError", "You cannot validate an invoice with a negative total "
                            "amount. You should create a credit note instead.")
        accounting = date.fromisoformat(str(move["invoice_date"]))
        if self.lock_date and accounting <= self.lock_date:
            raise OdooError("odoo.exceptions.UserError", f"You cannot add/modify entries prior to and inclusive of "
                            f"the lock date {self.lock_date.isoformat()}.")
        twins = [m for m in self.tables["account.move"].values() if m is not move and m["state"] == "posted"
                 and m.get("move_type") == "in_invoice" and m.get("ref") == move.get("ref")
                 and (m.get("partner_id") or [None])[0] == partner[0]]
        if move.get("ref") and twins:
            raise OdooError("odoo.exceptions.ValidationError", "Duplicated vendor reference detected. You probably "
                            "encoded twice the same vendor bill/credit note.")
        count = sum(1 for m in self.tables["account.move"].values() if m["name"] != "/") + 1
        move.update({"state": "posted", "name": f"BILL/{accounting:%Y/%m}/{count:04d}", "write_date": _now(),
                     "amount_residual": move["amount_total"], "payment_state": "not_paid"})

    def _button_draft(self, move: Rec) -> None:
        if move.get("payment_state") not in ("not_paid", None, False):
            raise OdooError("odoo.exceptions.UserError", "You cannot reset to draft a paid or partially paid entry.")
        move.update({"state": "draft", "write_date": _now()})

    def _button_cancel(self, move: Rec) -> None:
        if move["state"] != "draft":
            raise OdooError("odoo.exceptions.UserError", "Only draft journal entries can be cancelled.")
        move.update({"state": "cancel", "write_date": _now()})
