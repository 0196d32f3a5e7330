"""The drift check against the embedded AWS endpoint, with state files built in the tests."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from conftest import LABKIT

from labkit.aws import EmbeddedAWS
from labkit.drift import check_drift, fetch_groups, make_rule
from labkit.errors import InputError
from labkit.runtime import Run
from labkit.waiting import free_port


@pytest.fixture(scope="module")
def endpoint():
    with Run("test-drift") as run:
        yield EmbeddedAWS(run).start()


@pytest.fixture
def aws(endpoint):
    """The shared endpoint, and a VPC of this test's own."""
    ec2 = endpoint.target().client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    return endpoint, ec2, vpc


def make_group(ec2, vpc, name, *perms):
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    if perms:
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=list(perms))
    return gid


def tcp(port, cidr="10.0.0.0/8", proto="tcp"):
    return {"IpProtocol": proto, "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


def write_state(tmp_path, groups: dict[str, list[dict]], name="terraform.tfstate"):
    """groups: id -> inline ingress blocks; egress = the default all-outbound rule."""
    resources = []
    for i, (gid, ingress) in enumerate(groups.items()):
        attrs = {"id": gid, "name": f"g{i}", "vpc_id": "", "ingress": ingress, "egress": [
            {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]}
        resources.append({"mode": "managed", "type": "aws_security_group", "name": f"g{i}",
                          "instances": [{"attributes": attrs}]})
    path = tmp_path / name
    path.write_text(json.dumps({"version": 4, "resources": resources}))
    return path


def inline(port, cidr="10.0.0.0/8", proto="tcp"):
    return {"protocol": proto, "from_port": port, "to_port": port, "cidr_blocks": [cidr]}


def test_when_live_matches_state_then_ok(aws, tmp_path):
    _, ec2, vpc = aws
    gid = make_group(ec2, vpc, "web", tcp(443))
    report = check_drift(ec2, [write_state(tmp_path, {gid: [inline(443)]})])
    assert [g.status for g in report.groups] == ["ok"] and not report.has_findings


def test_when_rules_change_outside_terraform_then_added_and_removed_are_reported(aws, tmp_path):
    _, ec2, vpc = aws
    gid = make_group(ec2, vpc, "web", tcp(443), tcp(22, "0.0.0.0/0"))
    report = check_drift(ec2, [write_state(tmp_path, {gid: [inline(443), inline(8443)]})])
    (g,) = report.groups
    assert g.status == "drift"
    assert g.added == [make_rule("ingress", "tcp", 22, 22, "0.0.0.0/0")]
    assert g.removed == [make_rule("ingress", "tcp", 8443, 8443, "10.0.0.0/8")]


def test_when_live_uses_protocol_numbers_and_self_then_no_false_drift(aws, tmp_path):
    _, ec2, vpc = aws
    gid = make_group(ec2, vpc, "db", tcp(5432, proto="6"))
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": gid}]}])
    state_rules = [inline(5432), {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "self": True}]
    assert not check_drift(ec2, [write_state(tmp_path, {gid: state_rules})]).has_findings


def test_when_a_managed_group_was_deleted_then_it_is_missing_and_the_others_still_checked(aws, tmp_path):
    _, ec2, vpc = aws
    keep = make_group(ec2, vpc, "keep", tcp(443))
    gone = make_group(ec2, vpc, "gone")
    ec2.delete_security_group(GroupId=gone)
    report = check_drift(ec2, [write_state(tmp_path, {keep: [inline(443)], gone: []})])
    assert {g.id: g.status for g in report.groups} == {keep: "ok", gone: "missing"}


def test_when_fetching_in_batches_then_every_group_is_found(aws):
    _, ec2, vpc = aws
    ids = [make_group(ec2, vpc, f"g{i}") for i in range(5)]
    calls = []
    ec2.meta.events.register("before-call.ec2.DescribeSecurityGroups", lambda **kw: calls.append(1))
    assert set(fetch_groups(ec2, ids + ["sg-00000000000000000"], batch=2)) == set(ids)
    assert len(calls) == 3


def test_when_a_group_is_created_outside_terraform_then_only_the_unmanaged_scan_sees_it(aws, tmp_path):
    _, ec2, vpc = aws
    gid = make_group(ec2, vpc, "web", tcp(443))
    rogue = make_group(ec2, vpc, "rogue", tcp(5432, "0.0.0.0/0"))
    path = write_state(tmp_path, {gid: [inline(443)]})
    assert not check_drift(ec2, [path]).has_findings  # the state-only view is clean
    report = check_drift(ec2, [path], unmanaged=True, vpc_id=vpc)
    assert [u["id"] for u in report.unmanaged] == [rogue] and report.has_findings
    assert [d["name"] for d in report.default_groups] == ["default"]
    assert report.coverage == {"managed": 1, "total": 2}
    strict = check_drift(ec2, [path], unmanaged=True, vpc_id=vpc, strict=True)
    assert len(strict.unmanaged) == 2 and strict.coverage == {"managed": 1, "total": 3}


def test_when_the_rogue_group_is_in_another_state_file_then_it_is_managed(aws, tmp_path):
    _, ec2, vpc = aws
    gid = make_group(ec2, vpc, "web", tcp(443))
    other = make_group(ec2, vpc, "other")
    a = write_state(tmp_path, {gid: [inline(443)]}, "a.tfstate")
    b = write_state(tmp_path, {other: []}, "b.tfstate")
    report = check_drift(ec2, [a, b], unmanaged=True, vpc_id=vpc)
    assert report.unmanaged == [] and not report.has_findings


def allowlist(tmp_path, **entry):
    base = {"group": "g0", "direction": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22,
            "source": "0.0.0.0/0", "reason": "INC-1", "expires": "2099-01-01"}
    path = tmp_path / "allow.json"
    path.write_text(json.dumps([base | entry]))
    return path


def test_when_an_exception_is_accepted_then_it_is_not_drift_until_it_expires(aws, tmp_path):
    _, ec2, vpc = aws
    gid = make_group(ec2, vpc, "web", tcp(443), tcp(22, "0.0.0.0/0"))
    state = write_state(tmp_path, {gid: [inline(443)]})
    ok = check_drift(ec2, [state], allowlist=allowlist(tmp_path), today=dt.date(2026, 1, 1))
    assert ok.groups[0].status == "ok" and ok.groups[0].accepted[0]["reason"] == "INC-1"
    expired = check_drift(ec2, [state], allowlist=allowlist(tmp_path, expires="2025-12-31"),
                          today=dt.date(2026, 1, 1))
    assert expired.groups[0].status == "drift"
    by_address = check_drift(ec2, [state], allowlist=allowlist(tmp_path, group="aws_security_group.g0"))
    assert by_address.groups[0].status == "ok"
    other_rule = check_drift(ec2, [state], allowlist=allowlist(tmp_path, from_port=2222, to_port=2222))
    assert other_rule.groups[0].status == "drift"


@pytest.mark.parametrize("entry, message", [({"reason": ""}, "reason"), ({"expires": "soon"}, "YYYY-MM-DD"),
                                            ({"direction": "sideways"}, "direction")])
def test_when_an_allowlist_entry_is_bad_then_input_error(aws, tmp_path, entry, message):
    _, ec2, vpc = aws
    gid = make_group(ec2, vpc, "web", tcp(443))
    with pytest.raises(InputError, match=message):
        check_drift(ec2, [write_state(tmp_path, {gid: [inline(443)]})], allowlist=allowlist(tmp_path, **entry))


def cli(*args):
    return subprocess.run([*LABKIT, "drift", "check", *args], capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(aws, tmp_path):
    endpoint, ec2, vpc = aws
    gid = make_group(ec2, vpc, "web", tcp(443))
    state = write_state(tmp_path, {gid: [inline(443)]})
    ok = cli(str(state), "--endpoint-url", endpoint.url, "--vpc-id", vpc, "--unmanaged", "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["groups"][0]["status"] == "ok" and out["coverage"] == {"managed": 1, "total": 1}
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[tcp(22, "0.0.0.0/0")])
    drift = cli(str(state), "--endpoint-url", endpoint.url, "--json")
    assert drift.returncode == 2
    assert json.loads(drift.stdout)["groups"][0]["added"] == [
        {"direction": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "source": "0.0.0.0/0"}]
    old = tmp_path / "old.tfstate"
    old.write_text(json.dumps({"version": 3, "modules": []}))
    for args in ([str(old), "--endpoint-url", endpoint.url],
                 [str(state), "--endpoint-url", f"http://127.0.0.1:{free_port()}"]):
        bad = cli(*args)
        assert bad.returncode == 1 and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
