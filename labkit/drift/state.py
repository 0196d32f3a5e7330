"""Read Terraform state files (format version 4): which groups and rules Terraform manages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..jsonfile import read_json
from .rules import Rule, from_terraform_block, from_vpc_rule_resource

GROUP_TYPES = ("aws_security_group", "aws_default_security_group")
RULE_TYPES = ("aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
              "aws_vpc_security_group_egress_rule")


@dataclass
class ManagedGroup:
    """A security group as the state files describe it: the union of every way its rules were recorded."""

    id: str
    addresses: list[str] = field(default_factory=list)
    name: str | None = None
    vpc_id: str | None = None
    default: bool = False
    rule_only: bool = True  # known only through rule resources
    rules: set[Rule] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)  # state files


def _address(res: dict[str, Any], inst: dict[str, Any]) -> str:
    base = f"{res.get('type')}.{res.get('name')}"
    if res.get("module"):
        base = f"{res['module']}.{base}"
    key = inst.get("index_key")
    if key is not None:
        base += f"[{json.dumps(key)}]"
    return base


def load_state(path: str | Path) -> dict[str, Any]:
    """A state file's JSON, checked for format version 4."""
    data = read_json(path, "state file")
    if not isinstance(data, dict) or "version" not in data:
        raise InputError(f"{path}: not a Terraform state file (no 'version')")
    if data["version"] != 4:
        raise InputError(f"{path}: unsupported state version {data['version']!r}; labkit reads version 4 "
                         "(Terraform 0.12 and later: `terraform state pull` with a current Terraform)")
    if not isinstance(data.get("resources", []), list):
        raise InputError(f"{path}: 'resources' must be a list")
    return data


def managed_groups(paths: list[str | Path]) -> dict[str, ManagedGroup]:
    """Every group the state files manage, by id, with the union of its expected rules."""
    if not paths:
        raise InputError("give at least one state file")
    groups: dict[str, ManagedGroup] = {}

    def group(gid: str, path: Path) -> ManagedGroup:
        g = groups.setdefault(gid, ManagedGroup(gid))
        if str(path) not in g.sources:
            g.sources.append(str(path))
        return g

    for path in map(Path, paths):
        data = load_state(path)
        for res in data.get("resources", []):
            if not isinstance(res, dict) or res.get("mode", "managed") != "managed":
                continue
            rtype = res.get("type")
            if rtype not in GROUP_TYPES + RULE_TYPES:
                continue
            for inst in res.get("instances", []) or []:
                attrs = inst.get("attributes") if isinstance(inst, dict) else None
                if not isinstance(attrs, dict):
                    if isinstance(inst, dict) and isinstance(inst.get("attributes_flat"), dict):
                        raise InputError(f"{path}: {_address(res, inst)} is in the older attributes_flat form "
                                         "(written by Terraform before 0.12): re-save the state with Terraform "
                                         "0.12 or newer (terraform state pull > terraform.tfstate)")
                    raise InputError(f"{path}: {_address(res, inst or {})} has no attributes")
                where = f"{path}: {_address(res, inst)}"
                try:
                    _add(rtype, attrs, group, path, _address(res, inst))
                except InputError as err:
                    raise InputError(f"{where}: {err}") from None
                except (KeyError, TypeError, AttributeError, ValueError) as err:
                    raise InputError(f"{where}: missing or malformed attribute ({type(err).__name__}: {err})") from None
    return groups


def _shape(value: Any) -> str:
    """A value's type as a state file reader would name it."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _add(rtype: str, attrs: dict[str, Any], group, path: Path, address: str) -> None:
    if rtype in GROUP_TYPES:
        gid = attrs["id"]
        g = group(gid, path)
        g.addresses.append(address)
        g.name, g.vpc_id = attrs.get("name") or g.name, attrs.get("vpc_id") or g.vpc_id
        g.default = g.default or rtype == "aws_default_security_group"
        g.rule_only = False
        for direction in ("ingress", "egress"):
            blocks = attrs.get(direction) or []
            if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
                raise InputError(f"{direction} must be a list of rule blocks (objects), got {_shape(blocks)}")
            for block in blocks:
                g.rules.update(from_terraform_block(direction, block, gid))
        return
    gid = attrs["security_group_id"]
    g = group(gid, path)
    g.addresses.append(address)
    if rtype == "aws_security_group_rule":
        g.rules.update(from_terraform_block(attrs["type"], attrs, gid))
    else:
        direction = "ingress" if rtype.endswith("ingress_rule") else "egress"
        g.rules.update(from_vpc_rule_resource(direction, attrs, gid))
