"""Parsing Terraform state written by hand in the tests (not by labkit's writer)."""

from __future__ import annotations

import json

import pytest

from labkit.drift import make_rule, managed_groups
from labkit.errors import InputError

SG = "sg-0123456789abcdef0"
OTHER = "sg-0fedcba9876543210"


def block(**kw):
    base = {"cidr_blocks": [], "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
            "self": False, "description": "", "from_port": 0, "to_port": 0, "protocol": "-1"}
    return base | kw


def group(rtype="aws_security_group", name="web", gid=SG, ingress=(), egress=(), vpc="vpc-1", index_key=None):
    inst = {"schema_version": 1, "attributes": {"id": gid, "name": name, "vpc_id": vpc, "ingress": list(ingress),
                                                "egress": list(egress), "tags": {}}}
    if index_key is not None:
        inst["index_key"] = index_key
    return {"mode": "managed", "type": rtype, "name": name, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [inst]}


def rule_resource(rtype, name, attrs):
    return {"mode": "managed", "type": rtype, "name": name, "instances": [{"attributes": attrs}]}


def state(tmp_path, resources, version=4, fname="terraform.tfstate"):
    path = tmp_path / fname
    path.write_text(json.dumps({"version": version, "terraform_version": "1.9.0", "serial": 3,
                                "lineage": "x", "outputs": {}, "resources": resources}))
    return path


HTTPS = block(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["10.0.0.0/8"])
ALL_OUT = block(cidr_blocks=["0.0.0.0/0"])


def test_when_a_group_has_inline_blocks_then_each_source_is_a_rule(tmp_path):
    path = state(tmp_path, [group(ingress=[block(protocol="tcp", from_port=80, to_port=80,
                                                 cidr_blocks=["10.0.0.0/8", "192.168.0.0/16"],
                                                 ipv6_cidr_blocks=["2001:DB8::/32"])], egress=[ALL_OUT])])
    (g,) = managed_groups([path]).values()
    assert g.rules == {
        make_rule("ingress", "tcp", 80, 80, "10.0.0.0/8"), make_rule("ingress", "tcp", 80, 80, "192.168.0.0/16"),
        make_rule("ingress", "tcp", 80, 80, "2001:db8::/32"), make_rule("egress", "-1", 0, 0, "0.0.0.0/0")}
    assert g.addresses == ["aws_security_group.web"] and g.rule_only is False


def test_when_protocols_are_numbers_or_all_then_they_equal_their_names(tmp_path):
    path = state(tmp_path, [group(ingress=[block(protocol="6", from_port=22, to_port=22, cidr_blocks=["1.2.3.4/32"]),
                                           block(protocol="17", from_port=53, to_port=53, cidr_blocks=["1.2.3.4/32"]),
                                           block(protocol="58", from_port=-1, to_port=-1, ipv6_cidr_blocks=["::/0"])],
                                  egress=[block(protocol="all", from_port=0, to_port=65535, cidr_blocks=["0.0.0.0/0"])])])
    rules = next(iter(managed_groups([path]).values())).rules
    assert make_rule("ingress", "tcp", 22, 22, "1.2.3.4/32") in rules
    assert make_rule("ingress", "udp", 53, 53, "1.2.3.4/32") in rules
    assert make_rule("ingress", "icmpv6", -1, -1, "::/0") in rules
    assert make_rule("egress", "-1", None, None, "0.0.0.0/0") in rules  # ports do not apply to all


def test_when_sources_are_groups_prefix_lists_or_self_then_they_are_kept_apart(tmp_path):
    path = state(tmp_path, [group(ingress=[block(protocol="tcp", from_port=5432, to_port=5432,
                                                 security_groups=[OTHER, SG], prefix_list_ids=["pl-abc"], self=True)])])
    rules = next(iter(managed_groups([path]).values())).rules
    assert {r.source for r in rules} == {OTHER, "self", "pl-abc"}  # own id == self, counted once


def test_when_a_rule_is_recorded_inline_and_as_resources_then_it_counts_once(tmp_path):
    path = state(tmp_path, [
        group(ingress=[HTTPS], egress=[ALL_OUT]),
        rule_resource("aws_security_group_rule", "https", {
            "type": "ingress", "security_group_id": SG, "protocol": "tcp", "from_port": 443, "to_port": 443,
            "cidr_blocks": ["10.0.0.0/8"], "ipv6_cidr_blocks": None, "prefix_list_ids": [],
            "source_security_group_id": None, "self": False}),
        rule_resource("aws_vpc_security_group_ingress_rule", "https2", {
            "security_group_id": SG, "ip_protocol": "6", "from_port": 443, "to_port": 443,
            "cidr_ipv4": "10.0.0.0/8", "cidr_ipv6": None, "prefix_list_id": None,
            "referenced_security_group_id": None}),
        rule_resource("aws_vpc_security_group_egress_rule", "out", {
            "security_group_id": SG, "ip_protocol": "-1", "from_port": None, "to_port": None,
            "cidr_ipv4": "0.0.0.0/0"}),
    ])
    (g,) = managed_groups([path]).values()
    assert len(g.rules) == 2 and len(g.addresses) == 4


