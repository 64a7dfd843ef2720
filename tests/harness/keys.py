"""SSH keys for tests, made with ssh-keygen: every private key format a user may hand us
(OpenSSH, PEM/PKCS#1, EC PEM, with and without a passphrase), a key the nodes do not
authorize, and a user CA with `sign_user_cert`."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PASSPHRASE = "pyrke test passphrase"

# name -> ssh-keygen arguments (type, size, format) and whether the key has the passphrase
_KINDS: dict[str, tuple[list[str], bool]] = {
    "ed25519": (["-t", "ed25519"], False),
    "rsa_pem": (["-t", "rsa", "-b", "2048", "-m", "PEM"], False),
    "rsa_openssh": (["-t", "rsa", "-b", "2048"], False),
    "ecdsa_pem": (["-t", "ecdsa", "-b", "256", "-m", "PEM"], False),
    "ecdsa_openssh": (["-t", "ecdsa", "-b", "256"], False),
    "ed25519_passphrase": (["-t", "ed25519"], True),
    "rsa_pem_passphrase": (["-t", "rsa", "-b", "2048", "-m", "PEM"], True),
    "unauthorized": (["-t", "ed25519"], False),
    "user_ca": (["-t", "ed25519"], False),
}
# Keys that must not be put into the nodes' authorized_keys.
NOT_AUTHORIZED = frozenset({"unauthorized", "user_ca"})


@dataclass(frozen=True, kw_only=True)
class KeyPair:
    """A key pair on disk; `public_text` is the one-line OpenSSH public key."""

    name: str
    private_path: Path
    public_path: Path
    public_text: str
    passphrase: str | None

    @property
    def private(self) -> Path:
        """Same as `private_path`."""
        return self.private_path

    @property
    def public(self) -> Path:
        """Same as `public_path`."""
        return self.public_path


def make_keys(directory: Path | str) -> dict[str, KeyPair]:
    """Generate every test key into `directory` (ssh-keygen processes run in parallel)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    running = {}
    for name, (args, protected) in _KINDS.items():
        private = directory / name
        private.unlink(missing_ok=True)
        private.with_suffix(".pub").unlink(missing_ok=True)
        passphrase = PASSPHRASE if protected else ""
        running[name] = subprocess.Popen(
            [
                "ssh-keygen",
                "-q",
                *args,
                "-N",
                passphrase,
                "-C",
                f"pyrke-test-{name}",
                "-f",
                str(private),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    keys = {}
    for name, process in running.items():
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"ssh-keygen for test key {name} failed: {stderr.decode().strip()}")
        private = directory / name
        public = private.with_suffix(".pub")
        keys[name] = KeyPair(
            name=name,
            private_path=private,
            public_path=public,
            public_text=public.read_text().strip(),
            passphrase=PASSPHRASE if _KINDS[name][1] else None,
        )
    return keys


def authorized_public_keys(keys: dict[str, KeyPair]) -> list[str]:
    """The public keys nodes authorize for root: every test key but `NOT_AUTHORIZED`."""
    return [pair.public_text for name, pair in keys.items() if name not in NOT_AUTHORIZED]


def sign_user_cert(
    ca: KeyPair, key: KeyPair, principal: str, *, identity: str = "pyrke-test"
) -> str:
    """Sign `key` with the user CA for `principal` (a login name); return the cert's path.

    Each (key, principal) pair gets its own file, `<key>@<principal>-cert.pub`."""
    public = key.public_path.with_name(f"{key.name}@{principal}.pub")
    shutil.copyfile(key.public_path, public)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-s",
            str(ca.private_path),
            "-I",
            identity,
            "-n",
            principal,
            str(public),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
    )
    return str(public.with_name(f"{key.name}@{principal}-cert.pub"))
