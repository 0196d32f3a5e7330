"""One Kubernetes probe run on this machine, as the kubelet runs it: httpGet, tcpSocket or exec."""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_probe(probe: dict[str, Any], host_port: Callable[[Any], int | None], env: dict[str, str],
          cwd: Path | None) -> tuple[bool, str]:
    """Run one probe (httpGet, tcpSocket or exec) as the kubelet does; (passed, why not)."""
    timeout = float(probe.get("timeoutSeconds", 1))
    if probe.get("exec"):
        argv = (probe["exec"].get("command") or [])
        if not argv:
            return False, "exec probe has no command"
        try:
            done = subprocess.run(argv, env=env, cwd=str(cwd) if cwd else None, timeout=timeout,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            return False, f"command timed out after {timeout:g}s"
        except OSError as err:
            return False, f"exec failed: {err}"
        return done.returncode == 0, (done.stdout + done.stderr).strip()[-200:] or f"exit code {done.returncode}"
    if probe.get("tcpSocket"):
        port = host_port(probe["tcpSocket"].get("port"))
        if not port:
            return False, "no such port"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
            return True, ""
        except OSError as err:
            return False, f"dial tcp 127.0.0.1:{port}: {err}"
    get = probe.get("httpGet") or {}
    port = host_port(get.get("port"))
    if not port:
        return False, "no such port"
    url = f"http://127.0.0.1:{port}{get.get('path', '/')}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 400, f"HTTP probe failed with statuscode: {resp.status}"
    except urllib.error.HTTPError as err:
        return 200 <= err.code < 400, f"HTTP probe failed with statuscode: {err.code}"
    except (OSError, ValueError) as err:
        return False, f'Get "{url}": {getattr(err, "reason", None) or err}'
