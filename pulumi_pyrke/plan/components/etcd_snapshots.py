"""The recurring etcd snapshot container (etcd-rolling-snapshots, rke-spec §6.6)."""

from __future__ import annotations

import base64

from pulumi_pyrke.model.plan import ContainerSpec, EnvVar
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.plan import names
from pulumi_pyrke.plan.components.common import kubernetes_bind, labels
from pulumi_pyrke.plan.context import HostView, PlanContext


def build_etcd_snapshots(ctx: PlanContext, host: HostView) -> ContainerSpec | None:
    """The snapshot container for an etcd host, or None when snapshots are off."""
    etcd = ctx.config.services.etcd
    backup = etcd.backup_config
    if not etcd.snapshot or (backup is not None and not backup.enabled):
        return None
    flags = {
        "cacert": names.ssl("kube-ca"),
        "cert": names.ssl("kube-node"),
        "key": names.ssl_key("kube-node"),
        "name": names.ETCD_SNAPSHOTS,
        "endpoints": f"{host.internal_address}:{names.ETCD_CLIENT_PORT}",
    }
    env: list[EnvVar] = []
    if backup is None:
        flags |= {"retention": etcd.retention, "creation": etcd.creation}
    else:
        flags |= {
            "creation": f"{backup.interval_hours}h",
            "retention": f"{backup.interval_hours * backup.retention}h",
        }
        s3 = backup.s3backupconfig
        if s3 is not None:
            flags |= {
                "s3-backup": "true",
                "s3-endpoint": s3.endpoint,
                "s3-bucketName": s3.bucket_name,
                "s3-region": s3.region,
            }
            if s3.custom_ca:
                flags["s3-endpoint-ca"] = base64.b64encode(s3.custom_ca.encode()).decode()
            if s3.folder:
                flags["s3-folder"] = s3.folder
            # rke-tools reads S3 credentials only from its environment; they stay Secrets.
            for env_name, value in (
                ("S3_ACCESS_KEY", s3.access_key),
                ("S3_SECRET_KEY", s3.secret_key),
            ):
                if value:
                    encoded = base64.b64encode(value.reveal().encode()).decode()
                    env.append(EnvVar(name=env_name, value=Secret(encoded)))
    return ContainerSpec(
        name=names.ETCD_SNAPSHOTS,
        plane="etcd",
        image=ctx.images["alpine"],
        entrypoint=("/opt/rke-tools/rke-etcd-backup", "etcd-backup", "save"),
        args=tuple(sorted(f"--{k}={v}" for k, v in flags.items())),
        env=tuple(env),
        binds=(f"{names.SNAPSHOT_DIR}:/backup", kubernetes_bind(host)),
        labels=labels(names.ETCD_SNAPSHOTS),
    )
