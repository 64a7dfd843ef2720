"""aws.Instance through the SDK's own dynamic-provider gRPC server, and aws.NodePool as the
engine runs it (tests/engine.py plays `pulumi up`), both against moto's EC2 server on
127.0.0.1; the component's graph under ``pulumi.runtime.set_mocks`` with the real check.

What stands in: the engine (its call order is played, see tests/engine.py); moto for EC2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from engine import Engine
from harness.aws import World
from pulumi.output import Unknown
from wire import UNKNOWN, Plugin, is_secret, plugin, register, urn

import pulumi_pyrke as pyrke
from pulumi_pyrke.aws import Instance, InstanceArgs, NodePool, NodePoolArgs, NodeTemplateArgs
from pulumi_pyrke.errors import ConfigError
from pulumi_pyrke.providers.aws import InstanceProvider

TYPE = "pulumi-python:dynamic/pyrke/aws:Instance"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nSENTINEL-pool-key\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture(scope="module")
def wire(moto_endpoint: str) -> Iterator[Plugin]:
    with plugin() as server:  # inherits AWS_ENDPOINT_URL and the fake credentials
        yield server


def template(world: World, **extra: Any) -> NodeTemplateArgs:
    fields: dict[str, Any] = {
        "region": world.region,
        "ami": world.ami,
        "instance_type": "t3.micro",
        "subnet_ids": world.subnets,
        "security_group_ids": [world.group],
        "key_name": world.key_name,
        "ssh_private_key": KEY,
        **extra,
    }
    return NodeTemplateArgs(**fields)


def instance_inputs(world: World, name: str = "m1", **extra: Any) -> dict[str, Any]:
    (registration,) = register(
        lambda: Instance(
            name,
            region=world.region,
            ami=world.ami,
            instance_type="t3.micro",
            subnet_id=world.subnets[1],
            ssh_private_key=KEY,
            pool=world.pool,
            **extra,
        )
    )
    assert is_secret(registration.object["ssh_private_key"])
    assert set(registration.additional_secret_outputs) == {"ssh_private_key", "node"}
    return registration.engine_inputs()


# --- the Instance provider over gRPC -------------------------------------------------------------


def test_instance_lifecycle_over_the_wire(wire: Plugin, ec2: World) -> None:
    where = urn(TYPE, "m1")
    preview = {**instance_inputs(ec2), "subnet_id": UNKNOWN, "ami": UNKNOWN, "tags": {"t": UNKNOWN}}
    checked = wire.check(where, preview)
    assert checked.failures == [] and isinstance(checked.inputs["subnet_id"], Unknown)

    bad = wire.check(where, {**instance_inputs(ec2), "instance_type": "huge", "region": "Mars"})
    assert {path for path, _ in bad.failures} == {"region", "instance_type"}

    checked = wire.check(where, instance_inputs(ec2))
    assert checked.failures == [] and checked.inputs["wait_timeout"] == 600.0
    created = wire.create(where, checked.struct)
    outs = created.outs
    assert created.id.startswith("i-") and outs["state"] == "running"
    assert outs["availability_zone"] == ec2.zones[1]
    assert outs["node"]["ssh_private_key"] == KEY  # plain on the wire; secret by name
    assert "__provider" in outs and KEY not in str(outs["__provider"])

    assert wire.diff(where, created.id, created.struct, checked.struct).none
    tagged = wire.check(where, {**instance_inputs(ec2), "tags": {"team": "a"}})
    assert wire.diff(where, created.id, created.struct, tagged.struct).replaces == []
    moved = wire.check(where, {**instance_inputs(ec2), "subnet_id": ec2.subnets[2]})
    replace = wire.diff(where, created.id, created.struct, moved.struct)
    assert replace.replaces == ["subnet_id"] and not replace.delete_before_replace
    preview_diff = wire.diff(where, created.id, created.struct, preview)
    assert set(preview_diff.replaces) == {"subnet_id", "ami"}

    read = wire.read(where, created.id, created.struct, checked.struct)
    assert read.id == created.id and read.inputs is not None and "state" not in read.inputs
    ec2.client.terminate_instances(InstanceIds=[created.id])  # behind Pulumi's back
    gone = wire.read(where, created.id, created.struct, checked.struct)
    assert gone.id == ""  # the engine drops it from the state on refresh
    wire.delete(where, created.id, created.struct)  # already terminated: done


def test_a_create_failure_over_the_wire_names_the_field(wire: Plugin, ec2: World) -> None:
    import grpc

    checked = wire.check(urn(TYPE, "m2"), {**instance_inputs(ec2, "m2"), "key_name": "missing-key"})
    with pytest.raises(grpc.RpcError) as err:
        wire.create(urn(TYPE, "m2"), checked.struct)
    details = err.value.details() or ""
    assert "NodeSourceError" in details and "key_name: key pair 'missing-key'" in details
    assert "SENTINEL" not in details


# --- the pool as `pulumi up` runs it --------------------------------------------------------------


def pool_program(world: World, quantity: int, **extra: Any) -> Any:
    def program() -> None:
        NodePool(
            world.pool,
            NodePoolArgs(template=template(world, **extra), quantity=quantity, roles=["worker"]),
        )

    return program


def machines(world: World) -> dict[str, dict[str, Any]]:
    """Live machines of the pool by their Name tag."""
    found = {}
    for machine in world.pool_instances():
        tags = {t["Key"]: t["Value"] for t in machine["Tags"]}
        found[tags["Name"]] = machine
    return found


def test_pool_create_scale_replace_delete(wire: Plugin, ec2: World) -> None:
    engine = Engine(wire)
    engine.up(pool_program(ec2, 3))
    first = machines(ec2)
    assert sorted(first) == [f"{ec2.pool}-{i}" for i in range(3)]
    assert [first[f"{ec2.pool}-{i}"]["SubnetId"] for i in range(3)] == ec2.subnets  # spread
    assert engine.outputs(f"{ec2.pool}-0")["node"]["roles"] == ["worker"]

    engine.events.clear()
    engine.up(pool_program(ec2, 5))
    assert [kind for kind, *_ in engine.events] == ["create", "create"]
    assert len(machines(ec2)) == 5

    engine.events.clear()
    engine.up(pool_program(ec2, 2))
    kept = machines(ec2)
    assert sorted(kept) == [f"{ec2.pool}-0", f"{ec2.pool}-1"]  # the newest went
    assert {m["InstanceId"] for m in kept.values()} == {
        first[f"{ec2.pool}-{i}"]["InstanceId"] for i in range(2)
    }
    assert sorted(e[1].rsplit("::", 1)[1] for e in engine.events if e[0] == "delete") == [
        f"{ec2.pool}-2",
        f"{ec2.pool}-3",
        f"{ec2.pool}-4",
    ]

    engine.events.clear()
    engine.up(pool_program(ec2, 2, instance_type="t3.small"))
    kinds = [(kind, u.rsplit("::", 1)[1], id_) for kind, u, id_ in engine.events]
    for index in range(2):
        name = f"{ec2.pool}-{index}"
        old = kept[name]["InstanceId"]
        created = next(i for i, (k, n, id_) in enumerate(kinds) if k == "create" and n == name)
        deleted = next(i for i, (k, n, id_) in enumerate(kinds) if k == "delete" and id_ == old)
        assert created < deleted  # the new machine runs before the old one goes
    replaced = machines(ec2)
    assert {m["InstanceType"] for m in replaced.values()} == {"t3.small"}
    assert not {m["InstanceId"] for m in replaced.values()} & {
        m["InstanceId"] for m in kept.values()
    }

    engine.destroy()
    assert ec2.pool_instances() == []


# --- the component's graph under set_mocks, with the real check ----------------------------------


def test_pool_graph_with_nodes_depending_on_its_machines(ec2: World) -> None:
    def program() -> None:
        pool = NodePool(
            "web", template=template(ec2), quantity=3, roles=["worker"], labels={"tier": "web"}
        )
        for index, node in enumerate(pool.nodes):
            pyrke.Node(f"web-node-{index}", pyrke.NodeArgs(**node, ready_timeout=600))

    registrations = register(program)
    pools = [r for r in registrations if r.type == "pyrke:aws:NodePool"]
    instances = [r for r in registrations if r.type == TYPE]
    nodes = [r for r in registrations if r.type == "pulumi-python:dynamic/pyrke:Node"]
    assert len(pools) == 1 and len(instances) == 3 and len(nodes) == 3
    for index, instance in enumerate(sorted(instances, key=lambda r: r.name)):
        assert instance.name == f"web-{index}" and instance.request.parent.endswith(
            "$pyrke:aws:NodePool::web"
        )
        assert is_secret(instance.object["ssh_private_key"])
        assert set(instance.additional_secret_outputs) == {"ssh_private_key", "node"}
        inputs = instance.engine_inputs()
        assert inputs["subnet_id"] == ec2.subnets[index] and inputs["index"] == index
        checked = InstanceProvider().check({}, inputs)  # the real check, as the engine calls it
        assert checked.failures == []
        assert checked.inputs["name"] == f"web-{index}" and checked.inputs["pool"] == "web"
    instance_urns = {f"pyrke:aws:NodePool${TYPE}::web-{i}" for i in range(3)}
    for node in nodes:
        depends = set(node.request.dependencies)
        assert len(depends) == 1  # the Node waits for its machine
        assert any(next(iter(depends)).endswith(u) for u in instance_urns)
        assert is_secret(node.object["ssh_private_key"])


def test_quantity_must_be_a_plain_number() -> None:
    def program() -> None:
        NodePool("p", template={"region": "eu-west-1"}, quantity=pulumi.Output.from_input(3))

    with pytest.raises(ConfigError, match="quantity: must be a plain whole number"):
        register(program)


def test_a_misspelt_template_input_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError) as err:
        NodePool("p", template={"region": "eu-west-1", "instance_typ": "t3.micro"}, quantity=1)
    assert (
        str(err.value.problems[0])
        == "template.instance_typ: unknown key; did you mean 'instance_type'?"
    )


def test_both_constructor_forms() -> None:
    def program() -> None:
        args = dict(region="eu-west-1", ami="ami-0abcdef1234567890", instance_type="t3.micro")
        Instance("a", InstanceArgs(subnet_id="subnet-0abc1234def567890", **args))
        Instance("b", subnet_id="subnet-0abc1234def567890", **args)
        with pytest.raises(TypeError, match="not both"):
            Instance("c", InstanceArgs(subnet_id="subnet-0abc1234def567890", **args), region="x")

    a, b = register(program)
    assert a.engine_inputs() | {"name": "b"} == b.engine_inputs() | {"name": "b"}
