"""The test images on real test nodes, with certificates, kubeconfigs and containers from the
project's own PKI and planner: a real etcd, the Kubernetes stand-ins, nginx-proxy, pause.

Every assertion holds for the real images too (PYRKE_SYSTEM_IMAGES): a broken input must make
the component exit or never become healthy, however it reports it."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from harness import containers, images
from harness.fixtures import NodeFactory
from harness.nodes import TestNode, wait_until

from pulumi_pyrke import load_cluster_yml
from pulumi_pyrke.model.plan import ClusterPlan, ContainerSpec, HostPlan
from pulumi_pyrke.pki import CertificateBundle
from pulumi_pyrke.plan.cluster import plan_cluster_with_pki

IMAGES_PY = Path(images.__file__)


def test_system_images_file_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = {key: f"registry.example/{key}:1" for key in images.REQUIRED_KEYS}
    path = tmp_path / "images.yml"
    path.write_text(images.render(listed))
    monkeypatch.setenv(images.ENV_FILE, str(path))
    out = subprocess.run(
        [sys.executable, str(IMAGES_PY), "list"], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == sorted(set(listed.values()))
    assert images.read_system_images(path) == listed


def test_system_images_file_must_name_every_key(tmp_path: Path) -> None:
    path = tmp_path / "images.yml"
    path.write_text("system_images:\n  etcd: quay.io/coreos/etcd:v3.5.1\n")
    with pytest.raises(images.ImageError, match="lacks alpine"):
        images.read_system_images(path)


@pytest.mark.nodes
def test_build_prints_system_images_and_is_idempotent(system_images: dict[str, str]) -> None:
    if os.environ.get(images.ENV_FILE):
        pytest.skip("PYRKE_SYSTEM_IMAGES names the images: nothing is built")
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, str(IMAGES_PY), "build"], capture_output=True, text=True, check=True
    )
    assert time.monotonic() - started < 10, "a second build must only find the images"
    assert images.read_system_images_text(out.stdout) == system_images
    assert set(images.REQUIRED_KEYS) <= set(system_images)


# --- a small cluster on three nodes: n1 every role, n2 worker; n3 runs the broken variants


@dataclass
class Cluster:
    plan: ClusterPlan
    bundle: CertificateBundle
    nodes: dict[str, TestNode]  # by address
    pki: Path  # the bundle's PEM files on this machine, for clients
    spare: TestNode  # not in the cluster: runs the variants that must fail

    def host(self, node: TestNode) -> HostPlan:
        host = self.plan.node(node.address)
        assert host is not None
        return host

    def spec(self, node: TestNode, name: str) -> ContainerSpec:
        spec = self.host(node).container(name)
        assert spec is not None, f"{name} is not planned on {node.address}"
        return spec

    def pem(self, name: str) -> tuple[str, str]:
        return str(self.pki / f"{name}.pem"), str(self.pki / f"{name}-key.pem")


def _config_text(addresses: list[str], system_images: dict[str, str]) -> str:
    roles = [["etcd", "controlplane", "worker"], ["worker"]]
    nodes = "".join(
        f"  - address: {address}\n    user: root\n    role: [{', '.join(role)}]\n"
        for address, role in zip(addresses, roles, strict=True)
    )
    images_block = "".join(f"  {k}: {v}\n" for k, v in sorted(system_images.items()))
    return f"cluster_name: images-test\nnodes:\n{nodes}system_images:\n{images_block}"


@pytest.fixture(scope="module")
def cluster(
    node_factory: NodeFactory,
    system_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    n1, n2, spare = node_factory(3)
    config = load_cluster_yml(_config_text([n1.address, n2.address], system_images)).config
    plan, result = plan_cluster_with_pki(config)
    pki = tmp_path_factory.mktemp("pki")
    for cert in result.bundle.certificates:
        (pki / f"{cert.name}.pem").write_text(cert.cert_pem)
        if cert.key_pem is not None:
            (pki / f"{cert.name}-key.pem").write_text(cert.key_pem.reveal())
    wanted = sorted(set(system_images.values()))
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda n: images.load(n.name, wanted), (n1, n2, spare)))
    cluster = Cluster(
        plan=plan,
        bundle=result.bundle,
        nodes={n.address: n for n in (n1, n2)},
        pki=pki,
        spare=spare,
    )
    # the spare holds n1's files: a second control-plane host in all but the plan
    for node, host in ((n1, cluster.host(n1)), (n2, cluster.host(n2)), (spare, cluster.host(n1))):
        containers.write_files(node, host)
    # RKE's plane order, service-sidekick first on every host; components retry what is not up
    for node in (n1, n2):
        containers.run(node, cluster.spec(node, "service-sidekick"))
    for plane in ("etcd", "controlplane", "worker"):
        for node in (n1, n2):
            for spec in cluster.host(node).containers:
                if spec.plane == plane and spec.name != "service-sidekick":
                    containers.run(node, spec)
    yield cluster


def _context(cluster: Cluster, client: str | None, verify: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cluster.pki / "kube-ca.pem"))
    if not verify:  # RKE's probes do not verify the server (rke-spec §3.11)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client:
        context.load_cert_chain(*cluster.pem(client))
    return context


def _get(address: str, port: int, path: str, context: ssl.SSLContext | None) -> tuple[int, str]:
    """GET from this machine; with a context over HTTPS (verifying `address` if it verifies)."""
    if context is None:
        conn: http.client.HTTPConnection = http.client.HTTPConnection(address, port, timeout=5)
    else:
        conn = http.client.HTTPSConnection(address, port, timeout=5, context=context)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def _node_get(node: TestNode, port: int, path: str) -> tuple[int, str]:
    """GET http://127.0.0.1:PORT/PATH from inside the node (endpoints bound to loopback)."""
    # the node's python3 is Debian's minimal one: no http or urllib, so HTTP/1.0 by hand
    script = (
        "import socket\n"
        "try:\n"
        f"    s = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
        f"    s.sendall(b'GET {path} HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n')\n"
        "    data = b''\n"
        "    while chunk := s.recv(65536):\n"
        "        data += chunk\n"
        "    head, _, body = data.decode().partition('\\r\\n\\r\\n')\n"
        "    print(head.split()[1]); print(body)\n"
        "except OSError as e:\n"
        "    print(0); print(e)\n"
    )
    out = node.exec("python3 -", input=script.encode()).stdout.decode()
    code, _, body = out.partition("\n")
    return int(code), body


