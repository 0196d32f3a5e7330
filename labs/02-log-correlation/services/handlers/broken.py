"""The notification service's timeout handler as it ships: the bug the lab is about.

It writes a plain-text line without the trace ID and still reports success.
"""


def on_email_timeout(log, ctx, recipient, error, elapsed_ms):
    log.plain(f"ERROR Connection timeout to email provider after {elapsed_ms} ms ({error})")
    return "queued"
