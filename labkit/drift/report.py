"""The human-readable drift report (what `labkit drift check` prints)."""

from __future__ import annotations

from .check import DriftReport


def render(report: DriftReport) -> str:
    """The human-readable report."""
    out = []
    for g in report.groups:
        out.append(f"{g.id} ({g.name or '?'}; {', '.join(g.addresses)}): {g.status}")
        out += [f"    + {r}   (added outside Terraform)" for r in g.added]
        out += [f"    - {r}   (removed outside Terraform)" for r in g.removed]
        out += [f"    ~ {a['direction']} {a['protocol']} {a['from_port']} from {a['source']}   "
                f"(accepted until {a['expires']}: {a['reason']})" for a in g.accepted]
    if report.unmanaged is not None:
        for u in report.unmanaged:
            out.append(f"UNMANAGED {u['id']} ({u['name']}, {u['vpc_id']}): {u['rules']} rules, in no state file")
        for d in report.default_groups:
            out.append(f"default group {d['id']} ({d['vpc_id']}){' managed' if d['managed'] else ''}")
        if report.coverage:
            c = report.coverage
            out.append(f"coverage: {c['managed']}/{c['total']} groups managed by Terraform")
    out.append("findings" if report.has_findings else "no drift")
    return "\n".join(out)
