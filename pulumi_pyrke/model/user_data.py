"""The user data a pool machine boots with: Docker from the distribution's packages and the
SSH user in the docker group, unless the user's own replaces it; extra user data runs after.

Pure: builds text, no I/O. Deterministic (a fixed MIME boundary), so the same inputs always
give the same bytes.
"""

from __future__ import annotations

import shlex

BOUNDARY = "==pyrke-user-data=="

_DEFAULT = """#!/bin/sh
# pulumi_pyrke default user data: Docker from the distribution's packages, {user} may use it.
set -eu
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q docker.io
elif command -v dnf >/dev/null 2>&1; then
  dnf install -y docker || dnf install -y moby-engine
elif command -v yum >/dev/null 2>&1; then
  yum install -y docker
elif command -v zypper >/dev/null 2>&1; then
  zypper --non-interactive install docker
else
  echo "pyrke: no apt-get, dnf, yum or zypper: install Docker with user_data" >&2
  exit 1
fi
systemctl enable --now docker || service docker start
getent group docker >/dev/null || groupadd docker
usermod -aG docker {user}
"""


def default_user_data(ssh_user: str) -> str:
    """The default script: install Docker from the distribution, add ``ssh_user`` to docker."""
    return _DEFAULT.format(user=shlex.quote(ssh_user))


def build_user_data(ssh_user: str, user_data: str | None, extra_user_data: str | None) -> str:
    """What the machine boots with.

    ``user_data`` replaces the default; ``extra_user_data`` (a script or a ``#cloud-config``)
    runs after whichever of the two is used, as a second part of a MIME multipart that
    cloud-init reads part by part.
    """
    first = user_data if user_data else default_user_data(ssh_user)
    if not extra_user_data:
        return first
    parts = [first, extra_user_data]
    out = [
        "Content-Type: multipart/mixed; boundary=" + f'"{BOUNDARY}"',
        "MIME-Version: 1.0",
        "",
    ]
    for index, part in enumerate(parts):
        out += [
            f"--{BOUNDARY}",
            f'Content-Type: {_content_type(part)}; charset="utf-8"',
            "MIME-Version: 1.0",
            f'Content-Disposition: attachment; filename="part-{index}"',
            "",
            part.rstrip("\n"),
        ]
    out += [f"--{BOUNDARY}--", ""]
    return "\n".join(out)


def _content_type(part: str) -> str:
    """cloud-init's part types, told by the first line as cloud-init itself tells them."""
    head = part.lstrip().split("\n", 1)[0]
    if head.startswith("#cloud-config"):
        return "text/cloud-config"
    if head.startswith("#!"):
        return "text/x-shellscript"
    if head.startswith("#cloud-boothook"):
        return "text/cloud-boothook"
    if head.startswith("#include"):
        return "text/x-include-url"
    return "text/x-shellscript"