def test_when_a_group_is_known_only_through_rule_resources_then_it_is_checked_too(tmp_path):
    path = state(tmp_path, [rule_resource("aws_vpc_security_group_ingress_rule", "from_lb", {
        "security_group_id": OTHER, "ip_protocol": "tcp", "from_port": 8080, "to_port": 8080,
        "referenced_security_group_id": SG})])
    g = managed_groups([path])[OTHER]
    assert g.rule_only and g.rules == {make_rule("ingress", "tcp", 8080, 8080, SG)}


def test_when_the_default_group_is_managed_then_it_is_marked_default(tmp_path):
    path = state(tmp_path, [group("aws_default_security_group", "default", ingress=[], egress=[])])
    (g,) = managed_groups([path]).values()
    assert g.default and g.rules == set()


def test_when_several_state_files_and_count_instances_then_all_are_merged(tmp_path):
    a = state(tmp_path, [group(name="web", index_key=0, ingress=[HTTPS])], fname="a.tfstate")
    b = state(tmp_path, [group(name="db", gid=OTHER, index_key="primary")], fname="b.tfstate")
    groups = managed_groups([a, b])
    assert set(groups) == {SG, OTHER}
    assert groups[SG].addresses == ["aws_security_group.web[0]"]
    assert groups[OTHER].addresses == ['aws_security_group.db["primary"]']


def test_when_resources_are_empty_or_data_sources_then_nothing_is_managed(tmp_path):
    data_source = {"mode": "data", "type": "aws_security_group", "name": "x", "instances": [{"attributes": {"id": SG}}]}
    assert managed_groups([state(tmp_path, [data_source])]) == {}
    assert managed_groups([state(tmp_path, [], fname="empty.tfstate")]) == {}


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("", "empty"),
    (json.dumps({"version": 3, "modules": []}), "unsupported state version 3"),
    (json.dumps({"resources": []}), "no 'version'"),
    (json.dumps({"version": 4, "resources": {"a": 1}}), "must be a list"),
    (json.dumps({"version": 4, "resources": [{"type": "aws_security_group", "name": "x",
                                              "instances": [{"attributes": {"name": "x"}}]}]}), "'id'"),
    (json.dumps({"version": 4, "resources": [{"type": "aws_security_group", "name": "x", "instances": [
        {"attributes": {"id": SG, "ingress": [block(protocol="tcp", from_port="ssh", to_port=22,
                                                    cidr_blocks=["1.1.1.1/32"])]}}]}]}), "port 'ssh'"),
    (json.dumps({"version": 4, "resources": [{"type": "aws_security_group", "name": "x", "instances": [
        {"attributes": {"id": SG, "ingress": [block(protocol="tcp", from_port=1, to_port=1,
                                                    cidr_blocks=["not-a-cidr"])]}}]}]}), "not a CIDR"),
])
def test_when_a_state_file_is_bad_then_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.tfstate"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        managed_groups([path])


def test_when_the_state_file_is_missing_then_error(tmp_path):
    with pytest.raises(InputError, match="no such state file"):
        managed_groups([tmp_path / "none.tfstate"])


# -- fuzz: whatever a state file holds, the reader answers rules or one InputError ------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSON = st.recursive(st.none() | st.booleans() | st.integers(-70000, 70000) | st.floats(allow_nan=True)
                    | st.text(max_size=12), lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
FIELDS = ["id", "name", "vpc_id", "ingress", "egress", "security_group_id", "type", "protocol", "from_port",
          "to_port", "cidr_blocks", "ip_protocol", "cidr_ipv4", "self", "source_security_group_id"]
TYPES = ["aws_security_group", "aws_default_security_group", "aws_security_group_rule",
         "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rtype=st.sampled_from(TYPES), field=st.sampled_from(FIELDS), value=JSON, in_block=st.booleans(),
       version=st.one_of(st.just(4), JSON))
def test_fuzz_a_state_file_with_any_value_anywhere_gives_rules_or_one_input_error(tmp_path, rtype, field, value,
                                                                                    in_block, version):
    attrs = {"id": SG, "name": "web", "vpc_id": "vpc-1", "security_group_id": SG, "type": "ingress",
             "ingress": [block(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["10.0.0.0/8"])],
             "egress": [], "ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "10.0.0.0/8"}
    if in_block and field not in ("ingress", "egress"):
        attrs["ingress"][0][field] = value
    else:
        attrs[field] = value
    state = {"version": version, "resources": [{"mode": "managed", "type": rtype, "name": "x",
                                                "instances": [{"attributes": attrs}]}]}
    path = tmp_path / "fuzz.tfstate"
    path.write_text(json.dumps(state))
    try:
        managed_groups([path])
    except InputError as err:
        assert "\n" not in str(err) and str(err)
