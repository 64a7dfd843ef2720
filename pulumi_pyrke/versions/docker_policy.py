"""RKE's Docker version policy: which Docker versions RKE validated for a Kubernetes version.

Pure: takes version strings, returns the warning text (or None). Callers add the host.
"""

from __future__ import annotations

from pulumi_pyrke.versions.catalog import get_version


def docker_version_warning(
    docker_version: str, kubernetes_version: str, *, ignore: bool = False
) -> str | None:
    """Why ``docker_version`` is outside what RKE validated for ``kubernetes_version`` (KDM's
    list; ``20.10`` covers ``20.10.24``), or None when it is inside or ``ignore`` is set
    (cluster.yml's ``ignore_docker_version``)."""
    if ignore:
        return None
    allowed = get_version(kubernetes_version).docker_versions
    if any(docker_version == v or docker_version.startswith(v + ".") for v in allowed):
        return None
    return (
        f"Docker {docker_version} is not one RKE validated for {kubernetes_version} "
        f"({', '.join(allowed)}); set ignore_docker_version: true if you accept it"
    )
