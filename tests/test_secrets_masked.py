"""Every secret field of cluster.yml is a Secret: repr, str, logs and dumps mask it, and only
the host file it belongs in holds it."""

from __future__ import annotations

import logging

import pytest

from pulumi_pyrke.model.load import load_cluster_yml
from pulumi_pyrke.plan import plan_cluster
from pulumi_pyrke.plan.config_files import cloud_config, encryption_config, webhook_config
from pulumi_pyrke.plan.render import render_json, render_text

SECRETS = [f"s3cr3t-{i}" for i in range(12)]

CLUSTER = f"""\
kubernetes_version: v1.28.15-rancher1-1
nodes:
  - address: 10.0.0.11
    user: ubuntu
    role: [controlplane, etcd, worker]
network:
  plugin: weave
  weave_network_provider: {{password: {SECRETS[0]}}}
  aci_network_provider: {{token: {SECRETS[1]}}}
authentication:
  strategy: x509|webhook
  webhook:
    config_file: "apiVersion: v1\\nkind: Config\\nusers: [{{name: a, user: {{token: {SECRETS[2]}}}}}]\\n"
services:
  kube-api:
    secrets_encryption_config:
      enabled: true
      custom_config:
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources: [{{resources: [secrets], providers: [{{aescbc: {{keys: [{{name: k, secret: {SECRETS[3]}}}]}}}}]}}]
  etcd:
    backup_config:
      s3backupconfig: {{bucket_name: b, access_key: {SECRETS[4]}, secret_key: {SECRETS[5]}}}
cloud_provider:
  name: openstack
  openstackCloudProvider:
    global: {{username: u, password: {SECRETS[6]}, auth-url: "https://keystone"}}
private_registries:
  - url: registry.example
    user: me
    password: {SECRETS[7]}
    ecr_credential_plugin:
      aws_access_key_id: {SECRETS[8]}
      aws_secret_access_key: {SECRETS[9]}
      aws_session_token: {SECRETS[10]}
"""


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_repr_str_and_dumps_mask_every_secret(caplog: pytest.LogCaptureFixture) -> None:
    config = load_cluster_yml(CLUSTER).config
    assert _leaks(repr(config)) == []
    assert _leaks(str(config)) == []
    assert _leaks(config.model_dump_json()) == []
    assert _leaks(repr(config.model_dump())) == []
    assert config.network.options["WeavePassword"] == SECRETS[0]  # the value itself is kept
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("config %s %r", config, config)
    assert _leaks(caplog.text) == []


def test_other_cloud_providers_are_secret_too() -> None:
    for section in ("awsCloudProvider", "azureCloudProvider", "vsphereCloudProvider"):
        text = CLUSTER.replace("openstackCloudProvider", section)
        config = load_cluster_yml(text).config
        assert _leaks(repr(config)) == [] and _leaks(config.model_dump_json()) == []
    custom = CLUSTER.replace(
        "  openstackCloudProvider:\n    global: {username: u, password: s3cr3t-6, auth-url: "
        '"https://keystone"}\n',
        '  customCloudProvider: "[Global]\\npassword = s3cr3t-6\\n"\n',
    )
    config = load_cluster_yml(custom).config
    assert _leaks(repr(config)) == []
    content = cloud_config(config)
    assert content is not None and "password = s3cr3t-6" in content.reveal()


def test_the_planner_reveals_secrets_only_into_their_host_files() -> None:
    config = load_cluster_yml(CLUSTER).config
    plan = plan_cluster(config, {})
    assert _leaks(render_json(plan)) == []
    assert _leaks(render_text(plan)) == []
    assert _leaks(repr(plan)) == []
    cloud = cloud_config(config)
    assert cloud is not None and SECRETS[6] in cloud.reveal()
    enc = encryption_config(config, None, "k")
    assert enc is not None and SECRETS[3] in enc.reveal()
    hook = webhook_config(config)
    assert hook is not None and not isinstance(hook, str) and SECRETS[2] in hook.reveal()
