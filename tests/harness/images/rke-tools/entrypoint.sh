#!/bin/sh
# TEST DOUBLE of rke-tools' /opt/rke-tools/entrypoint.sh, which every Kubernetes container runs
# (shared from service-sidekick's /opt/rke-tools volume): `entrypoint.sh BINARY FLAGS...`.
# Like the real one, for kubelet with RKE_KUBELET_CRIDOCKERD=true it starts cri-dockerd
# (here the stand-in) with kubelet's --pod-infra-container-image, then runs the binary.
set -eu
if [ "${1:-}" = kubelet ] && [ "${RKE_KUBELET_CRIDOCKERD:-}" = true ]; then
  infra=""
  for arg in "$@"; do
    case "$arg" in --pod-infra-container-image=*) infra="$arg" ;; esac
  done
  /opt/rke-tools/bin/cri-dockerd --network-plugin=cni --cni-conf-dir=/etc/cni/net.d \
    --cni-bin-dir=/opt/cni/bin --container-runtime-endpoint=unix:///var/run/cri-dockerd.sock \
    ${infra:+"$infra"} &
fi
exec "$@"
