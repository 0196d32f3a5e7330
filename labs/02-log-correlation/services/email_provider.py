"""A mock e-mail provider: accepts mail, or - told so - answers slower than callers wait."""

from __future__ import annotations

import os
import time

from common import Context, Log, serve

log = Log("email-provider", os.environ["LOG_FILE"])
state = {"delay_s": 0.0}


def send(body: dict, headers) -> tuple[int, dict]:
    ctx = Context.from_headers(headers)
    time.sleep(state["delay_s"])
    log.event("email_accepted", **ctx.ids(), recipient=body.get("to"), template=body.get("template"))
    return 202, {"status": "accepted"}


def set_delay(body: dict, headers) -> tuple[int, dict]:
    state["delay_s"] = float(body.get("delay_s", 0.0))
    return 200, {"delay_s": state["delay_s"]}


serve({("POST", "/send"): send, ("POST", "/admin/delay"): set_delay}, log)
