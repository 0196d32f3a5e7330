"""ledger: records the transaction and asks notification to tell the recipient."""

from __future__ import annotations

import os
import secrets

from common import Context, Log, post_json, serve

log = Log("ledger", os.environ["LOG_FILE"])
NOTIFICATION = os.environ["NOTIFICATION_URL"]


def record(body: dict, headers) -> tuple[int, dict]:
    ctx = Context.from_headers(headers)
    tx = f"tx-{secrets.token_hex(4)}"
    log.event("transaction_recorded", **ctx.ids(), transaction_id=tx, user_id=body.get("user_id"),
              amount=body.get("amount"), currency=body.get("currency"))
    try:
        answer = post_json(f"{NOTIFICATION}/notify", {"recipient": body.get("recipient", "user@example.com"),
                                                      "transaction_id": tx}, ctx.headers(), timeout=10)
    except OSError as err:
        log.event("notification_failed", "ERROR", **ctx.ids(), error=str(err))
        answer = {"status": "failed"}
    return 200, {"transaction_id": tx, "notification": answer.get("status")}


serve({("POST", "/transactions"): record}, log)
