"""An Instance's inputs as its provider checks and diffs them (providers/aws_check.py): every
problem at once in the project's one wording (model/problems.py), unknowns accepted and kept,
which changes replace the machine and which update it in place."""

from __future__ import annotations

from typing import Any

import pytest
from harness.aws import MINIMAL_INSTANCE
from pulumi.output import Unknown

from pulumi_pyrke.providers._wire import is_unknown
from pulumi_pyrke.providers.aws_check import check_instance_inputs, diff_instance
from pulumi_pyrke.providers.node import check_node_inputs

BASE = MINIMAL_INSTANCE


def problems(**inputs: Any) -> dict[str, str]:
    result = check_instance_inputs({**BASE, **inputs}, is_unknown=is_unknown)
    return {p.path: p.message for p in result.problems}


def test_defaults_are_filled() -> None:
    result = check_instance_inputs(BASE, is_unknown=is_unknown)
    assert result.problems == () and result.spec is not None
    assert result.inputs["ssh_user"] == "ubuntu" and result.inputs["wait_timeout"] == 600
    assert result.inputs["security_group_ids"] == [] and result.inputs["index"] == 0


def test_every_problem_at_once_with_its_field() -> None:
    found = problems(
        region="Europe",
        ami="image-1",
        instance_type="large",
        subnet_id="sub-1",
        security_group_ids=["sg-1"],
        root_volume_type="ssd",
        root_volume_size=0,
        spot_price="cheap",
        tags={"aws:owner": "me"},
        roles=["boss"],
        wait_timeout=-1,
        ssh_user="root; rm -rf /",
        colour="blue",
    )
    assert set(found) == {
        "region",
        "ami",
        "instance_type",
        "subnet_id",
        "security_group_ids[0]",
        "root_volume_type",
        "root_volume_size",
        "spot_price",
        'tags["aws:owner"]',
        "roles[0]",
        "wait_timeout",
        "ssh_user",
        "colour",
    }
    assert "eu-west-1" in found["region"] and "ami-0abcdef1234567890" in found["ami"]
    assert "gp3" in found["root_volume_type"] and "reserved" in found['tags["aws:owner"]']


def test_an_image_is_an_id_or_a_pattern_with_its_owner() -> None:
    assert "ami_owner" in problems(ami=None, ami_name="ubuntu/*")
    assert "not both" in problems(ami_name="ubuntu/*", ami_owner="099720109477")["ami"]
    assert "is required" in problems(ami=None)["ami"]
    assert problems(ami=None, ami_name="ubuntu/*", ami_owner="099720109477") == {}


def test_user_data_over_16k_is_refused_before_aws() -> None:
    found = problems(user_data="#!/bin/sh\n" + "x" * 17000)
    assert "16384" in found["user_data"]


def test_the_private_key_is_never_echoed() -> None:
    found = problems(ssh_private_key=["SENTINEL-KEY"])
    assert "SENTINEL-KEY" not in str(found) and "ssh_private_key" in found


def test_messages_are_the_projects_one_wording() -> None:
    """model/problems.py words them: hints are the fields' descriptions, bounds say the bound,
    a misspelt input gets a suggestion."""
    found = problems(root_volume_size=0, wait_timeout=-1, index="two", instance_typ="t3.large")
    assert found["root_volume_size"] == "0 is less than 1; give whole GiB, 1..65536"
    assert found["wait_timeout"] == "-1 is less than 0; give whole seconds, 0..86400"
    assert found["index"] == "'two' is not a whole number; give a whole number, 0 or more"
    assert found["instance_typ"] == "unknown key; did you mean 'instance_type'?"
    assert problems(colour="blue")["colour"].startswith("unknown key; valid keys here: ami, ")
    assert (
        "give the AWS region"
        in check_instance_inputs(
            {k: v for k, v in BASE.items() if k != "region"}, is_unknown=is_unknown
        )
        .problems[0]
        .message
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("roles", ["boss"]),
        ("labels", {"bad key!": "v"}),
        ("labels", {"zone": "not ok!"}),
        ("taints", [{"key": "a", "effect": "Sometimes"}]),
        ("taints", [{"value": "x"}]),
    ],
)
def test_node_values_are_refused_as_a_node_refuses_them(field: str, value: Any) -> None:
    """Roles, labels and taints are the node schema's: the same values, the same words."""
    node = check_node_inputs({"address": "10.0.0.5", "ssh_agent_auth": True, field: value})
    expected = {p.path: p.message for p in node.problems}
    assert expected and problems(**{field: value}) == expected


def test_unknowns_are_accepted_and_kept() -> None:
    unknown = Unknown()
    raw = {**BASE, "subnet_id": unknown, "ami": unknown, "tags": {"team": unknown}}
    result = check_instance_inputs(raw, is_unknown=is_unknown)
    assert result.problems == () and result.spec is None
    assert result.inputs["subnet_id"] is unknown and result.inputs["tags"]["team"] is unknown


def test_an_unknown_hides_only_what_depends_on_it() -> None:
    found = problems(tags={"team": Unknown(), "aws:owner": "me"}, taints=[{"key": Unknown()}])
    assert list(found) == ['tags["aws:owner"]'] and "reserved" in found['tags["aws:owner"]']


def test_diff_replaces_on_the_template_and_updates_tags_in_place() -> None:
    olds = {**check_instance_inputs(BASE, is_unknown=is_unknown).inputs, "instance_id": "i-1"}
    olds["wait_timeout"] = 600.0  # wire numbers are floats
    news = check_instance_inputs(BASE, is_unknown=is_unknown).inputs
    assert diff_instance(olds, news, is_unknown=is_unknown).changes == ()
    retyped = diff_instance(olds, {**news, "instance_type": "t3.xlarge"}, is_unknown=is_unknown)
    assert retyped.replaces == ("instance_type",)
    tagged = diff_instance(olds, {**news, "tags": {"team": "a"}}, is_unknown=is_unknown)
    assert tagged.changes == ("tags",) and tagged.replaces == ()
    relabelled = diff_instance(olds, {**news, "labels": {"a": "b"}}, is_unknown=is_unknown)
    assert relabelled.replaces == ()
    preview = diff_instance(olds, {**news, "subnet_id": Unknown()}, is_unknown=is_unknown)
    assert preview.replaces == ("subnet_id",)
    regrouped = diff_instance(
        {**olds, "security_group_ids": ["sg-0000000b", "sg-0000000a"]},
        {**news, "security_group_ids": ["sg-0000000a", "sg-0000000b"]},
        is_unknown=is_unknown,
    )
    assert regrouped.changes == ()
