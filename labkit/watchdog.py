"""Kill a run's process groups when the process that owns the run goes away.

The owner keeps the write end of a pipe whose read end is this process's stdin and
writes ``add PGID`` / ``del PGID`` lines.  End of file means the owner has exited -
cleanly, by an exception, or by SIGKILL - so every group still registered is sent
SIGTERM and, after a grace period, SIGKILL.  This module imports nothing heavy: it
starts in a few milliseconds and must not depend on the owner's state.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_groups(pgids: set[int], grace: float) -> None:
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pgids):
        time.sleep(0.05)
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def main() -> None:
    """Read commands from stdin until EOF, then stop whatever is still registered."""
    grace = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    # The owner may be killed with its whole process group or session: ignore the
    # signals a terminal or a kernel manager sends along, we exit on EOF only.
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    pgids: set[int] = set()
    for line in sys.stdin:
        verb, _, arg = line.strip().partition(" ")
        if verb == "add" and arg.isdigit():
            pgids.add(int(arg))
        elif verb == "del" and arg.isdigit():
            pgids.discard(int(arg))
    _kill_groups(pgids, grace)


if __name__ == "__main__":
    main()
