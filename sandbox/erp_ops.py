"""Operator routes shared by the ERP sandboxes, for the demo and for tests in another process.

`GET /_sandbox/bills`, `POST /_sandbox/bills/{id}/pay` (JSON `{"amount": "12.50"}` or nothing for in
full) and `POST /_sandbox/periods/{YYYY-MM}/close`: what finance would do in the ERP's own screens.
"""

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.erp.http import dumps, loads

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def operator_routes(
    bills: Callable[[], list[dict[str, Any]]],
    pay: Callable[[str, Decimal | None], Any],
    close_period: Callable[[str], None],
) -> list[Route]:
    def answer(body: Any, status: int = 200) -> Response:
        return Response(dumps(body), status_code=status, media_type="application/json")

    async def list_bills(request: Request) -> Response:
        return answer(bills())

    async def pay_bill(request: Request) -> Response:
        text = (await request.body()).decode()
        try:
            amount = loads(text).get("amount") if text else None
            paid = pay(request.path_params["bill_id"], Decimal(str(amount)) if amount is not None else None)
        except (KeyError, ValueError, InvalidOperation, AttributeError) as error:
            return answer({"error": f"cannot pay bill {request.path_params['bill_id']}: {error!r}"}, 400)
        return answer(paid)

    async def close(request: Request) -> Response:
        period = request.path_params["period"]
        if not _PERIOD.match(period):
            return answer({"error": f"period {period!r} is not YYYY-MM"}, 400)
        close_period(period)
        return answer({"closed": period})

    return [
        Route("/_sandbox/bills", list_bills, methods=["GET"]),
        Route("/_sandbox/bills/{bill_id}/pay", pay_bill, methods=["POST"]),
        Route("/_sandbox/periods/{period}/close", close, methods=["POST"]),
    ]
