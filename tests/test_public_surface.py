"""The public names of pulumi_pyrke are deliberate: a sorted __all__, each importable."""

from __future__ import annotations

import pulumi_pyrke


def test_all_is_sorted_and_importable() -> None:
    assert list(pulumi_pyrke.__all__) == sorted(pulumi_pyrke.__all__)
    for name in pulumi_pyrke.__all__:
        assert getattr(pulumi_pyrke, name) is not None


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
