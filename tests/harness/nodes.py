"""Real test nodes: Docker-in-Docker containers, each with its own address, sshd and dockerd.

Used by pytest (through harness.fixtures) and by hand:
`python3 tests/harness/nodes.py up 3 [--cluster-yml cluster.yml]` / `... down`. Starting and removing goes through
nodes.sh, the image through build-node-image.sh; everything else is `docker exec` into a node.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_IMAGE = "pyrke-test/node:bookworm"
BASE_IMAGE = "pyrke-test/node-base:bookworm"
NETWORK = "pyrke-test"
DEFAULT_PREFIX = "pyrke-"
DEFAULT_KEY_DIR = Path("/tmp/pyrke-test-keys")

_image_lock = threading.Lock()
_image_ready = False


class NodeError(RuntimeError):
    """A test node could not be built, started, reached or changed."""


class NodeCommandError(NodeError, subprocess.CalledProcessError):
    """A command inside a node exited non-zero; the message carries its stderr."""

    def __init__(self, node: str, result: subprocess.CompletedProcess[bytes]) -> None:
        subprocess.CalledProcessError.__init__(
            self, result.returncode, result.args, result.stdout, result.stderr
        )
        self.node = node

    def __str__(self) -> str:
        command = self.cmd[-1] if isinstance(self.cmd, list) else self.cmd
        stderr = (self.stderr or b"").decode(errors="replace").strip()
        return f"node {self.node}: {command!r} exited {self.returncode}: {stderr or '(no stderr)'}"


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Call `check` until it returns True; raise TimeoutError naming `what` after `timeout` s.

    The harness's only sleep."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout:g}s")
        time.sleep(interval)


def _run(args: Sequence[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run a harness script or the docker CLI; raise NodeError with its stderr on failure."""
    result = subprocess.run(
        list(args),
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise NodeError(
            f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result


def _image_exists(image: str) -> bool:
    result = subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, check=False, timeout=30
    )
    return result.returncode == 0


def unavailable_reason() -> str | None:
    """Why test nodes cannot run on this machine, or None when they can."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH (test nodes are Docker-in-Docker containers)"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer `docker info` within 20s"
    if info.returncode != 0:
        return f"the Docker daemon does not answer: {info.stderr.strip()}"
    if not _image_exists(BASE_IMAGE):
        if os.geteuid() != 0:
            return f"{BASE_IMAGE} is missing and building it (debootstrap) needs root"
        if shutil.which("debootstrap") is None:
            return f"{BASE_IMAGE} is missing and debootstrap is not installed"
    return None


def ensure_image() -> None:
    """Build the node images if missing or out of date (once per process; ~45 s the first time)."""
    global _image_ready
    with _image_lock:
        if not _image_ready:
            _run([str(HERE / "build-node-image.sh")])
            _image_ready = True


HARDENED_SSHD = """\
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 10
AllowTcpForwarding no
AllowStreamLocalForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
"""


@dataclass(frozen=True)
class TestNode:
    """One running node: `name` is its container, `address` where its sshd listens (port 22)."""

    __test__ = False  # not a pytest test class

    name: str
    address: str

    def exec(
        self,
        cmd: str,
        *,
        check: bool = True,
        input: bytes | None = None,  # noqa: A002 - named as in subprocess.run
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run `sh -c cmd` inside the node as root (`docker exec -i`), output captured."""
        result = subprocess.run(
            ["docker", "exec", "-i", self.name, "sh", "-c", cmd],
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            check=False,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise NodeCommandError(self.name, result)
        return result

    def output(self, cmd: str) -> str:
        """Stdout of `cmd` inside the node, stripped; raises NodeCommandError on failure."""
        return self.exec(cmd).stdout.decode().strip()

    def host_public_keys(self) -> dict[str, str]:
        """The node's sshd host keys: key type -> "type base64" (as in known_hosts)."""
        keys = {}
        for line in self.output("cat /etc/ssh/ssh_host_*_key.pub").splitlines():
            key_type, blob = line.split()[:2]
            keys[key_type] = f"{key_type} {blob}"
        return keys

    def stop_docker(self) -> None:
        """Stop the node's dockerd and wait until /var/run/docker.sock is gone."""
        self.exec("nodectl dockerd-stop")

    def start_docker(self) -> None:
        """Start the node's dockerd (as node-init does) and wait until `docker info` answers."""
        self.exec("nodectl dockerd-start")

    def restart_sshd(self) -> None:
        """Restart the node's sshd listener (open sessions stay) and wait for its banner."""
        self.exec("nodectl sshd-restart")
        wait_ssh(self.address)

    def regenerate_host_keys(self) -> None:
        """Give the node new sshd host keys (every type) and restart sshd."""
        self.exec("nodectl host-keys-regenerate")
        wait_ssh(self.address)

    def add_user(self, name: str, *, docker_group: bool, authorized_keys: Iterable[str]) -> None:
        """Create (or update) a login user with these public keys, in group docker if asked."""
        keys = "".join(f"{key.strip()}\n" for key in authorized_keys)
        group = " docker" if docker_group else ""
        self.exec(f"nodectl user-add {name}{group}", input=keys.encode())

    def trust_user_ca(self, ca_pubkey_text: str) -> None:
        """Make sshd accept user certificates signed by this CA (TrustedUserCAKeys)."""
        self.exec("nodectl trust-user-ca", input=f"{ca_pubkey_text.strip()}\n".encode())
        wait_ssh(self.address)

    def harden_sshd(self) -> None:
        """Give the node a stock, hardened sshd: MaxSessions 10 and no forwarding of any kind,
        as on hosts where nothing but a login is allowed (the image's defaults are generous,
        for the bastion and fan-out tests)."""
        self.exec(
            "cat > /etc/ssh/sshd_config.d/pyrke-test.conf && nodectl sshd-restart",
            input=HARDENED_SSHD.encode(),
        )

    def sshd_log(self) -> str:
        """The node's sshd log; each "Accepted publickey" line is one SSH connection."""
        return self.exec("cat /var/log/sshd.log", check=False).stdout.decode(errors="replace")

    def dockerd_log(self) -> str:
        """The node's dockerd log (for failure messages)."""
        return self.exec("cat /var/log/dockerd.log", check=False).stdout.decode(errors="replace")


def _ssh_banner(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1) as sock:
            sock.settimeout(2)
            return sock.recv(4) == b"SSH-"
    except OSError:
        return False


def wait_ssh(address: str, timeout: float = 30, *, port: int = 22) -> None:
    """Wait until `address:port` accepts a TCP connection and sends an SSH banner."""
    wait_until(lambda: _ssh_banner(address, port), timeout, f"sshd banner from {address}:{port}")


def wait_docker(node: TestNode, timeout: float = 60) -> None:
    """Wait until the node's dockerd answers `docker info` inside the node."""
    waited = node.exec(
        f"timeout {timeout:g} sh -c 'until docker info >/dev/null 2>&1; do sleep 0.1; done'",
        check=False,
        timeout=timeout + 30,
    )
    if waited.returncode != 0:
        tail = "\n".join(node.dockerd_log().splitlines()[-15:])
        raise TimeoutError(
            f"dockerd on node {node.name} ({node.address}) did not answer in {timeout:g}s; "
            f"/var/log/dockerd.log ends:\n{tail}"
        )


def start_nodes(
    count: int,
    *,
    prefix: str,
    authorized_keys: Iterable[str],
    sshd_delay: float = 0,
    dockerd: bool = True,
    wait: bool = True,
    owned: bool = False,
) -> list[TestNode]:
    """Start nodes PREFIX1..PREFIXcount in parallel, root reachable with `authorized_keys`.

    With `wait`, return once every node's sshd (unless delayed) and dockerd (if started)
    answer. `sshd_delay` seconds pass before a node's sshd starts (a machine still booting);
    `dockerd=False` starts none (start it later with TestNode.start_docker). `owned` nodes
    belong to this process: once it is gone, `reap_orphans` removes them.
    """
    ensure_image()
    out = _run(
        [str(HERE / "nodes.sh"), "up", str(count), prefix],
        NODE_AUTHORIZED_KEYS="\n".join(key.strip() for key in authorized_keys),
        NODE_SSHD_DELAY=f"{sshd_delay:g}",
        NODE_DOCKERD="1" if dockerd else "0",
        NODE_BUILD="0",
        NODE_OWNER=f"{socket.gethostname()}:{os.getpid()}" if owned else "",
    ).stdout
    started = [
        TestNode(name=name, address=address) for name, address in map(str.split, out.splitlines())
    ]
    if wait:

        def ready(node: TestNode) -> None:
            if sshd_delay == 0:
                wait_ssh(node.address)
            if dockerd:
                wait_docker(node)

        with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
            list(pool.map(ready, started))
    return started


def stop_nodes(prefix: str) -> None:
    """Remove every node whose name starts with `prefix`, with its /var/lib/docker volume."""
    if not prefix:
        raise ValueError("stop_nodes needs a non-empty prefix")
    _run([str(HERE / "nodes.sh"), "down", prefix])


def reap_orphans() -> list[str]:
    """Remove the owned nodes of test processes on this machine that are gone (a run killed
    before its teardown); return their names."""
    owner_format = '{{.Names}} {{.Label "pyrke.test.owner"}}'
    listing = _run(
        ["docker", "ps", "-a", "--filter", "label=pyrke.test.owner", "--format", owner_format]
    ).stdout
    here = socket.gethostname()
    orphans = []
    for line in listing.splitlines():
        name, _, owner = line.partition(" ")
        host, _, pid = owner.rpartition(":")
        if host == here and pid.isdigit() and not _alive(int(pid)):
            orphans.append(name)
    if orphans:
        _run([str(HERE / "nodes.sh"), "rm", *orphans])
    return orphans


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_nodes(nodes: Iterable[TestNode]) -> None:
    """Remove exactly these nodes and their volumes."""
    names = [node.name for node in nodes]
    if names:
        _run([str(HERE / "nodes.sh"), "rm", *names])


def _key_for_manual_use(public: str | None) -> tuple[str, Path]:
    """(public key text, private key path) for `--key` (either file of the pair), or for a key
    generated once into DEFAULT_KEY_DIR."""
    if public is not None:
        given = Path(public).expanduser()
        if given.suffix == ".pub":
            return given.read_text(), given.with_suffix("")
        return Path(f"{given}.pub").read_text(), given  # the private key was named
    private = DEFAULT_KEY_DIR / "id_ed25519"
    if not private.exists():
        DEFAULT_KEY_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pyrke-test", "-f", str(private)],
            check=True,
        )
    return private.with_suffix(".pub").read_text(), private


def write_cluster_yml(path: Path, started: Sequence[TestNode], key: Path) -> None:
    """Load the test images into `started` (`docker exec ... docker load`, fast) and write
    `path`: a cluster.yml for them (node 1 every role, the rest workers) with `key` and the
    test images' system_images, ready for `pyrke up -c path`."""
    import yaml

    sys.path.insert(0, str(HERE.parent))  # run as a script: make `harness` importable
    from harness import images

    system = images.system_images()
    with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
        list(pool.map(lambda node: images.load(node.name, system.values()), started))
    every = ["etcd", "controlplane", "worker"]
    config = {
        "cluster_name": "pyrke-test",
        "nodes": [
            {
                "address": node.address,
                "user": "root",
                "role": every if i == 0 else ["worker"],
                "ssh_key_path": str(key),
            }
            for i, node in enumerate(started)
        ],
        "system_images": system,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# test nodes from tests/harness/nodes.py, the test images already loaded\n"
        + yaml.safe_dump(config, sort_keys=False)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nodes.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start N nodes and wait until sshd and dockerd answer")
    up.add_argument("count", type=int)
    up.add_argument("--prefix", default=DEFAULT_PREFIX, help="name prefix (default %(default)s)")
    up.add_argument("--key", help=f"public key for root (default: one made in {DEFAULT_KEY_DIR})")
    up.add_argument("--sshd-delay", type=float, default=0, help="seconds before sshd starts")
    up.add_argument("--no-dockerd", action="store_true", help="start no dockerd")
    up.add_argument(
        "--cluster-yml",
        metavar="FILE",
        help="also load the test images into the nodes and write FILE, a cluster.yml for them "
        "(node 1 every role, the rest workers)",
    )
    down = commands.add_parser("down", help="remove the nodes named PREFIX* and their volumes")
    down.add_argument("--prefix", default=DEFAULT_PREFIX, help="name prefix (default %(default)s)")
    commands.add_parser("build", help="build the node images if missing or out of date")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            ensure_image()
        elif args.command == "down":
            stop_nodes(args.prefix)
        else:
            public, private = _key_for_manual_use(args.key)
            started = start_nodes(
                args.count,
                prefix=args.prefix,
                authorized_keys=[public],
                sshd_delay=args.sshd_delay,
                dockerd=not args.no_dockerd,
            )
            for node in started:
                print(node.name, node.address)
            print(f"key: {private}    (ssh -i {private} root@{started[0].address})")
            if args.cluster_yml:
                write_cluster_yml(Path(args.cluster_yml), started, private)
                print(
                    f"{args.cluster_yml}: written, the test images loaded; pyrke up -c {args.cluster_yml}"
                )
    except (RuntimeError, OSError) as exc:  # NodeError, images.ImageError, TimeoutError
        print(f"nodes.py {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
