"""The exception tree of pulumi_pyrke; every error the library raises on purpose is one of these.

    PyrkeError
     ├── ConfigError (ValueError)      cluster.yml / resource inputs are invalid; lists every problem
     ├── PlanError                     a valid config that cannot be planned (e.g. unknown facts)
     ├── PKIError                      certificates cannot be built, loaded or verified
     ├── TransportError                a host cannot be reached or driven
     │    ├── SSHError
     │    │    ├── SSHAuthError        the host refused our user or key
     │    │    └── HostKeyMismatch     the host key differs from the pinned or recorded one
     │    └── DockerError              Docker on the host is absent, refused, or too old
     │         └── DockerUnreachable   the Engine did not answer (yet): worth waiting for
     ├── KubeError                     the Kubernetes API refused or failed a request
     ├── NodeSourceError               a cloud node source (EC2) failed
     └── DeadlineExceeded (TimeoutError)  a wait ran past its deadline

Foreign exceptions (paramiko, docker, botocore, ...) are translated once, at the adapter edge,
and chained with ``raise ... from exc``. Messages name the plane, the object and the host, and
then say what to do. Secrets never appear in messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class PyrkeError(Exception):
    """Root of every error pulumi_pyrke raises on purpose."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Problem:
    """One finding about an input: where it is (dotted field path) and what is wrong."""

    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(PyrkeError, ValueError):
    """The configuration is invalid. ``problems`` holds every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")


class PlanError(PyrkeError):
    """A valid configuration that cannot be turned into a plan."""


class PKIError(PyrkeError):
    """Certificates cannot be generated, loaded or verified."""


class TransportError(PyrkeError):
    """A host cannot be reached or driven."""


class SSHError(TransportError):
    """SSH to a host failed."""


class SSHAuthError(SSHError):
    """The host refused the user or key."""


class HostKeyMismatch(SSHError):
    """The host presented a key other than the pinned or recorded one."""


class DockerError(TransportError):
    """Docker on a host is absent, refused access, or too old."""


class DockerUnreachable(DockerError):
    """The Docker Engine did not answer (yet): worth waiting for, unlike a refusal."""


class KubeError(PyrkeError):
    """The Kubernetes API refused or failed a request."""


class NodeSourceError(PyrkeError):
    """A cloud node source failed to create, list or remove machines.

    ``field`` names the input at fault (``ami``, ``subnet_id``, ...) when one is; ``code`` is
    the cloud's own error code (``InvalidAMIID.NotFound``), kept with its message in the text.
    """

    def __init__(self, message: str, *, field: str = "", code: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class DeadlineExceeded(PyrkeError, TimeoutError):
    """A wait ran past its deadline."""
