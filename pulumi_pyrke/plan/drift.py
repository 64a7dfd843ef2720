"""Drift: does a container on a host still match its spec, and if not, why.

Every container pyrke runs carries the digest of its spec (and of the files it reads) in a
label, so the comparison is exact and costs one listing per host: no inspect of arguments,
environment or binds. A certificate that is regenerated changes the digest of exactly the
containers that read it. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_pyrke.model.facts import ContainerFacts
from pulumi_pyrke.model.plan import ContainerSpec, FileSpec, HostPlan
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.plan.names import ETCD_BOOTSTRAP_FLAGS, in_container

SPEC_LABEL = "io.pyrke.spec"
"""The label holding a container's spec digest (sha256 of its canonical form)."""

_PATH = re.compile(r"/[\w.@%+=:,/-]+")


def container_files(host: HostPlan) -> dict[str, FileSpec]:
    """A host's files by the path its containers see (a plan's file paths are host paths,
    below the prefix path)."""
    return {in_container(host.prefix_path, f.path): f for f in host.files}


def files_read_by(spec: ContainerSpec, files: Mapping[str, FileSpec]) -> tuple[str, ...]:
    """The host files (by container path) a container reads: those its arguments and
    environment name, and those the contents of those name in turn (a kubeconfig names its
    certificate and key). ``files`` maps a file's path to its spec."""
    pending = [p for text in (*spec.args, *(e.name + "=" + _text(e.value) for e in spec.env))
               for p in _PATH.findall(text) if p in files]  # fmt: skip
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        content = files[path].content
        if content is not None:
            pending.extend(p for p in _PATH.findall(_text(content)) if p in files)
    return tuple(sorted(seen))


def spec_digest(spec: ContainerSpec, files: Mapping[str, FileSpec]) -> str | None:
    """The digest to label ``spec``'s container with; None while a file it reads is unknown.

    etcd's bootstrap-only flags are left out: a running member never re-reads them.
    """
    used: dict[str, str] = {}
    for path in files_read_by(spec, files):
        digest = files[path].digest
        if digest is None:
            return None
        used[path] = digest
    canonical: dict[str, Any] = {
        "image": spec.image,
        "entrypoint": list(spec.entrypoint),
        "args": sorted(a for a in spec.args if a.split("=", 1)[0] not in ETCD_BOOTSTRAP_FLAGS),
        "env": sorted(f"{e.name}={_digest_of(e.value)}" for e in spec.env),
        "binds": sorted(spec.binds),
        "network_mode": spec.network_mode,
        "pid_mode": spec.pid_mode,
        "privileged": spec.privileged,
        "restart_policy": spec.restart_policy,
        "user": spec.user,
        "volumes_from": list(spec.volumes_from),
        "labels": sorted(map(list, spec.labels)),
        "files": used,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def container_drift(
    spec: ContainerSpec, digest: str, observed: ContainerFacts | None
) -> tuple[str, ...]:
    """Why the container on the host must be (re)made or started; empty when it matches.

    Reasons: ``missing``; ``not made by pyrke`` (no spec label, e.g. left by RKE); ``image``;
    ``spec`` (arguments, environment, binds, modes or a file it reads); ``not running``.
    """
    if observed is None:
        return ("missing",)
    labels = dict(observed.labels)
    reasons: list[str] = []
    if SPEC_LABEL not in labels:
        reasons.append("not made by pyrke")
    elif labels[SPEC_LABEL] != digest:
        if observed.image != spec.image:
            reasons.append("image")
        reasons.append("spec")
    if not reasons and spec.start and observed.state != "running":
        reasons.append("not running")
    return tuple(reasons)


def _text(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _digest_of(value: str | Secret) -> str:
    """An environment value as the digest sees it: secrets by their hash, never in clear."""
    if isinstance(value, Secret):
        return "sha256:" + hashlib.sha256(value.reveal().encode()).hexdigest()
    return value
