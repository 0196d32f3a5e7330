"""Security group rules in one comparable form, whatever wrote them.

Terraform's inline blocks, ``aws_security_group_rule``, the ``aws_vpc_security_group_*_rule``
resources and EC2's ``IpPermissions`` all become :class:`Rule` values: one direction,
one protocol (names and numbers unified, ``all`` without ports), one port range and
one source (IPv4 CIDR, IPv6 CIDR, ``sg-...``, ``pl-...`` or ``self``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InputError

PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "-1": "all", "all": "all"}


@dataclass(frozen=True, order=True)
class Rule:
    """One normalised rule: direction, protocol, ports and a single source."""

    direction: str
    protocol: str
    from_port: int | None
    to_port: int | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    def __str__(self) -> str:
        ports = "" if self.from_port is None else (
            f" {self.from_port}" if self.from_port == self.to_port else f" {self.from_port}-{self.to_port}")
        word = "from" if self.direction == "ingress" else "to"
        return f"{self.direction} {self.protocol}{ports} {word} {self.source}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        """A rule from {direction, protocol, from_port, to_port, source} (allowlists, JSON)."""
        try:
            return make_rule(data["direction"], data["protocol"], data.get("from_port"), data.get("to_port"),
                             str(data["source"]))
        except KeyError as err:
            raise InputError(f"a rule needs {err.args[0]!r}") from None


def protocol_name(value: Any) -> str:
    """tcp/udp/icmp/icmpv6/all from a name or an IANA number; other numbers stay numbers."""
    text = str(value).strip().lower()
    return PROTOCOLS.get(text, text)


def _port(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"port {value!r} is not a number") from None


def source_name(value: str, own_group: str | None = None) -> str:
    """A canonical source: CIDRs normalised, the group itself as 'self'."""
    value = str(value).strip()
    if own_group and value == own_group:
        return "self"
    if value.startswith(("sg-", "pl-")) or value == "self":
        return value
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise InputError(f"rule source {value!r} is not a CIDR, a group, a prefix list or self") from None


def make_rule(direction: str, protocol: Any, from_port: Any, to_port: Any, source: str,
              own_group: str | None = None) -> Rule:
    """A normalised Rule; ports are dropped for protocol 'all', as AWS ignores them."""
    direction = str(direction).lower()
    if direction not in ("ingress", "egress"):
        raise InputError(f"rule direction must be ingress or egress, got {direction!r}")
    proto = protocol_name(protocol)
    if proto == "all":
        return Rule(direction, proto, None, None, source_name(source, own_group))
    return Rule(direction, proto, _port(from_port), _port(to_port), source_name(source, own_group))


def _list(value: Any) -> list:
    return [v for v in (value or []) if v not in (None, "")]


def from_terraform_block(direction: str, block: dict[str, Any], own_group: str | None) -> Iterator[Rule]:
    """Rules of one inline ingress/egress block (or an aws_security_group_rule): one per source."""
    proto, lo, hi = block.get("protocol"), block.get("from_port"), block.get("to_port")
    sources = (_list(block.get("cidr_blocks")) + _list(block.get("ipv6_cidr_blocks"))
               + _list(block.get("prefix_list_ids")) + _list(block.get("security_groups")))
    if block.get("source_security_group_id"):
        sources.append(block["source_security_group_id"])
    if block.get("self"):
        sources.append("self")
    for source in sources:
        yield make_rule(direction, proto, lo, hi, source, own_group)


def from_vpc_rule_resource(direction: str, attrs: dict[str, Any], own_group: str | None) -> Iterator[Rule]:
    """The rule of an aws_vpc_security_group_ingress_rule / _egress_rule (one source each)."""
    for key in ("cidr_ipv4", "cidr_ipv6", "prefix_list_id", "referenced_security_group_id"):
        if attrs.get(key):
            yield make_rule(direction, attrs.get("ip_protocol"), attrs.get("from_port"), attrs.get("to_port"),
                            attrs[key], own_group)


def from_ip_permissions(direction: str, permissions: Iterable[dict[str, Any]], own_group: str) -> set[Rule]:
    """Rules of EC2's IpPermissions / IpPermissionsEgress: one per source."""
    rules: set[Rule] = set()
    for perm in permissions:
        proto, lo, hi = perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort")
        sources = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        sources += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
        sources += [r["PrefixListId"] for r in perm.get("PrefixListIds", [])]
        sources += [p["GroupId"] for p in perm.get("UserIdGroupPairs", []) if p.get("GroupId")]
        rules.update(make_rule(direction, proto, lo, hi, s, own_group) for s in sources)
    return rules
