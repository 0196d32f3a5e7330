"""Lab 03 as functions the notebook calls: apply the Terraform config, break it twice, check."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..aws import AwsTarget, EmbeddedAWS, open_backend
from ..errors import ComponentError, InputError
from ..paths import LABS
from ..runtime import Run
from .check import DriftReport
from .fetch import check_drift, fetch_groups
from .rules import Rule, make_rule
from .terraform import PlanResult, Terraform, find_terraform
from .tfstate import write_state

LAB = LABS / "03-drift-detection"
LAB_TAG = {"Key": "labkit:lab", "Value": "03-drift-detection"}


@dataclass
class DriftLab:
    """The lab's VPC, its Terraform-managed group and the state file that describes it."""

    run: Run
    target: AwsTarget
    vpc_id: str
    group_id: str
    state_path: Path
    applied_with: str
    endpoint: EmbeddedAWS | None = None
    created: list[str] = field(default_factory=list)  # groups made outside Terraform (to delete on AWS)
    terraform: Terraform | None = None  # the working directory terraform applied (None: it did not run)
    private_cidr: str = "10.20.0.0/16"
    ssh_cidrs: list[str] = field(default_factory=list)  # what main.tf's var.ssh_cidrs is set to now

    def codify_ssh(self, cidrs: list[str]) -> str:
        """Set main.tf's ssh_cidrs and apply: SSH from exactly these ranges, everything else reverted.

        With Terraform, a real `terraform apply` (inline ingress blocks are authoritative, so the
        console rule goes); without it, the same end state through EC2 and a rewritten state file.
        Returns how it was applied.
        """
        cidrs = ssh_ranges(cidrs)
        if self.terraform is not None:
            self.terraform.set_list("ssh_cidrs", cidrs)
            self.terraform.apply("terraform-apply-ssh")
            self.ssh_cidrs = cidrs
            return "terraform apply -var ssh_cidrs=" + json.dumps(cidrs)
        ec2 = self.ec2()
        wanted = _ingress_permissions(self.private_cidr, cidrs)
        live = fetch_groups(ec2, [self.group_id])[self.group_id].get("IpPermissions", [])
        extra, missing = _without(live, wanted), _without(wanted, live)
        if extra:
            ec2.revoke_security_group_ingress(GroupId=self.group_id, IpPermissions=extra)
        if missing:
            ec2.authorize_security_group_ingress(GroupId=self.group_id, IpPermissions=missing)
        write_state(self.state_path, {"web": fetch_groups(ec2, [self.group_id])[self.group_id]}, self.target.region)
        self.ssh_cidrs = cidrs
        return "labkit: the same change through EC2, state rewritten (terraform not available)"

    def plan(self) -> PlanResult:
        """`terraform plan -detailed-exitcode` on the lab's configuration: what the standard tool sees."""
        if self.terraform is None:
            return PlanResult(None, [], "terraform did not run here (no binary or provider): no plan to show")
        return self.terraform.plan()

    def ec2(self):
        """An EC2 client for the lab's endpoint or account."""
        return self.target.client("ec2")

    def check(self, **options: Any) -> DriftReport:
        """The drift check on this lab's state file (options as check_drift)."""
        return check_drift(self.ec2(), [self.state_path], vpc_id=options.pop("vpc_id", self.vpc_id), **options)

    def open_ssh(self) -> Rule:
        """Break 1: someone opens tcp 22 to the world in the console, outside Terraform."""
        self.ec2().authorize_security_group_ingress(
            GroupId=self.group_id,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "temp debug access"}]}])
        return make_rule("ingress", "tcp", 22, 22, "0.0.0.0/0")

    def revoke_ssh(self) -> None:
        """A human decision, made after the check: remove the console rule by hand."""
        self.ec2().revoke_security_group_ingress(
            GroupId=self.group_id,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    def write_allowlist(self, entries: list[dict[str, Any]]) -> Path:
        """Save accepted exceptions as the JSON file `labkit drift check --allow` reads."""
        import json

        path = self.run.dir / "accepted-exceptions.json"
        path.write_text(json.dumps(entries, indent=2))
        return path

    def create_unmanaged(self, name: str = "debug-temp") -> str:
        """Break 2: a whole new group, created outside Terraform, with a rule of its own."""
        ec2 = self.ec2()
        gid = ec2.create_security_group(
            GroupName=name, Description="created by hand during an incident", VpcId=self.vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": [LAB_TAG]}])["GroupId"]
        self.created.append(gid)
        ec2.authorize_security_group_ingress(
            GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                                         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        return gid


def ssh_ranges(cidrs: Any) -> list[str]:
    """The SSH source ranges as main.tf takes them; refuses what is not a CIDR, and the whole internet."""
    if isinstance(cidrs, str) or not isinstance(cidrs, (list, tuple)):
        raise InputError("ssh_cidrs must be a list of CIDR ranges, e.g. ['10.8.0.0/24']")
    out = []
    for c in cidrs:
        try:
            net = ipaddress.ip_network(str(c), strict=True)
        except ValueError as err:
            raise InputError(f"{c!r} is not a CIDR range ({err})") from None
        if net.prefixlen == 0:
            raise InputError("SSH from 0.0.0.0/0 is open to the whole internet: name the VPN or bastion range instead")
        out.append(str(net))
    return sorted(set(out))


def _one_source(perms: list[dict[str, Any]]) -> list[tuple]:
    return [(p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"), r["CidrIp"])
            for p in perms for r in p.get("IpRanges", [])]


def _without(perms: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The IPv4 permissions of perms (one range each) that other does not have."""
    have = set(_one_source(other))
    return [{"IpProtocol": proto, "FromPort": lo, "ToPort": hi, "IpRanges": [{"CidrIp": cidr}]}
            for proto, lo, hi, cidr in _one_source(perms) if (proto, lo, hi, cidr) not in have]


def _ingress_permissions(private_cidr: str, ssh_cidrs: list[str]) -> list[dict[str, Any]]:
    """The ingress main.tf declares: HTTPS from the private network, SSH from each range."""
    return [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": private_cidr, "Description": "HTTPS from the private network"}]},
            *({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
               "IpRanges": [{"CidrIp": c, "Description": f"SSH from {c} (see the incident ticket)"}]}
              for c in ssh_cidrs)]


def _apply_boto3(run: Run, target: AwsTarget, vpc_id: str, name: str, private_cidr: str) -> tuple[Path, str]:
    ec2 = target.client("ec2")
    gid = ec2.create_security_group(
        GroupName=name, Description="Lab 03: HTTPS from the private network", VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group",
                            "Tags": [{"Key": "Name", "Value": name}, LAB_TAG]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "IpRanges": [{"CidrIp": private_cidr, "Description": "HTTPS from the private network"}]}])
    group = ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroups"][0]
    path = write_state(run.dir / "terraform.tfstate", {"web": group}, target.region)
    return path, "labkit: boto3 + a Terraform-format state file (terraform not available)"


def start_lab(run: Run, backend: str = "local", use_terraform: str = "auto", profile: str | None = None,
              region: str = "us-east-1", allow_real_changes: bool = False, name: str = "lab03-web",
              private_cidr: str = "10.20.0.0/16") -> DriftLab:
    """Create the lab's VPC and group (terraform if it can run, else boto3 + state writer)."""
    if use_terraform not in ("auto", "yes", "no"):
        raise InputError("use_terraform must be auto, yes or no")
    target, endpoint = open_backend(run, backend, region, profile, "creates and changes security groups",
                                    allow_real_changes)
    ec2 = target.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=private_cidr, TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [LAB_TAG, {"Key": "Name", "Value": "lab03"}]}])["Vpc"]["VpcId"]
    terraform, mirror = find_terraform()
    want_tf = use_terraform == "yes" or (use_terraform == "auto" and terraform is not None)
    if use_terraform == "yes" and terraform is None:
        raise InputError("use_terraform='yes' but terraform is not on PATH")
    state_path, how, tf = None, "", None
    if want_tf:
        try:
            tf = Terraform.init(run, terraform, mirror, LAB / "main.tf", target, {
                "vpc_id": vpc_id, "name": name, "region": target.region,
                "endpoint_url": target.endpoint_url or "", "private_cidr": private_cidr})
            tf.apply()
            state_path, how = tf.state_path, "terraform apply (real Terraform)"
        except ComponentError as err:
            if use_terraform == "yes":
                raise
            tf, how = None, f"(terraform could not run here: {err}) "
    if state_path is None:
        state_path, fallback = _apply_boto3(run, target, vpc_id, name, private_cidr)
        how += fallback
    group_id = _group_id(state_path)
    lab = DriftLab(run, target, vpc_id, group_id, state_path, how, endpoint, terraform=tf,
                   private_cidr=private_cidr)
    if backend == "aws":
        run.add_cleanup("lab 03 AWS resources", lambda: _delete_real(lab))
    return lab


def _group_id(state_path: Path) -> str:
    from .state import managed_groups

    groups = managed_groups([state_path])
    if len(groups) != 1:
        raise ComponentError(f"expected one group in {state_path}, found {len(groups)}")
    return next(iter(groups))


def _delete_real(lab: DriftLab) -> None:
    """On real AWS: delete only what the lab created (its tagged groups, then its VPC)."""
    ec2 = lab.ec2()
    for gid in [*lab.created, lab.group_id]:
        ec2.delete_security_group(GroupId=gid)
    ec2.delete_vpc(VpcId=lab.vpc_id)
