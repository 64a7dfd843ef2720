# Stand-in for the pod infrastructure image (system_images.pod_infra_container): /pause waits
# for SIGTERM, as the real one does.
FROM scratch
COPY rootfs/ /
ENTRYPOINT ["/pause"]
