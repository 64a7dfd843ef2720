"""One EC2 machine as a Pulumi resource: ``Instance`` and its provider ``InstanceProvider``.

The provider's class path is stored in stack state and never moves. It holds nothing: the
EC2 client is built inside each call from boto3's usual credentials. Launch is idempotent
(sources/ec2.py), so a create that raised after the launch adopts the machine when run again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from pulumi_pyrke.deadline import Deadline
from pulumi_pyrke.errors import NodeSourceError
from pulumi_pyrke.model.ec2_facts import InstanceFacts
from pulumi_pyrke.model.instance import TAG_LAUNCH, InstanceSpec
from pulumi_pyrke.providers._wire import (
    args_to_props,
    check_failures,
    is_unknown,
    resource_args,
    secret_input,
    without_provider,
)
from pulumi_pyrke.providers.aws_check import (
    INSTANCE_INPUTS,
    SECRET_INPUTS,
    SECRET_OUTPUTS,
    check_instance_inputs,
    diff_instance,
    instance_inputs,
    parse_instance_inputs,
)
from pulumi_pyrke.sources.ec2 import Ec2, error_context, launch_instance

INSTANCE_OUTPUTS = (
    "instance_id",
    "state",
    "image_id",
    "availability_zone",
    "private_ip",
    "public_ip",
    "private_dns",
    "public_dns",
    "address",
    "internal_address",
    "launch_identity",
    "node",
)
"""Outputs that are not inputs."""


class InstanceProvider(ResourceProvider):
    """Dynamic provider of ``pulumi_pyrke.aws.Instance``. Holds no client and no credentials."""

    serialize_as_secret_always = False

    def connect(self, region: str) -> Ec2:
        """The one place an Instance reaches EC2 (tests substitute a subclass's client)."""
        return Ec2.connect(region)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Every problem with the inputs, with its field path, before any AWS call."""
        result = check_instance_inputs(without_provider(news), is_unknown=is_unknown)
        return CheckResult(result.inputs, check_failures(result.problems))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on a template change (the new machine first); tags and node values in place."""
        found = diff_instance(olds, without_provider(news), is_unknown=is_unknown)
        return DiffResult(
            changes=bool(found.changes),
            replaces=list(found.replaces),
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Launch (or adopt what an earlier attempt launched) and wait until it runs."""
        spec = parse_instance_inputs(without_provider(props))
        launched = launch_instance(self.connect(spec.region), spec)
        outs = _outputs(
            spec, launched.facts, image_id=launched.image_id, identity=spec.launch_identity()
        )
        return CreateResult(launched.facts.instance_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The machine now: gone when terminated (behind our back too), its state when stopped."""
        spec = parse_instance_inputs(_inputs_of(props))
        facts = self.connect(spec.region).describe(id_, error_context(spec))
        if facts is None or not facts.live:
            return ReadResult("", {})
        outs = _outputs(
            spec,
            facts,
            image_id=str(props.get("image_id") or facts.image_id),
            identity=str(props.get("launch_identity") or facts.tag_map.get(TAG_LAUNCH, "")),
        )
        return ReadResult(id_, outs, _inputs_of(outs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Tags in place (set the new, remove the dropped); node values are outputs only."""
        spec = parse_instance_inputs(without_provider(news))
        ec2 = self.connect(spec.region)
        context = error_context(spec)
        identity = str(olds.get("launch_identity") or spec.launch_identity())
        try:
            old_tags = parse_instance_inputs(_inputs_of(olds)).instance_tags()
        except ValueError:
            old_tags = {}
        old_tags[TAG_LAUNCH] = identity
        new_tags = {**spec.instance_tags(), TAG_LAUNCH: identity}
        ec2.set_tags(id_, old_tags, new_tags, context)
        facts = ec2.describe(id_, context)
        if facts is None or not facts.live:
            raise NodeSourceError(
                f"[ec2] instance {spec.name}: {id_} is gone (terminated outside Pulumi); run "
                "`pulumi refresh`, then `pulumi up` launches a new machine",
                code="InvalidInstanceID.NotFound",
            )
        image_id = str(olds.get("image_id") or facts.image_id)
        return UpdateResult(_outputs(spec, facts, image_id=image_id, identity=identity))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Terminate and wait until EC2 says terminated; already terminated is done."""
        region = str(props.get("region", ""))
        timeout = float(props.get("wait_timeout") or 600)
        context = {"name": props.get("name") or id_}
        self.connect(region).terminate(id_, Deadline.after(timeout), context)


def _outputs(
    spec: InstanceSpec, facts: InstanceFacts, *, image_id: str, identity: str
) -> dict[str, Any]:
    """Outputs are the inputs plus what EC2 reports and the node mapping it becomes."""
    public = spec.associate_public_ip_address is not False and bool(facts.public_ip)
    address = facts.public_ip if public else facts.private_ip
    outs = instance_inputs(spec)
    outs.update(
        instance_id=facts.instance_id,
        state=facts.state,
        image_id=image_id,
        availability_zone=facts.availability_zone,
        private_ip=facts.private_ip,
        public_ip=facts.public_ip,
        private_dns=facts.private_dns,
        public_dns=facts.public_dns,
        address=address,
        internal_address=facts.private_ip,
        launch_identity=identity,
        node=_node(spec, address, facts.private_ip),
    )
    return outs


def _node(spec: InstanceSpec, address: str, internal_address: str) -> dict[str, Any]:
    """The machine as a node mapping: the Node's own input names."""
    node: dict[str, Any] = {
        "address": address,
        "internal_address": internal_address,
        "user": spec.ssh_user,
        "roles": list(spec.roles),
        "labels": dict(spec.labels),
        "taints": [t.model_dump(exclude_none=True) for t in spec.taints],
    }
    if spec.ssh_private_key is not None:
        node["ssh_private_key"] = spec.ssh_private_key.reveal()
    return node


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k in INSTANCE_INPUTS and v is not None}


@dataclass(frozen=True, kw_only=True, slots=True)
class InstanceArgs:
    """The inputs of one EC2 machine (a NodePool makes these; a program may too).

    Give ``ami``, or ``ami_owner`` and ``ami_name`` (the newest available match at create).
    ``user_data`` replaces the default (Docker from the distribution's packages, ``ssh_user``
    in the docker group); ``extra_user_data`` runs after it. ``address`` is the public IP
    unless ``associate_public_ip_address`` is false or there is none. ``wait_timeout``
    bounds the waits for running and for terminated (600 s).
    """

    region: pulumi.Input[str]
    instance_type: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    ami: pulumi.Input[str] | None = None
    ami_owner: pulumi.Input[str] | None = None
    ami_name: pulumi.Input[str] | None = None
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    key_name: pulumi.Input[str] | None = None
    ssh_private_key: pulumi.Input[str] | None = field(default=None, repr=False)
    ssh_user: pulumi.Input[str] | None = None
    user_data: pulumi.Input[str] | None = None
    extra_user_data: pulumi.Input[str] | None = None
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    root_volume_size: pulumi.Input[int] | None = None
    root_volume_type: pulumi.Input[str] | None = None
    iam_instance_profile: pulumi.Input[str] | None = None
    associate_public_ip_address: pulumi.Input[bool] | None = None
    spot_price: pulumi.Input[str] | None = None
    name: pulumi.Input[str] | None = None
    pool: pulumi.Input[str] | None = None
    index: pulumi.Input[int] | None = None
    roles: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    labels: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    taints: pulumi.Input[Sequence[pulumi.Input[Mapping[str, pulumi.Input[str]]]]] | None = None
    wait_timeout: pulumi.Input[int] | None = None


def instance_props(args: InstanceArgs | Mapping[str, Any], resource_name: str) -> dict[str, Any]:
    """The props of an Instance: every input and output name, the key marked secret."""
    props = args_to_props(args, INSTANCE_INPUTS)
    props["name"] = props.get("name") or resource_name
    props["project"] = props.get("project") or pulumi.get_project()
    props["stack"] = props.get("stack") or pulumi.get_stack()
    for name in INSTANCE_OUTPUTS:
        props.setdefault(name, None)  # the attribute exists only if the key is in props
    for name in SECRET_INPUTS:
        props[name] = secret_input(props[name])
    return props


class Instance(pulumi.dynamic.Resource, module="pyrke/aws", name="Instance"):
    """One EC2 machine that will carry Kubernetes; running, its address known, tagged.

    Type ``pulumi-python:dynamic/pyrke/aws:Instance``. A template change replaces it (the new
    machine is launched before the old one is terminated); tags, roles, labels and taints
    change in place. ``node`` is the machine as a node mapping (secret: it holds the key).
    """

    region: pulumi.Output[str]
    instance_type: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    ssh_user: pulumi.Output[str]
    ssh_private_key: pulumi.Output[str | None]
    roles: pulumi.Output[list[str]]
    labels: pulumi.Output[dict[str, str]]
    taints: pulumi.Output[list[dict[str, str]]]
    tags: pulumi.Output[dict[str, str]]
    instance_id: pulumi.Output[str]
    state: pulumi.Output[str]
    image_id: pulumi.Output[str]
    availability_zone: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    public_ip: pulumi.Output[str]
    private_dns: pulumi.Output[str]
    public_dns: pulumi.Output[str]
    address: pulumi.Output[str]
    internal_address: pulumi.Output[str]
    launch_identity: pulumi.Output[str]
    node: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        args: InstanceArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        given = resource_args(InstanceArgs, "Instance", args, kwargs)
        secrets = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_OUTPUTS))
        super().__init__(
            InstanceProvider(),
            resource_name,
            instance_props(given, resource_name),
            pulumi.ResourceOptions.merge(opts, secrets),
        )

    def node_inputs(self) -> dict[str, pulumi.Output[Any]]:
        """The machine as a node mapping of Outputs: only ``ssh_private_key`` is secret.

        ``pyrke.Node(name, pyrke.NodeArgs(**instance.node_inputs()))`` or a Cluster's ``nodes``.
        """
        return {
            "address": self.address,
            "internal_address": self.internal_address,
            "user": self.ssh_user,
            "roles": self.roles,
            "labels": self.labels,
            "taints": self.taints,
            "ssh_private_key": self.ssh_private_key,
        }
