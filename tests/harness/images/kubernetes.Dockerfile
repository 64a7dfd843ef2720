# Stand-in for RKE's hyperkube image (system_images.kubernetes): one static multi-call binary
# for kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy (see
# go/kube), and busybox for the shell that rke-tools' entrypoint.sh runs in.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
