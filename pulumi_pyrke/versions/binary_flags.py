"""The flags the real Kubernetes and etcd binaries accept, as their --help printed them
(flags/v1.28/*.txt, flags/etcd-3.5.txt). Used to catch a misspelt extra_args flag before a
component crash-loops on it. Pure: reads package data only.
"""

from __future__ import annotations

import functools
from importlib import resources

# cluster.yml service key -> binary whose --help list applies
SERVICE_BINARIES = {
    "etcd": "etcd",
    "kube-api": "kube-apiserver",
    "kube-controller": "kube-controller-manager",
    "scheduler": "kube-scheduler",
    "kubelet": "kubelet",
    "kubeproxy": "kube-proxy",
}
FLAG_LIST_VERSION = "v1.28"  # the only Kubernetes minor whose lists ship; etcd: 3.5


@functools.cache
def known_flags(binary: str) -> frozenset[str]:
    """Flag names (without dashes) the real `binary` lists in --help; empty if unknown."""
    name = "etcd-3.5.txt" if binary == "etcd" else f"{FLAG_LIST_VERSION}/{binary}.txt"
    path = resources.files("pulumi_pyrke.versions").joinpath("flags", *name.split("/"))
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lstrip("-") for line in lines if line.strip().startswith("--"))
