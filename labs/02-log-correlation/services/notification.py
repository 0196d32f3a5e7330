"""notification: sends the payment e-mail through the provider.

What it does when the provider times out is the error handler in $HANDLER_FILE,
re-read whenever that file changes - so the lab can deploy a fix while it runs. When the
handler answers "queued", the e-mail goes to a retry worker that sends it once more after
$RETRY_AFTER_S - as background work often does, without the request's trace context, so
its outcome is an untraced line written after the payment's trace has ended.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time

from common import Context, Log, post_json, serve

log = Log("notification", os.environ["LOG_FILE"])
EMAIL = os.environ["EMAIL_URL"]
HANDLER_FILE = os.environ["HANDLER_FILE"]
TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT_S", "0.5"))
RETRY_AFTER = float(os.environ.get("RETRY_AFTER_S", "1.0"))
_handler = {"mtime": None, "fn": None}
_pending = {"retries": 0}
_pending_lock = threading.Lock()


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
        if status == "queued":
            _queue_retry(recipient)
        return 200, {"status": status}
    log.event("email_queued", **ctx.ids(), recipient=recipient,
              duration_ms=round((time.monotonic() - start) * 1000, 1))
    return 200, {"status": "queued"}


def _queue_retry(recipient: str) -> None:
    with _pending_lock:
        _pending["retries"] += 1
    threading.Timer(RETRY_AFTER, _retry, args=(recipient,)).start()


def _retry(recipient: str) -> None:
    """One more send, from a worker that was handed the recipient - not the trace context."""
    try:
        post_json(f"{EMAIL}/send", {"to": recipient, "template": "payment_receipt"}, {}, TIMEOUT)
        log.plain(f"retry: e-mail to {recipient} sent")
    except (TimeoutError, OSError) as err:
        log.plain(f"ERROR retry: e-mail to {recipient} failed ({err})")
    finally:
        with _pending_lock:
            _pending["retries"] -= 1


def pending(body: dict, headers) -> tuple[int, dict]:
    """How many retries are queued or in flight (the lab waits for zero before it reads the logs)."""
    return 200, {"retries": _pending["retries"]}


serve({("POST", "/notify"): notify, ("GET", "/admin/pending"): pending}, log)
