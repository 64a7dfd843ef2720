"""Supported Kubernetes versions and their KDM data: images, default flags, plugins, Docker.

The default is the newest v1.31 entry, not v1.32: KDM's v1.32 service options could not be
verified. Pure: stdlib only; never imports paramiko, docker, boto3, pulumi, socket or subprocess.
"""

from __future__ import annotations

from pulumi_pyrke.versions.binary_flags import FLAG_LIST_VERSION, SERVICE_BINARIES, known_flags
from pulumi_pyrke.versions.catalog import (
    VersionInfo,
    default_version,
    get_version,
    image_keys,
    is_supported,
    supported_versions,
)
from pulumi_pyrke.versions.images import resolve_images, rewrite_image

__all__ = [
    "FLAG_LIST_VERSION",
    "SERVICE_BINARIES",
    "VersionInfo",
    "default_version",
    "get_version",
    "image_keys",
    "is_supported",
    "known_flags",
    "resolve_images",
    "rewrite_image",
    "supported_versions",
]
