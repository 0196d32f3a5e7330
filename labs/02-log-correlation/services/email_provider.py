"""A mock e-mail provider: accepts mail, or - told so - answers slower than callers wait."""

from __future__ import annotations

import os
import threading
import time

from common import Context, Log, serve

log = Log("email-provider", os.environ["LOG_FILE"])
state = {"delay_s": 0.0, "in_flight": 0}
lock = threading.Lock()


def send(body: dict, headers) -> tuple[int, dict]:
    ctx = Context.from_headers(headers)  # a request without trace headers gets no payment trace ID
    with lock:
        state["in_flight"] += 1
    try:
        time.sleep(state["delay_s"])
        log.event("email_accepted", **ctx.ids(), recipient=body.get("to"), template=body.get("template"))
    finally:
        with lock:
            state["in_flight"] -= 1
    return 202, {"status": "accepted"}


def in_flight(body: dict, headers) -> tuple[int, dict]:
    """How many sends are still being answered (the lab waits for zero before it reads the logs)."""
    return 200, {"in_flight": state["in_flight"]}


def set_delay(body: dict, headers) -> tuple[int, dict]:
    state["delay_s"] = float(body.get("delay_s", 0.0))
    return 200, {"delay_s": state["delay_s"]}


serve({("POST", "/send"): send, ("POST", "/admin/delay"): set_delay, ("GET", "/admin/in-flight"): in_flight}, log)
