"""A node pool on EC2: a template and a quantity, one ``Instance`` resource per machine.

A ``ComponentResource``, so Pulumi's own ordering does the safe thing: whatever depends on
the machines (a Cluster) is updated before a dropped machine is terminated, and a replacement
runs before the machine it replaces goes. Scaling down drops the newest machines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import pulumi

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.problems import unknown_key
from pulumi_pyrke.providers._wire import args_to_props, resource_args
from pulumi_pyrke.providers.aws import Instance, InstanceArgs


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeTemplateArgs:
    """What every machine of a pool is: image, size, network, key, boot script, tags.

    Give ``ami``, or ``ami_owner`` and ``ami_name`` (a name pattern such as
    ``ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*``; the newest available match
    when a machine is launched). Machines are spread over ``subnet_ids`` in turn.
    ``ssh_private_key`` is the private half of ``key_name`` (kept secret); ``ssh_user``
    defaults to ubuntu. ``user_data`` replaces the default boot script (Docker from the
    distribution's packages, ``ssh_user`` in the docker group); ``extra_user_data`` (a script
    or ``#cloud-config``) runs after it. ``associate_public_ip_address``: true makes each
    node's ``address`` its public IP, false its private one; unset, the subnet decides and the
    public IP is used when there is one. ``spot_price`` asks for spot machines at most that
    price (USD per hour).
    """

    region: pulumi.Input[str]
    ami: pulumi.Input[str] | None = None
    ami_owner: pulumi.Input[str] | None = None
    ami_name: pulumi.Input[str] | None = None
    instance_type: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
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


TEMPLATE_FIELDS = tuple(f.name for f in fields(NodeTemplateArgs))
"""The template's inputs, as NodeTemplateArgs declares them."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NodePoolArgs:
    """A template, how many machines (a plain number: it shapes the graph), and what they run.

    Machines are named ``{name_prefix}-{index}`` (the pool's name when no prefix is given).
    ``roles`` (etcd, controlplane, worker), ``labels`` and ``taints`` go to every node.
    """

    template: NodeTemplateArgs | Mapping[str, Any]
    quantity: int
    name_prefix: str | None = None
    roles: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    labels: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    taints: pulumi.Input[Sequence[pulumi.Input[Mapping[str, pulumi.Input[str]]]]] | None = None


class NodePool(pulumi.ComponentResource):
    """Machines from one template on EC2, each its own ``pulumi_pyrke.aws.Instance``.

    Type ``pyrke:aws:NodePool``. ``nodes`` is a list of node mappings (address,
    internal_address, user, roles, labels, taints, ssh_private_key — only the key secret) that
    a Cluster takes directly or that feed ``pyrke.Node``; ``instances`` are the resources.
    """

    instances: list[Instance]
    nodes: list[dict[str, pulumi.Output[Any]]]

    def __init__(
        self,
        resource_name: str,
        args: NodePoolArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        found = resource_args(NodePoolArgs, "NodePool", args, kwargs)
        given = found if isinstance(found, NodePoolArgs) else NodePoolArgs(**found)
        quantity = _quantity(given.quantity)
        template = {
            k: v for k, v in args_to_props(given.template, TEMPLATE_FIELDS).items() if v is not None
        }
        unknown = sorted(set(template) - set(TEMPLATE_FIELDS))
        if unknown:
            raise ConfigError(
                Problem(path=f"template.{k}", message=unknown_key(k, TEMPLATE_FIELDS))
                for k in unknown
            )
        subnet_ids = template.pop("subnet_ids", None)
        if subnet_ids is None or (isinstance(subnet_ids, Sequence) and not subnet_ids):
            raise ConfigError(
                [
                    Problem(
                        path="template.subnet_ids",
                        message="is required; give at least one subnet id",
                    )
                ]
            )
        super().__init__("pyrke:aws:NodePool", resource_name, None, opts)
        prefix = given.name_prefix or resource_name
        self.instances = [
            Instance(
                f"{resource_name}-{index}",
                InstanceArgs(
                    **template,
                    subnet_id=_spread(subnet_ids, index),
                    name=f"{prefix}-{index}",
                    pool=resource_name,
                    index=index,
                    roles=given.roles,
                    labels=given.labels,
                    taints=given.taints,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for index in range(quantity)
        ]
        self.nodes = [instance.node_inputs() for instance in self.instances]
        self.register_outputs({"nodes": self.nodes})


def _quantity(value: Any) -> int:
    if isinstance(value, pulumi.Output | bool):
        raise ConfigError(
            [
                Problem(
                    path="quantity",
                    message="must be a plain whole number (it decides how many Instance "
                    "resources the program has); read it with pulumi.Config().require_int",
                )
            ]
        )
    if not isinstance(value, int) or value < 0:
        raise ConfigError(
            [Problem(path="quantity", message=f"{value!r} is not a whole number, 0 or more")]
        )
    return value


def _spread(subnet_ids: Any, index: int) -> Any:
    """Machine ``index`` goes to subnet ``index mod len``: across zones in turn."""
    if isinstance(subnet_ids, Sequence) and not isinstance(subnet_ids, str):
        return subnet_ids[index % len(subnet_ids)]
    return pulumi.Output.from_input(subnet_ids).apply(lambda ids: _pick(ids, index))


def _pick(ids: Sequence[str], index: int) -> str:
    if not ids:
        raise ConfigError(
            [Problem(path="template.subnet_ids", message="is empty; give at least one subnet id")]
        )
    return ids[index % len(ids)]
