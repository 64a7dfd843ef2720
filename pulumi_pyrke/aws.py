"""pulumi_pyrke.aws: machines from EC2 that carry Kubernetes — ``NodePool`` and ``Instance``.

Credentials come from boto3's usual chain (environment, profile, container or instance role),
never from inputs; AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL point it elsewhere (moto, LocalStack).
"""

from __future__ import annotations

from pulumi_pyrke.model.user_data import build_user_data, default_user_data
from pulumi_pyrke.providers.aws import Instance, InstanceArgs
from pulumi_pyrke.providers.aws_pool import NodePool, NodePoolArgs, NodeTemplateArgs

__all__ = [
    "Instance",
    "InstanceArgs",
    "NodePool",
    "NodePoolArgs",
    "NodeTemplateArgs",
    "build_user_data",
    "default_user_data",
]