def _answers(probe: object) -> bool:
    try:
        return probe() == 200  # type: ignore[operator]
    except OSError:
        return False


def _wait_ok(
    what: str, probe: object, timeout: float = 60, logs_of: tuple[TestNode, str] | None = None
) -> None:
    """Wait for `probe` to return 200; on timeout, the error carries the container's log."""
    try:
        wait_until(lambda: _answers(probe), timeout, what, interval=0.5)
    except TimeoutError as exc:
        if logs_of is None:
            raise
        tail = "\n".join(containers.logs(*logs_of).splitlines()[-15:])
        raise TimeoutError(f"{exc}; {logs_of[1]} on {logs_of[0].address} logged:\n{tail}") from None


@pytest.mark.nodes
def test_every_component_answers_its_health_endpoint(cluster: Cluster) -> None:
    n1, n2 = cluster.nodes.values()
    node_cert = _context(cluster, "kube-node")
    api_cert = _context(cluster, "kube-apiserver")
    _wait_ok("etcd /health", lambda: _get(n1.address, 2379, "/health", node_cert)[0])
    assert json.loads(_get(n1.address, 2379, "/health", node_cert)[1])["health"] == "true"
    for path in ("/healthz", "/readyz", "/livez"):
        _wait_ok(
            f"kube-apiserver {path}",
            lambda p=path: _get(n1.address, 6443, p, api_cert)[0],
            logs_of=(n1, "kube-apiserver"),
        )
    _wait_ok(
        "kube-controller-manager",
        lambda: _get(n1.address, 10257, "/healthz", _context(cluster, None))[0],
    )
    _wait_ok(
        "kube-scheduler", lambda: _get(n1.address, 10259, "/healthz", _context(cluster, None))[0]
    )
    for node in (n1, n2):
        _wait_ok(f"kubelet on {node.address}", lambda n=node: _node_get(n, 10248, "/healthz")[0])
        _wait_ok(f"kube-proxy on {node.address}", lambda n=node: _node_get(n, 10256, "/healthz")[0])
    # the apiserver's serving certificate verifies for its host, against the cluster CA
    verified = _context(cluster, "kube-apiserver", verify=True)
    assert _get(n1.address, 6443, "/healthz", verified)[0] == 200


@pytest.mark.nodes
def test_apiserver_refuses_a_client_without_certificate(cluster: Cluster) -> None:
    n1 = next(iter(cluster.nodes.values()))
    _wait_ok(
        "kube-apiserver",
        lambda: _get(n1.address, 6443, "/healthz", _context(cluster, "kube-apiserver"))[0],
    )
    assert "--anonymous-auth=false" in cluster.spec(n1, "kube-apiserver").args
    status, body = _get(n1.address, 6443, "/api/v1/nodes", _context(cluster, None))
    assert status == 401, body
    assert _get(n1.address, 6443, "/healthz", _context(cluster, None))[0] == 401


