"""Lab 03's exercise check: SSH codified narrowly, the hand-made group still reported."""

from __future__ import annotations

import ipaddress

from .check import DriftReport


def check_codified(report: DriftReport, vpn_cidr: str) -> tuple[bool, str]:
    """The exercise checker: the managed group has no drift, SSH comes only from inside the VPN range
    (and does come from it), and the group made by hand is still reported. Returns (passed, why not)."""
    vpn = ipaddress.ip_network(vpn_cidr)
    if report.drifted:
        return False, "the group still differs from its state: " + "; ".join(
            f"{g.name}: +{len(g.added)} -{len(g.removed)}" for g in report.drifted)
    ssh = [r for g in report.groups for r in g.actual
           if r.direction == "ingress" and r.protocol == "tcp" and r.from_port is not None
           and r.from_port <= 22 <= (r.to_port or 22)]
    if not ssh:
        return False, "no SSH rule is left: the incident still needs SSH from the VPN for a week"
    wide = [r.source for r in ssh if not _inside(r.source, vpn)]
    if wide:
        return False, f"SSH from {', '.join(wide)} reaches beyond the VPN range {vpn_cidr}"
    if not report.unmanaged:
        return False, "the group made by hand is no longer reported"
    return True, ""


def _inside(source: str, vpn: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        net = ipaddress.ip_network(source)
    except ValueError:
        return False  # a security group or prefix list as source: not a range inside the VPN
    return net.version == vpn.version and net.subnet_of(vpn)  # type: ignore[arg-type]
