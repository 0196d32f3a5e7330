"""auth: receives a payment, authenticates the user, records it with ledger, reports back.

It creates both trace IDs: the payment trace ID (pay- + 8 hex) and the W3C trace context.
"""

from __future__ import annotations

import os
import time

from common import Context, Log, post_json, serve

log = Log("auth", os.environ["LOG_FILE"])
LEDGER = os.environ["LEDGER_URL"]


def pay(body: dict, headers) -> tuple[int, dict]:
    ctx = Context.new()
    start = time.monotonic()
    user, amount, currency = body.get("user_id", "u-1"), body.get("amount", 10.0), body.get("currency", "EUR")
    log.event("payment_request_received", **ctx.ids(), user_id=user, amount=amount, currency=currency)
    log.event("user_authenticated", **ctx.ids(), user_id=user)
    try:
        answer = post_json(f"{LEDGER}/transactions", {**body, "user_id": user, "amount": amount,
                                                      "currency": currency}, ctx.headers(), timeout=10)
    except OSError as err:
        log.event("payment_failed", "ERROR", **ctx.ids(), user_id=user, error=str(err))
        return 502, {"trace_id": ctx.trace_id, "w3c_trace_id": ctx.w3c_trace_id, "status": "failed"}
    log.event("payment_complete", **ctx.ids(), user_id=user, amount=amount, currency=currency,
              duration_ms=round((time.monotonic() - start) * 1000, 1))
    return 200, {"trace_id": ctx.trace_id, "w3c_trace_id": ctx.w3c_trace_id, "status": "complete",
                 "notification": answer.get("notification")}


serve({("POST", "/pay"): pay}, log)
