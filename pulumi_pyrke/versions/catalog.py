"""The supported Kubernetes versions, read once from the packaged ``kdm.json`` (KDM facts).

Pure: stdlib only; never imports paramiko, docker, boto3, pulumi, socket or subprocess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.versions.binary_flags import SERVICE_BINARIES

_DATA_PACKAGE = "pulumi_pyrke.versions"
_DATA_FILE = "kdm.json"
_VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-rancher(\d+)-(\d+)$")


def _empty_mapping() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, kw_only=True, slots=True)
class VersionInfo:
    """Everything RKE takes from KDM for one Kubernetes version (``v1.28.15-rancher1-1``).

    ``images`` maps cluster.yml ``system_images`` keys to images without a registry; a key
    is missing where KDM has no image for that version (weave from v1.30 on).
    ``service_options`` maps a service (``kube-api``) to its default flags (no dashes); an
    empty value means "delete the flag". ``addon_templates`` maps an addon (``calico``) to
    the KDM template key it renders with.
    """

    version: str
    minor: str
    images: Mapping[str, str]
    service_options: Mapping[str, Mapping[str, str]]
    network_plugins: frozenset[str]
    docker_versions: tuple[str, ...]
    addon_templates: Mapping[str, str] = field(default_factory=_empty_mapping)

    def semver(self) -> tuple[int, int, int]:
        """The ``(major, minor, patch)`` of the Kubernetes release, e.g. ``(1, 28, 15)``."""
        major, minor, patch, _, _ = _sort_key(self.version)
        return (major, minor, patch)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Catalog:
    versions: Mapping[str, VersionInfo]
    ordered: tuple[str, ...]
    default: str
    image_keys: tuple[str, ...]


def _sort_key(version: str) -> tuple[int, int, int, int, int]:
    match = _VERSION_RE.match(version)
    if match is None:
        raise ValueError(f"kdm.json: version key {version!r} is not vX.Y.Z-rancherN-M")
    major, minor, patch, rancher, build = (int(g) for g in match.groups())
    return (major, minor, patch, rancher, build)


def _str_map(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"kdm.json: {where} must map strings to strings")
    return MappingProxyType(dict(value))


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"kdm.json: {where} must be a list of strings")
    return tuple(value)


def _parse_version(version: str, raw: Any, known_keys: frozenset[str]) -> VersionInfo:
    if not isinstance(raw, dict):
        raise ValueError(f"kdm.json: versions.{version} must be an object")
    images = _str_map(raw.get("images"), f"versions.{version}.images")
    unknown = sorted(set(images) - known_keys)
    if unknown:
        raise ValueError(f"kdm.json: versions.{version}.images has unknown keys {unknown}")
    options_raw = raw.get("service_options")
    if not isinstance(options_raw, dict) or set(options_raw) != set(SERVICE_BINARIES):
        raise ValueError(
            f"kdm.json: versions.{version}.service_options must have {tuple(SERVICE_BINARIES)}"
        )
    options = MappingProxyType(
        {
            service: _str_map(flags, f"versions.{version}.service_options.{service}")
            for service, flags in options_raw.items()
        }
    )
    major, minor, _, _, _ = _sort_key(version)
    return VersionInfo(
        version=version,
        minor=f"v{major}.{minor}",
        images=images,
        service_options=options,
        network_plugins=frozenset(
            _str_list(raw.get("network_plugins"), f"versions.{version}.network_plugins")
        ),
        docker_versions=_str_list(
            raw.get("docker_versions"), f"versions.{version}.docker_versions"
        ),
        addon_templates=_str_map(
            raw.get("addon_templates", {}), f"versions.{version}.addon_templates"
        ),
    )


def _parse_catalog(doc: Any) -> _Catalog:
    if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict):
        raise ValueError("kdm.json: top level must be an object with a 'versions' object")
    image_keys = _str_list(doc.get("image_keys"), "image_keys")
    known = frozenset(image_keys)
    versions = {v: _parse_version(v, raw, known) for v, raw in doc["versions"].items()}
    default = doc.get("default_version")
    if not isinstance(default, str) or default not in versions:
        raise ValueError(f"kdm.json: default_version {default!r} is not one of the versions")
    return _Catalog(
        versions=MappingProxyType(versions),
        ordered=tuple(sorted(versions, key=_sort_key)),
        default=default,
        image_keys=tuple(sorted(image_keys)),
    )


@cache
def _catalog() -> _Catalog:
    """Read and check ``kdm.json`` once; every later call returns the same value."""
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return _parse_catalog(json.loads(text))


def supported_versions() -> tuple[str, ...]:
    """Every supported version key, oldest to newest in semver order."""
    return _catalog().ordered


def default_version() -> str:
    """The version used when cluster.yml leaves ``kubernetes_version`` empty."""
    return _catalog().default


def is_supported(version: str) -> bool:
    """Whether ``version`` is exactly one of :func:`supported_versions`."""
    return version in _catalog().versions


def get_version(version: str) -> VersionInfo:
    """The data for ``version`` (exact key); raises :class:`ConfigError` naming the field."""
    catalog = _catalog()
    info = catalog.versions.get(version)
    if info is None:
        raise ConfigError(
            [
                Problem(
                    path="kubernetes_version",
                    message=f"{version!r} is not supported; supported: "
                    + ", ".join(catalog.ordered),
                )
            ]
        )
    return info


def image_keys() -> tuple[str, ...]:
    """Every ``system_images`` key RKE knows, sorted."""
    return _catalog().image_keys