def _nodes(cluster: Cluster, address: str) -> dict[str, str]:
    status, body = _get(address, 6443, "/api/v1/nodes", _context(cluster, "kube-admin"))
    assert status == 200, body
    listing = json.loads(body)
    assert listing["kind"] == "NodeList"
    return {
        item["metadata"]["name"]: next(
            c["status"] for c in item["status"]["conditions"] if c["type"] == "Ready"
        )
        for item in listing["items"]
    }


@pytest.mark.nodes
def test_kubelets_register_and_are_ready(cluster: Cluster) -> None:
    """n2 has no control plane: its kubelet reaches the apiserver through nginx-proxy."""
    n1, n2 = cluster.nodes.values()
    expected = {cluster.host(n).hostname: "True" for n in (n1, n2)}
    assert cluster.host(n2).container("nginx-proxy") is not None

    def ready() -> bool:
        try:
            return _nodes(cluster, n1.address) == expected
        except (OSError, AssertionError, KeyError):
            return False

    wait_until(ready, 90, f"nodes {sorted(expected)} registered and Ready", interval=1)
    status, body = _get(
        n1.address,
        6443,
        f"/api/v1/nodes/{cluster.host(n2).hostname}",
        _context(cluster, "kube-admin"),
    )
    assert status == 200 and json.loads(body)["metadata"]["name"] == cluster.host(n2).hostname


# --- the variants that must fail, on the spare node (not in the plan, n1's files)


def _variant(
    cluster: Cluster, name: str, args: tuple[str, ...], spec: str = "kube-apiserver"
) -> str:
    n1 = next(iter(cluster.nodes.values()))
    base = cluster.spec(n1, spec)
    if cluster.spare.exec("docker inspect service-sidekick", check=False).returncode != 0:
        containers.run(cluster.spare, cluster.spec(n1, "service-sidekick"))
    cluster.spare.exec(f"docker rm -f {name} >/dev/null 2>&1 || true")
    return containers.run(cluster.spare, replace(base, args=args), name=name, restart="no")


def _swap(args: tuple[str, ...], flag: str, value: str) -> tuple[str, ...]:
    return tuple(f"--{flag}={value}" if a.startswith(f"--{flag}=") else a for a in args)


def _stopped(cluster: Cluster, name: str) -> None:
    cluster.spare.exec(f"docker rm -f {name} >/dev/null 2>&1 || true")


@pytest.mark.nodes
def test_a_second_apiserver_with_the_same_etcd_serves_the_same_nodes(cluster: Cluster) -> None:
    n1 = next(iter(cluster.nodes.values()))
    test_kubelets_register_and_are_ready(cluster)
    name = _variant(cluster, "apiserver-good", cluster.spec(n1, "kube-apiserver").args)
    try:
        _wait_ok(
            "second apiserver",
            lambda: _get(
                cluster.spare.address, 6443, "/readyz", _context(cluster, "kube-apiserver")
            )[0],
        )
        assert _nodes(cluster, cluster.spare.address) == _nodes(cluster, n1.address)
    finally:
        _stopped(cluster, name)


@pytest.mark.nodes
def test_apiserver_exits_on_an_unknown_flag(cluster: Cluster) -> None:
    n1 = next(iter(cluster.nodes.values()))
    args = (*cluster.spec(n1, "kube-apiserver").args, "--no-such-flag=1")
    name = _variant(cluster, "apiserver-flag", args)
    try:
        assert containers.wait_exited(cluster.spare, name) != 0
        assert "unknown flag: --no-such-flag" in containers.logs(cluster.spare, name)
    finally:
        _stopped(cluster, name)


@pytest.mark.nodes
@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("tls-cert-file", "/etc/kubernetes/ssl/missing.pem", "/etc/kubernetes/ssl/missing.pem"),
        ("etcd-certfile", "/etc/kubernetes/ssl/absent.pem", "/etc/kubernetes/ssl/absent.pem"),
        # a key that is not the certificate's
        ("tls-private-key-file", "/etc/kubernetes/ssl/kube-scheduler-key.pem", "does not match"),
        # a file that is no certificate
        ("client-ca-file", "/etc/kubernetes/admission.yaml", ""),
    ],
    ids=["missing-cert", "missing-etcd-cert", "key-not-matching", "not-a-certificate"],
)
def test_apiserver_exits_on_a_bad_certificate_file(
    cluster: Cluster, flag: str, value: str, message: str
) -> None:
    n1 = next(iter(cluster.nodes.values()))
    name = _variant(
        cluster, f"apiserver-{flag}", _swap(cluster.spec(n1, "kube-apiserver").args, flag, value)
    )
    try:
        assert containers.wait_exited(cluster.spare, name) != 0
        assert message in containers.logs(cluster.spare, name)
    finally:
        _stopped(cluster, name)


