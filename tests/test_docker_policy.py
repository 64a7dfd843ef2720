"""RKE's Docker version policy, as one pure function (the CLI adds the host)."""

from __future__ import annotations

import pytest

from pulumi_pyrke.versions import default_version
from pulumi_pyrke.versions.docker_policy import docker_version_warning


@pytest.mark.parametrize("version", ["20.10", "20.10.24", "20.10.24+dfsg1", "24.0.7", "1.13.1"])
def test_validated_versions_and_their_patch_releases_pass(version: str) -> None:
    assert docker_version_warning(version, default_version()) is None


@pytest.mark.parametrize("version", ["28.1.1", "20.1", "2010.1", ""])
def test_anything_else_is_named_with_the_list_and_the_way_out(version: str) -> None:
    warning = docker_version_warning(version, "v1.31.14-rancher1-1")
    assert warning is not None
    assert warning.startswith(
        f"Docker {version} is not one RKE validated for v1.31.14-rancher1-1 ("
    )
    assert "20.10" in warning and warning.endswith(
        "set ignore_docker_version: true if you accept it"
    )


def test_ignore_docker_version_silences_it() -> None:
    assert docker_version_warning("28.1.1", default_version(), ignore=True) is None
