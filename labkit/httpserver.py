"""The HTTP servers labkit runs inside a notebook's kernel (the local API server, pod discovery).

Python's socketserver prints a request handler's traceback to stderr - in a notebook, into
whatever cell happens to be running. Here it goes to a log file in the run's directory.
"""

from __future__ import annotations

import datetime as dt
import traceback
from http.server import ThreadingHTTPServer
from pathlib import Path


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server on daemon threads whose request errors go to `error_log`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, error_log: Path):
        self.error_log = Path(error_log)
        super().__init__(address, handler)

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - socketserver's signature
        """Log a request's exception to the error log, never to stderr."""
        log_error(self.error_log, f"serving {client_address[0]}:{client_address[1]}")


def log_error(path: Path, what: str) -> None:
    """Append the exception being handled, with a time stamp, to path."""
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{stamp} error {what}:\n{traceback.format_exc()}\n")