@pytest.mark.nodes
def test_apiserver_certificate_without_this_hosts_san_is_refused(cluster: Cluster) -> None:
    """n1's certificate on the spare, advertised as the spare: no client can verify it."""
    n1 = next(iter(cluster.nodes.values()))
    spare = cluster.spare.address
    name = _variant(
        cluster,
        "apiserver-san",
        _swap(cluster.spec(n1, "kube-apiserver").args, "advertise-address", spare),
    )
    try:

        def settled() -> bool:
            if containers.state(cluster.spare, name)[0] == "exited":
                return True
            return _answers(
                lambda: _get(spare, 6443, "/healthz", _context(cluster, "kube-apiserver"))[0]
            )

        wait_until(settled, 30, "the variant exits or serves")
        verified = _context(cluster, "kube-apiserver", verify=True)
        with pytest.raises(OSError):  # refused (it exited), or the certificate does not verify
            _get(spare, 6443, "/healthz", verified)
        if containers.state(cluster.spare, name)[0] == "exited":
            assert spare in containers.logs(cluster.spare, name)
    finally:
        _stopped(cluster, name)


@pytest.mark.nodes
def test_apiserver_is_not_healthy_without_etcd(cluster: Cluster) -> None:
    n1 = next(iter(cluster.nodes.values()))
    args = _swap(
        cluster.spec(n1, "kube-apiserver").args, "etcd-servers", f"https://{n1.address}:2399"
    )
    name = _variant(cluster, "apiserver-etcd", args)
    try:
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            try:
                seen.append(
                    _get(
                        cluster.spare.address,
                        6443,
                        "/healthz?verbose",
                        _context(cluster, "kube-apiserver"),
                    )
                )
            except OSError as exc:
                seen.append((0, str(exc)))
            assert seen[-1][0] != 200, seen[-1]
            time.sleep(0.5)
        answered = [body for code, body in seen if code]
        assert not answered or "etcd" in answered[-1]
    finally:
        _stopped(cluster, name)


@pytest.mark.nodes
def test_kubelet_with_a_certificate_not_of_a_node_never_registers(cluster: Cluster) -> None:
    """kube-proxy's kubeconfig (CN system:kube-proxy, no O=system:nodes) given to a kubelet."""
    n1, n2 = cluster.nodes.values()
    args = _swap(
        cluster.spec(n1, "kubelet").args,
        "kubeconfig",
        "/etc/kubernetes/ssl/kubecfg-kube-proxy.yaml",
    )
    args = _swap(args, "hostname-override", "not-a-node")
    # the spare has no apiserver of its own: point it at n1 as nginx-proxy would
    nginx = cluster.spec(n2, "nginx-proxy")
    proxy = containers.run(cluster.spare, nginx, name="nginx-proxy-variant", restart="no")
    name = _variant(cluster, "kubelet-cert", args, spec="kubelet")
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert "not-a-node" not in _nodes(cluster, n1.address)
            if containers.state(cluster.spare, name)[0] == "exited":
                assert "system:nodes" in containers.logs(cluster.spare, name)
                break
            time.sleep(1)
    finally:
        _stopped(cluster, name)
        _stopped(cluster, proxy)


@pytest.mark.nodes
def test_rke_tools_snapshot_and_cert_deployer(cluster: Cluster) -> None:
    """The tool commands of rke-tools the engine runs: an etcd snapshot and cert-deployer."""
    n1 = next(iter(cluster.nodes.values()))
    _wait_ok(
        "etcd /health", lambda: _get(n1.address, 2379, "/health", _context(cluster, "kube-node"))[0]
    )
    tools = cluster.spec(n1, "service-sidekick").image
    ssl_dir = "/etc/kubernetes/ssl"
    n1.exec(
        "docker run --rm --net=host -v /etc/kubernetes:/etc/kubernetes "
        f"-v /opt/rke/etcd-snapshots:/backup {tools} /opt/rke-tools/rke-etcd-backup etcd-backup "
        f"save --once --name=images-test --cacert={ssl_dir}/kube-ca.pem "
        f"--cert={ssl_dir}/kube-node.pem --key={ssl_dir}/kube-node-key.pem "
        f"--endpoints={n1.address}:2379"
    )
    snapshots = n1.output("ls -s /opt/rke/etcd-snapshots/").split()
    assert any(name.startswith("images-test") for name in snapshots), snapshots
    n1.exec(
        "docker run --rm -e KUBE_TEST=certificate -e KUBE_TEST_KEY=key -e KUBECFG_KUBE_TEST=cfg "
        f"-v /tmp/deployed:/etc/kubernetes {tools} cert-deployer"
    )
    listed = n1.output(
        "cd /tmp/deployed/ssl && head -n1 kube-test.pem kube-test-key.pem kubecfg-kube-test.yaml"
    )
    assert "certificate" in listed and "key" in listed and "cfg" in listed
