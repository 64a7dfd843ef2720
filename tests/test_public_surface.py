"""The public names of pulumi_pyrke are deliberate: a sorted __all__, each importable."""

from __future__ import annotations

import pulumi_pyrke


def test_all_is_sorted_and_importable() -> None:
    assert list(pulumi_pyrke.__all__) == sorted(pulumi_pyrke.__all__)
    for name in pulumi_pyrke.__all__:
        assert getattr(pulumi_pyrke, name) is not None


def test_dir_shows_the_public_names_only() -> None:
    assert dir(pulumi_pyrke) == list(pulumi_pyrke.__all__)


def test_the_schema_names_the_services_the_version_data_has() -> None:
    from pulumi_pyrke.model.services import Services
    from pulumi_pyrke.versions import SERVICE_BINARIES

    keys = {f.alias or name for name, f in Services.model_fields.items()}
    assert keys == set(SERVICE_BINARIES)


def test_errors_form_one_tree() -> None:
    from pulumi_pyrke import errors

    for name in (
        "ConfigError",
        "PlanError",
        "PKIError",
        "TransportError",
        "SSHError",
        "SSHAuthError",
        "HostKeyMismatch",
        "DockerError",
        "KubeError",
        "NodeSourceError",
        "DeadlineExceeded",
    ):
        assert issubclass(getattr(errors, name), errors.PyrkeError)
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.DeadlineExceeded, TimeoutError)
    assert issubclass(errors.HostKeyMismatch, errors.SSHError)
    assert issubclass(errors.DockerError, errors.TransportError)


def test_the_resource_classes_are_public() -> None:
    for name in ("Node", "NodeArgs", "BastionArgs", "Cluster", "ClusterArgs"):
        assert name in pulumi_pyrke.__all__


def test_provider_class_paths_never_move() -> None:
    """Pulumi pickles providers by reference into stack state: these paths are a contract
    (renaming one breaks refresh and delete of every resource already deployed)."""
    import importlib

    for path in (
        "pulumi_pyrke.providers.node.NodeProvider",
        "pulumi_pyrke.providers.cluster.ClusterProvider",
        "pulumi_pyrke.providers.aws.InstanceProvider",
    ):
        module, _, name = path.rpartition(".")
        provider = getattr(importlib.import_module(module), name)
        assert f"{provider.__module__}.{provider.__qualname__}" == path


def test_resource_type_tokens_never_move() -> None:
    """The type token is part of every resource's URN in stack state."""
    from pulumi_pyrke import Node

    assert f"pulumi-python:{Node._resource_type_name}" == "pulumi-python:dynamic/pyrke:Node"
    from pulumi_pyrke import Cluster

    assert f"pulumi-python:{Cluster._resource_type_name}" == "pulumi-python:dynamic/pyrke:Cluster"
    from pulumi_pyrke.aws import Instance

    assert (
        f"pulumi-python:{Instance._resource_type_name}"
        == "pulumi-python:dynamic/pyrke/aws:Instance"
    )


def test_the_aws_module_is_public() -> None:
    """pulumi_pyrke.aws: the node pool's public names (the issue's contract) and its sorted __all__."""
    import dataclasses

    from pulumi_pyrke import aws

    assert list(aws.__all__) == sorted(aws.__all__)
    assert {"Instance", "InstanceArgs", "NodePool", "NodePoolArgs", "NodeTemplateArgs"} <= set(
        aws.__all__
    )
    template = {f.name for f in dataclasses.fields(aws.NodeTemplateArgs)}
    assert {
        "region",
        "ami",
        "ami_owner",
        "ami_name",
        "instance_type",
        "subnet_ids",
        "security_group_ids",
        "key_name",
        "ssh_private_key",
        "ssh_user",
        "user_data",
        "tags",
        "root_volume_size",
        "root_volume_type",
        "iam_instance_profile",
        "associate_public_ip_address",
        "spot_price",
    } <= template
    pool = {f.name for f in dataclasses.fields(aws.NodePoolArgs)}
    assert pool == {"template", "quantity", "name_prefix", "roles", "labels", "taints"}
