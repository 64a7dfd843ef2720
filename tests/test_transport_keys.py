"""Key material: every key type and format loads; every mistake names its field; no secret leaks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from pulumi_pyrke.errors import ConfigError
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.transport.keys import (
    HostKey,
    host_key_problem,
    key_problems,
    load_private_key,
    parse_host_key,
)

PASSPHRASE = "correct horse battery"


def keygen(path: Path, *args: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-f", str(path), *args], check=True)
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("keys")
    made = {
        "rsa_pem": keygen(d / "rsa_pem", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""),
        "rsa_openssh": keygen(d / "rsa_openssh", "-t", "rsa", "-b", "2048", "-N", ""),
        "ecdsa_pem": keygen(d / "ecdsa_pem", "-t", "ecdsa", "-m", "PEM", "-N", ""),
        "ecdsa_openssh": keygen(d / "ecdsa_openssh", "-t", "ecdsa", "-N", ""),
        "ed25519": keygen(d / "ed25519", "-t", "ed25519", "-N", ""),
        "ed25519_pass": keygen(d / "ed25519_pass", "-t", "ed25519", "-N", PASSPHRASE),
        "rsa_pem_pass": keygen(
            d / "rsa_pem_pass", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", PASSPHRASE
        ),
        "ca": keygen(d / "ca", "-t", "ed25519", "-N", ""),
    }
    # PKCS#8 ("BEGIN PRIVATE KEY"), which ssh-keygen does not write for Ed25519
    for name, key in {
        "rsa_pkcs8": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ecdsa_pkcs8": ec.generate_private_key(ec.SECP384R1()),
        "ed25519_pkcs8": ed25519.Ed25519PrivateKey.generate(),
    }.items():
        path = d / name
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        made[name] = path
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-s",
            str(made["ca"]),
            "-I",
            "test",
            "-n",
            "root",
            str(made["ed25519"]) + ".pub",
        ],
        check=True,
    )
    return made


@pytest.mark.parametrize(
    ("name", "key_type"),
    [
        ("rsa_pem", "ssh-rsa"),
        ("rsa_openssh", "ssh-rsa"),
        ("rsa_pkcs8", "ssh-rsa"),
        ("ecdsa_pem", "ecdsa-sha2-nistp256"),
        ("ecdsa_openssh", "ecdsa-sha2-nistp256"),
        ("ecdsa_pkcs8", "ecdsa-sha2-nistp384"),
        ("ed25519", "ssh-ed25519"),
        ("ed25519_pkcs8", "ssh-ed25519"),
    ],
)
def test_every_type_and_format_loads_from_text_and_path(
    keys: dict[str, Path], name: str, key_type: str
) -> None:
    from_text = load_private_key(text=Secret(keys[name].read_text()))
    from_path = load_private_key(path=str(keys[name]))
    assert from_text.get_name() == from_path.get_name() == key_type
    assert from_text.get_base64() == from_path.get_base64()
    pub = keys[name].with_name(name + ".pub")
    if pub.exists():
        assert pub.read_text().split()[1] == from_text.get_base64()


@pytest.mark.parametrize("name", ["ed25519_pass", "rsa_pem_pass"])
def test_passphrase_required_wrong_and_right(keys: dict[str, Path], name: str) -> None:
    path = str(keys[name])
    missing = key_problems(private_key=None, key_path=path, passphrase=None, certificate=None)
    assert [str(p) for p in missing] == [
        "ssh_key_passphrase: required: the private key is encrypted"
    ]
    wrong = key_problems(
        private_key=None, key_path=path, passphrase=Secret("nope"), certificate=None
    )
    assert [str(p) for p in wrong] == ["ssh_key_passphrase: does not decrypt the private key"]
    assert (
        key_problems(
            private_key=None, key_path=path, passphrase=Secret(PASSPHRASE), certificate=None
        )
        == []
    )


def test_passphrase_for_a_plain_key_is_refused(keys: dict[str, Path]) -> None:
    problems = key_problems(
        private_key=None, key_path=str(keys["ed25519"]), passphrase=Secret("x"), certificate=None
    )
    assert [str(p) for p in problems] == [
        "ssh_key_passphrase: given, but the private key is not encrypted; remove it"
    ]


def test_garbage_missing_file_and_field_prefix() -> None:
    garbage = key_problems(
        private_key=Secret("SENTINEL-SECRET"), key_path=None, passphrase=None, certificate=None
    )
    assert [p.path for p in garbage] == ["ssh_private_key"]
    assert "PEM or OpenSSH" in garbage[0].message
    assert "SENTINEL" not in garbage[0].message
    missing = key_problems(
        private_key=None,
        key_path="/nonexistent/key",
        passphrase=None,
        certificate=None,
        field_prefix="bastion.",
    )
    assert [str(p) for p in missing] == [
        "bastion.ssh_key_path: cannot read /nonexistent/key: No such file or directory"
    ]
    assert key_problems(private_key=None, key_path=None, passphrase=None, certificate=None) == []


def test_certificate_attaches_to_its_key_only(keys: dict[str, Path]) -> None:
    cert = keys["ed25519"].with_name("ed25519-cert.pub").read_text()
    key = load_private_key(path=str(keys["ed25519"]), certificate=cert)
    assert key.public_blob is not None
    assert key.public_blob.key_type == "ssh-ed25519-cert-v01@openssh.com"
    problems = key_problems(
        private_key=None, key_path=str(keys["rsa_pem"]), passphrase=None, certificate=cert
    )
    assert [p.path for p in problems] == ["ssh_cert"]
    with pytest.raises(ConfigError):
        load_private_key(
            path=str(keys["ed25519"]), certificate="ssh-ed25519-cert-v01@openssh.com AAAA"
        )


def test_host_key_lines_and_fingerprints(keys: dict[str, Path]) -> None:
    for name in ("rsa_pem", "ecdsa_openssh", "ed25519"):
        pub = keys[name].with_name(name + ".pub")
        key = parse_host_key(pub.read_text())
        listed = subprocess.run(
            ["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True
        )
        assert key.fingerprint() == listed.stdout.split()[1]
        assert key.line() == " ".join(pub.read_text().split()[:2])
        assert HostKey.from_pkey(key.to_pkey()) == key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "not a public host key"),
        ("ssh-dss AAAAB3NzaC1kc3M", "unknown host key type 'ssh-dss'"),
        ("ssh-ed25519 !!!", "the ssh-ed25519 key does not decode"),
        ("ssh-ed25519 AAAAC3NzaC1yc2EAAAADAQABAAABAQ==", "the ssh-ed25519 key does not decode"),
    ],
)
def test_bad_host_keys_name_the_field(text: str, expected: str) -> None:
    problem = host_key_problem(text, "host_key")
    assert problem is not None and problem.path == "host_key"
    assert problem.message.startswith(expected)
    with pytest.raises(ConfigError):
        parse_host_key(text)


def test_a_plain_public_key_is_not_a_certificate(keys: dict[str, Path]) -> None:
    public = keys["ed25519"].with_name("ed25519.pub").read_text()
    with pytest.raises(ConfigError, match="ssh_cert: a public key, not a certificate") as info:
        load_private_key(path=str(keys["ed25519"]), certificate=public)
    assert public.split()[1] not in str(info.value)


def test_a_certificate_of_another_key_of_the_same_type_is_refused(
    keys: dict[str, Path], tmp_path: Path
) -> None:
    other = keygen(tmp_path / "other", "-t", "ed25519", "-N", "")
    cert = keys["ed25519"].with_name("ed25519-cert.pub").read_text()
    with pytest.raises(ConfigError, match="certifies another key"):
        load_private_key(path=str(other), certificate=cert)


def test_certificate_errors_never_echo_the_file(keys: dict[str, Path], tmp_path: Path) -> None:
    secretish = "ssh-ed25519-cert-v01@openssh.com " + "QUJD" * 30 + " top-secret-comment"
    with pytest.raises(ConfigError) as info:
        load_private_key(path=str(keys["ed25519"]), certificate=secretish)
    assert "QUJD" not in str(info.value) and "top-secret" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_private_key(path=str(keys["ed25519"]), certificate="just-one-field-SECRET")
    assert "SECRET" not in str(info.value)


def test_key_and_certificate_files_are_read_bounded(tmp_path: Path) -> None:
    import os

    from pulumi_pyrke.transport.keys import read_certificate

    with pytest.raises(ConfigError, match="ssh_key_path: /dev/zero is a device, not a regular"):
        load_private_key(path="/dev/zero")
    fifo = tmp_path / "cert.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"bastion.ssh_cert_path: .* is a FIFO"):
        read_certificate(None, str(fifo), field_prefix="bastion.")
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(ConfigError, match="over the 1 MB limit"):
        load_private_key(path=str(big))
