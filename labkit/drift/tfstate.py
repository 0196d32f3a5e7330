"""Write a Terraform state file (format version 4) for a security group created without Terraform.

Only used when ``terraform`` cannot run here: the attributes are the ones the AWS
provider records for ``aws_security_group``, read back from the live group.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'


def _blocks(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Terraform's inline blocks: one per permission and description, sources grouped."""
    blocks = []
    for perm in permissions:
        proto = perm.get("IpProtocol", "-1")
        by_desc: dict[str, dict[str, list]] = {}
        pairs = ([(r.get("Description"), "cidr_blocks", r["CidrIp"]) for r in perm.get("IpRanges", [])]
                 + [(r.get("Description"), "ipv6_cidr_blocks", r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])]
                 + [(r.get("Description"), "prefix_list_ids", r["PrefixListId"])
                    for r in perm.get("PrefixListIds", [])]
                 + [(r.get("Description"), "security_groups", r["GroupId"])
                    for r in perm.get("UserIdGroupPairs", [])])
        for desc, key, value in pairs:
            slot = by_desc.setdefault(desc or "", {"cidr_blocks": [], "ipv6_cidr_blocks": [],
                                                   "prefix_list_ids": [], "security_groups": []})
            slot[key].append(value)
        for desc, sources in by_desc.items():
            blocks.append({
                **{k: sorted(v) for k, v in sources.items()},
                "description": desc,
                "from_port": 0 if proto == "-1" else perm.get("FromPort", 0),
                "to_port": 0 if proto == "-1" else perm.get("ToPort", 0),
                "protocol": proto,
                "self": False,
            })
    return blocks


def group_attributes(group: dict[str, Any], region: str) -> dict[str, Any]:
    """aws_security_group attributes as the provider records them."""
    gid, owner = group["GroupId"], group.get("OwnerId", "")
    tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
    return {
        "arn": f"arn:aws:ec2:{region}:{owner}:security-group/{gid}",
        "description": group.get("Description", ""),
        "egress": _blocks(group.get("IpPermissionsEgress", [])),
        "id": gid,
        "ingress": _blocks(group.get("IpPermissions", [])),
        "name": group.get("GroupName", ""),
        "name_prefix": "",
        "owner_id": owner,
        "revoke_rules_on_delete": False,
        "tags": tags,
        "tags_all": tags,
        "timeouts": None,
        "vpc_id": group.get("VpcId", ""),
    }


def write_state(path: Path, resources: dict[str, dict[str, Any]], region: str,
                terraform_version: str = "1.11.4") -> Path:
    """Write {resource name: live group} as aws_security_group resources; returns path."""
    state = {
        "version": 4,
        "terraform_version": terraform_version,
        "serial": 1,
        "lineage": str(uuid.uuid4()),
        "outputs": {},
        "resources": [
            {"mode": "managed", "type": "aws_security_group", "name": name, "provider": PROVIDER,
             "instances": [{"schema_version": 1, "attributes": group_attributes(group, region),
                            "sensitive_attributes": [], "private": ""}]}
            for name, group in resources.items()
        ],
        "check_results": None,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)
    return path
