"""Waiting with a deadline: free ports on 127.0.0.1, readiness probes, and `wait_until`."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .errors import ComponentError, ReadinessTimeout

LOCALHOST = "127.0.0.1"


# Between choosing a port and the server binding it, another process's bind(0) can be handed the
# same port (seen: two learners' databases on one port). Each port labkit hands out is reserved
# for a while with a file made with O_EXCL, so no other labkit process on the machine gets it.
RESERVATIONS = Path(tempfile.gettempdir()) / "labkit-ports"
RESERVE_S = 600.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now and no other labkit process has been
    handed in the last RESERVE_S seconds."""
    _reservations_dir()
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOCALHOST, 0))
            port = sock.getsockname()[1]
        if _reserve(RESERVATIONS / str(port)):
            return port
    raise ComponentError(f"no free port on {LOCALHOST} without a reservation in {RESERVATIONS}")


@functools.cache
def _reservations_dir() -> None:
    """Make the shared reservations directory once per process (sticky and shared, like /tmp)."""
    with contextlib.suppress(OSError):
        RESERVATIONS.mkdir(mode=0o1777, exist_ok=True)
        os.chmod(RESERVATIONS, 0o1777)


def _create(mark: Path) -> None:
    """Create the reservation file; FileExistsError when another process holds it."""
    os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))


def _reserve(mark: Path) -> bool:
    try:
        _create(mark)
        return True
    except FileExistsError:
        pass
    except OSError:
        return True  # no reservations possible here (read-only tmp): the port as the kernel gave it
    try:  # an old reservation: whoever renames it away takes it over (rename is atomic)
        if time.time() - mark.stat().st_mtime < RESERVE_S:
            return False
        taken = mark.with_name(f"{mark.name}.{os.getpid()}.{time.monotonic_ns()}")
        os.rename(mark, taken)
        os.unlink(taken)
        _create(mark)
        return True
    except OSError:
        return False


def port_is_listening(port: int, host: str = LOCALHOST) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tcp_probe(port: int, host: str = LOCALHOST) -> Callable[[], bool]:
    """A readiness probe that passes once host:port accepts connections."""
    return lambda: port_is_listening(port, host)


def http_probe(url: str, status: int = 200, context: ssl.SSLContext | None = None) -> Callable[[], bool]:
    """A readiness probe that passes once GET url answers the given status (HTTPS: trusting context)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1.0, context=context) as resp:
                return resp.status == status
        except urllib.error.HTTPError as err:
            return err.code == status
        except (OSError, ValueError):
            return False

    return probe


def wait_until(
    probe: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    detail: Callable[[], str] | None = None,
) -> float:
    """Poll probe until it passes; return the seconds waited or raise ReadinessTimeout."""
    start = time.monotonic()
    delay = 0.02
    while True:
        if probe():
            return time.monotonic() - start
        if alive is not None and not alive():
            extra = f": {detail()}" if detail else ""
            raise ComponentError(f"{what} exited before it became ready{extra}")
        if time.monotonic() - start > timeout:
            extra = f" ({detail()})" if detail else ""
            raise ReadinessTimeout(f"{what} was not ready after {timeout:.0f} s{extra}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
