"""Image resolution the RKE way: `system_images` overrides, else KDM images + default registry.

Pure: stdlib only; never imports paramiko, docker, boto3, pulumi, socket or subprocess.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.versions.catalog import VersionInfo, image_keys


def rewrite_image(image: str, registry: str) -> str:
    """``<registry>/<image>``; unchanged when ``registry`` is empty or already leads the image."""
    registry = registry.rstrip("/")
    if not registry or image.startswith(registry + "/"):
        return image
    return f"{registry}/{image}"


def resolve_images(
    info: VersionInfo, overrides: Mapping[str, str], *, default_registry: str | None
) -> Mapping[str, str]:
    """The images a cluster runs, keyed by ``system_images`` key (sorted).

    A non-empty override (cluster.yml ``system_images``) is used verbatim; an empty one
    means "use the default". Every image taken from the version table gets
    ``default_registry`` in front (the private registry with ``is_default: true``).
    Unknown override keys raise :class:`ConfigError` with one problem per key.
    """
    known = frozenset(image_keys())
    unknown = sorted(key for key in overrides if key not in known)
    if unknown:
        raise ConfigError(
            Problem(
                path=f"system_images.{key}",
                message=f"unknown image key; known keys: {', '.join(sorted(known))}",
            )
            for key in unknown
        )
    resolved = {
        key: rewrite_image(image, default_registry) if default_registry else image
        for key, image in info.images.items()
    }
    resolved.update({key: image for key, image in overrides.items() if image})
    return MappingProxyType(dict(sorted(resolved.items())))
