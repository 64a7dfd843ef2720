# Stand-in for rancher/rke-tools (system_images alpine, cert_downloader, nginx_proxy,
# kubernetes_services_sidecar): busybox userland, /bin/bash as a busybox-sh shim, nginx-proxy
# (a real TCP proxy), curl (the subset health probes use), cert-deployer, and under /opt/rke-tools (a volume, which
# service-sidekick exports to every Kubernetes container) entrypoint.sh, rke-etcd-backup,
# bin/cri-dockerd (stand-in) and bin/etcdctl (real).
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME ["/opt/rke-tools"]
CMD ["/bin/sh"]
