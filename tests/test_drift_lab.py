"""Lab 03 end to end: the group created both ways, the two breaks, the exercise checker."""

from __future__ import annotations

import json

import pytest

from labkit.drift.exercise import check_codified
from labkit.drift.lab import start_lab
from labkit.errors import InputError
from labkit.exercises import load_solution
from labkit.runtime import Run

REQUIRED = {"id", "arn", "name", "description", "vpc_id", "owner_id", "ingress", "egress", "tags"}
BLOCK_KEYS = {"cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids", "security_groups", "self", "from_port",
              "to_port", "protocol", "description"}


def lab_flow(lab):
    assert not lab.check(unmanaged=True).has_findings
    lab.open_ssh()
    report = lab.check()
    assert report.groups[0].status == "drift" and [str(r) for r in report.groups[0].added] == [
        "ingress tcp 22 from 0.0.0.0/0"]
    lab.revoke_ssh()
    new = lab.create_unmanaged()
    assert not lab.check().has_findings
    scan = lab.check(unmanaged=True)
    assert [u["id"] for u in scan.unmanaged] == [new] and scan.coverage == {"managed": 1, "total": 2}
    return scan


def test_without_terraform_labkit_writes_the_state_terraform_would(assert_port_free):
    with Run("test-lab03") as run:
        lab = start_lab(run, use_terraform="no")
        state = json.loads(lab.state_path.read_text())
        assert state["version"] == 4 and state["lineage"] and state["serial"] >= 1
        (res,) = state["resources"]
        attrs = res["instances"][0]["attributes"]
        assert res["type"] == "aws_security_group" and REQUIRED <= set(attrs)
        assert all(BLOCK_KEYS <= set(b) for b in attrs["ingress"] + attrs["egress"])
        assert "boto3" in lab.applied_with
        scan = lab_flow(lab)
        lab.open_ssh()
        assert check_codified(lab.check(unmanaged=True), VPN) == (False, "the group still differs from its state: "
                                                                        "lab03-web: +1 -0")
        codify_and_check(lab)
        port = lab.endpoint.port
    assert scan.api_calls == 2
    assert_port_free(port)


VPN = "10.8.0.0/24"


def codify_and_check(lab, wrong_answers: bool = True):
    """The exercise on a lab with the console rule and the hand-made group: wrong answers, then the reference."""
    with pytest.raises(InputError, match="whole internet"):
        lab.codify_ssh(["0.0.0.0/0"])
    with pytest.raises(InputError, match="not a CIDR"):
        lab.codify_ssh(["10.8.0.0/33"])
    if wrong_answers:
        lab.codify_ssh(["10.0.0.0/8"])
        passed, why = check_codified(lab.check(unmanaged=True), VPN)
        assert not passed and "beyond the VPN range" in why
        lab.codify_ssh([])
        assert check_codified(lab.check(unmanaged=True), VPN) == (
            False, "no SSH rule is left: the incident still needs SSH from the VPN for a week")
    lab.codify_ssh(load_solution("03-drift-detection", "ssh_from")(VPN))
    report = lab.check(unmanaged=True)
    assert check_codified(report, VPN) == (True, "")
    ssh = [str(r) for r in report.groups[0].actual if r.from_port == 22]
    assert ssh == ["ingress tcp 22 from 10.8.0.0/24"]  # the console rule from 0.0.0.0/0 is gone
