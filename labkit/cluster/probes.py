"""Kubernetes probes on this machine, as the kubelet runs them: one probe (httpGet, tcpSocket or exec),
and a container's due probes with their thresholds."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .container import PROBES

if TYPE_CHECKING:
    from .container import Container


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


def arm_probes(c: Container) -> None:
    """A container just started: its probes are due after their initialDelaySeconds; it is Started
    at once without a startup probe, and Ready at once without a readiness probe either."""
    c.probes = {kind: {"next": c.started_mono + float(c.spec[f"{kind}Probe"].get("initialDelaySeconds", 0)),
                       "successes": 0, "failures": 0}
                for kind in PROBES if c.spec.get(f"{kind}Probe")}
    c.started = "startup" not in c.probes
    c.ready = c.started and "readiness" not in c.probes


def probe_container(c: Container, host_port: Callable[[Any], int | None],
                    unhealthy: Callable[[str], None]) -> tuple[bool, str | None]:
    """Run a running container's due probes: startup first (nothing else runs until it passes), then
    readiness (Ready or not) and liveness. Returns (readiness or started changed, why to kill it or None):
    a startup or liveness probe that reached failureThreshold restarts the container."""
    before = (c.ready, c.started)
    for kind in (("startup",) if not c.started else ("readiness", "liveness")):
        state = c.probes.get(kind)
        if state is None or time.monotonic() < state["next"]:
            continue
        probe = c.spec[f"{kind}Probe"]
        state["next"] = time.monotonic() + float(probe.get("periodSeconds", 10))
        ok, why = run_probe(probe, host_port, c.full_env, c.root)
        if ok:
            state["successes"], state["failures"] = state["successes"] + 1, 0
        else:
            state["failures"], state["successes"] = state["failures"] + 1, 0
            unhealthy(f"{kind.capitalize()} probe failed: {why}")
        threshold_met = state["failures"] >= int(probe.get("failureThreshold", 3))
        if kind == "readiness":
            if ok and state["successes"] >= int(probe.get("successThreshold", 1)):
                c.ready = True
            elif not ok and (threshold_met or not c.ready):
                c.ready = False
        elif kind == "startup" and ok:
            c.started = True
            c.ready = "readiness" not in c.probes
            for other in ("readiness", "liveness"):
                if other in c.probes:
                    c.probes[other]["next"] = time.monotonic()
        elif not ok and threshold_met:
            return before != (c.ready, c.started), f"Container {c.name} failed {kind} probe, will be restarted"
    return before != (c.ready, c.started), None
