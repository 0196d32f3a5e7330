"""notification: sends the payment e-mail through the provider.

What it does when the provider times out is the error handler in $HANDLER_FILE,
re-read whenever that file changes - so the lab can deploy a fix while it runs.
"""

from __future__ import annotations

import importlib.util
import os
import time

from common import Context, Log, post_json, serve

log = Log("notification", os.environ["LOG_FILE"])
EMAIL = os.environ["EMAIL_URL"]
HANDLER_FILE = os.environ["HANDLER_FILE"]
TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT_S", "0.5"))
_handler = {"mtime": None, "fn": None}


def timeout_handler():
    """The current on_email_timeout function, reloaded when the file changes."""
    mtime = os.stat(HANDLER_FILE).st_mtime_ns
    if mtime != _handler["mtime"]:
        spec = importlib.util.spec_from_file_location("email_timeout_handler", HANDLER_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _handler.update(mtime=mtime, fn=module.on_email_timeout)
    return _handler["fn"]


def notify(body: dict, headers) -> tuple[int, dict]:
    ctx = Context.from_headers(headers)
    recipient = body.get("recipient", "user@example.com")
    log.event("email_send_attempt", **ctx.ids(), recipient=recipient)
    start = time.monotonic()
    try:
        post_json(f"{EMAIL}/send", {"to": recipient, "template": "payment_receipt"}, ctx.headers(), TIMEOUT)
    except (TimeoutError, OSError) as err:
        elapsed = round((time.monotonic() - start) * 1000, 1)
        status = timeout_handler()(log, ctx, recipient, err, elapsed)
        return 200, {"status": status}
    log.event("email_queued", **ctx.ids(), recipient=recipient,
              duration_ms=round((time.monotonic() - start) * 1000, 1))
    return 200, {"status": "queued"}


serve({("POST", "/notify"): notify}, log)
