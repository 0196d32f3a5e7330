"""The three patch types of the local cluster, on plain data."""

from __future__ import annotations

import pytest

from labkit.cluster.patch import PatchError, json_patch, merge_patch, strategic_merge
from labkit.cluster.selectors import matches

POD = {"spec": {"containers": [
    {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
     "ports": [{"containerPort": 8080}]},
    {"name": "sidecar", "image": "s:1"}]}}


def test_when_strategic_merge_patches_one_env_var_then_the_rest_stays():
    out = strategic_merge(POD, {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}]}]}})
    app, sidecar = out["spec"]["containers"]
    assert app["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert app["image"] == "a:1" and sidecar == {"name": "sidecar", "image": "s:1"}
    assert POD["spec"]["containers"][0]["env"][1]["value"] == "2"  # the input is not changed


def test_when_strategic_merge_adds_or_deletes_entries_then_by_key():
    added = strategic_merge(POD, {"spec": {"containers": [{"name": "new", "image": "n:1"}]}})
    assert [c["name"] for c in added["spec"]["containers"]] == ["app", "sidecar", "new"]
    gone = strategic_merge(POD, {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}})
    assert [c["name"] for c in gone["spec"]["containers"]] == ["app"]


def test_when_a_merge_patch_touches_a_list_then_it_replaces_it():
    out = merge_patch(POD, {"spec": {"containers": [{"name": "only"}]}, "metadata": {"labels": {"x": "y"}}})
    assert out["spec"]["containers"] == [{"name": "only"}] and out["metadata"] == {"labels": {"x": "y"}}
    assert merge_patch({"a": 1, "b": 2}, {"a": None}) == {"b": 2}


def test_json_patch_operations():
    doc = {"spec": {"template": {"x": 1}, "list": [1, 2]}}
    out = json_patch(doc, [{"op": "replace", "path": "/spec/template", "value": {"y": 2}},
                           {"op": "add", "path": "/spec/list/-", "value": 3},
                           {"op": "remove", "path": "/spec/list/0"},
                           {"op": "copy", "from": "/spec/template", "path": "/copy"},
                           {"op": "test", "path": "/copy/y", "value": 2},
                           {"op": "add", "path": "/a~1b", "value": True}])
    assert out == {"spec": {"template": {"y": 2}, "list": [2, 3]}, "copy": {"y": 2}, "a/b": True}


@pytest.mark.parametrize("ops", [[{"op": "replace", "path": "/nope", "value": 1}],
                                 [{"op": "test", "path": "/a", "value": 2}],
                                 [{"op": "jump", "path": "/a"}], {"op": "add"}])
def test_when_a_json_patch_cannot_apply_then_patch_error(ops):
    with pytest.raises(PatchError):
        json_patch({"a": 1}, ops)


@pytest.mark.parametrize("selector, expected", [
    ("app=web", True), ("app=web,tier=front", True), ("app!=web", False), ("app in (web, db)", True),
    ("app notin (web)", False), ("tier", True), ("!tier", False), ("app==db", False), ("", True)])
def test_label_selectors(selector, expected):
    assert matches({"app": "web", "tier": "front"}, selector) is expected
