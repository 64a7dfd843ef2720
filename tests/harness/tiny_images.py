"""Tiny test images built locally (nothing is pulled): busybox-static in a FROM-scratch image,
as a `docker save` stream that tests load into nodes through the ports."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")


def busybox_image_tar(tag: str) -> bytes:
    """`docker save` of a FROM-scratch image holding /bin/busybox (busybox-static), built with
    the legacy builder (`DOCKER_BUILDKIT=0`: this machine's CLI has no buildx)."""
    if shutil.which("docker") is None or not BUSYBOX.exists():
        raise RuntimeError("building the test image needs the docker CLI and busybox-static")
    with tempfile.TemporaryDirectory() as context:
        shutil.copy(BUSYBOX, Path(context) / "busybox")
        (Path(context) / "Dockerfile").write_text(
            'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n'
        )
        subprocess.run(
            ["docker", "build", "-q", "-t", tag, context],
            env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
    return subprocess.run(["docker", "save", tag], check=True, capture_output=True).stdout


def handmade_image_tar(tag: str, *, config_id: str = "ab" * 32) -> bytes:
    """A `docker save`-shaped archive without Docker (manifest and config only): enough for
    the in-memory fake, which reads the manifest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}})
    manifest = json.dumps([{"Config": f"{config_id}.json", "RepoTags": [tag], "Layers": []}])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in ((f"{config_id}.json", config), ("manifest.json", manifest)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
