"""Reference fix of the Lab 02 exercise: the timeout becomes a structured, traced event."""


def on_email_timeout(log, ctx, recipient, error, elapsed_ms):
    log.event("email_timeout", "ERROR", **ctx.ids(), recipient=recipient, duration_ms=elapsed_ms,
              error=str(error))
    return "failed"
