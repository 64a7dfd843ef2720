"""Converging one host, against the in-memory host (engine/fake.py, a test double): images
are pulled with the credentials of the registry they come from, and only what is missing."""

from __future__ import annotations

from pulumi_pyrke.engine.converge import HostRun, converge_images, registry_auths, registry_of
from pulumi_pyrke.engine.fake import FakeHost
from pulumi_pyrke.engine.tools import Tools
from pulumi_pyrke.model import parse_cluster_config
from pulumi_pyrke.plan import plan_cluster


def test_the_registry_of_an_image_is_docker_s() -> None:
    assert registry_of("rancher/rke-tools:v0.1.114") == "docker.io"
    assert registry_of("busybox") == "docker.io"
    assert registry_of("registry.example.com/rancher/hyperkube:v1") == "registry.example.com"
    assert registry_of("localhost:5000/pause:3.9") == "localhost:5000"
    assert registry_of("localhost/pause") == "localhost"


def test_missing_images_are_pulled_with_their_registry_s_credentials() -> None:
    config = parse_cluster_config(
        {
            "nodes": [
                {"address": "10.0.0.1", "user": "root", "role": ["etcd", "controlplane", "worker"]}
            ],
            "private_registries": [
                {
                    "url": "registry.example.com",
                    "user": "puller",
                    "password": "hunter2-secret",
                    "is_default": True,
                },
                {"url": "https://index.docker.io/", "user": "hub", "password": "hub-secret"},
            ],
        }
    ).config
    plan = plan_cluster(config)
    (host,) = plan.nodes
    fake = FakeHost(address="10.0.0.1")
    engine = fake.engine
    wanted = sorted({c.image for c in host.containers} | {plan.tools_image})
    assert all(i.startswith("registry.example.com/") for i in wanted)
    for image in wanted:
        engine.registry[image if ":" in image.rsplit("/", 1)[-1] else image + ":latest"] = (
            "sha256:" + "0" * 64
        )
    present = wanted[0]
    engine.images[present] = "sha256:" + "1" * 64
    run = HostRun(
        plan=host,
        docker=engine,
        tools=Tools(shell=fake, host="10.0.0.1", image=plan.tools_image),
        cluster=plan.cluster_name,
    )
    auths = registry_auths(config.private_registries)
    assert [a.server for a in auths] == ["registry.example.com", "docker.io"]
    pulled = converge_images(run, host.containers, auths, lambda _: None)
    assert sorted(pulled) == wanted[1:]  # what was there is not pulled again
    assert {(auth.server, auth.username) for _, auth in engine.pulls if auth} == {
        ("registry.example.com", "puller")
    }
    assert "hunter2" not in repr(engine.pulls)
    assert converge_images(run, host.containers, auths, lambda _: None) == ()


def test_secrets_encryption_gets_one_key_for_the_cluster_s_life() -> None:
    from pulumi_pyrke.engine.cluster import _with_encryption_key
    from pulumi_pyrke.plan import plan_cluster_with_pki

    config = parse_cluster_config(
        {
            "nodes": [
                {"address": "10.0.0.1", "user": "root", "role": ["etcd", "controlplane", "worker"]}
            ],
            "services": {"kube-api": {"secrets_encryption_config": {"enabled": True}}},
        }
    ).config
    state = _with_encryption_key(config, None)
    assert state is not None and state.encryption_key is not None
    plan, _ = plan_cluster_with_pki(config, None, state)
    (encryption,) = [f for f in plan.nodes[0].files if f.path.endswith("/encryption.yaml")]
    assert encryption.content is not None  # known at apply: the files step can write it
    assert _with_encryption_key(config, state) is state  # never a second key
