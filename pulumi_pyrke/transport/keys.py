"""SSH key material: private keys from text or a file, user certificates, host key lines.

Reads local files only (a key path given by the user); never opens a connection. Errors are
``Problem`` values naming the input field, and never contain key text or a passphrase.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from pulumi_pyrke import files
from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.secret import Secret

KEY_FORMATS = "an RSA, ECDSA or Ed25519 private key in PEM or OpenSSH format"
HOST_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)


@dataclass(frozen=True, slots=True)
class HostKey:
    """A public host key: its type and base64 blob, as in a known_hosts line."""

    key_type: str
    blob: str

    def line(self) -> str:
        """The ``type base64`` form, as stored in the ``host_key`` output."""
        return f"{self.key_type} {self.blob}"

    def fingerprint(self) -> str:
        """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def to_pkey(self) -> paramiko.PKey:
        return paramiko.PKey.from_type_string(self.key_type, base64.b64decode(self.blob))

    @classmethod
    def from_pkey(cls, key: paramiko.PKey) -> HostKey:
        return cls(key_type=key.get_name(), blob=key.get_base64())


def parse_host_key(text: str, *, field: str = "host_key") -> HostKey:
    """Parse ``type base64 [comment]`` (a line of ssh_host_*_key.pub or known_hosts)."""
    problem = host_key_problem(text, field)
    if problem is not None:
        raise ConfigError([problem])
    key_type, blob = text.split()[:2]
    return HostKey(key_type=key_type, blob=blob)


def host_key_problem(text: str, field: str) -> Problem | None:
    """Why ``text`` is not a public host key line, or None when it is one."""
    parts = text.split() if isinstance(text, str) else []
    valid = f"'<type> <base64>' as in /etc/ssh/ssh_host_ed25519_key.pub; types: {', '.join(HOST_KEY_TYPES)}"
    if len(parts) < 2:
        return Problem(path=field, message=f"not a public host key; expected {valid}")
    key_type, blob = parts[0], parts[1]
    if key_type not in HOST_KEY_TYPES:
        return Problem(path=field, message=f"unknown host key type {key_type!r}; expected {valid}")
    try:
        raw = base64.b64decode(blob, validate=True)
        paramiko.PKey.from_type_string(key_type, raw)
    except (binascii.Error, ValueError, paramiko.SSHException) as exc:
        return Problem(
            path=field, message=f"the {key_type} key does not decode ({exc}); expected {valid}"
        )
    return None


def load_private_key(
    *,
    text: Secret | None = None,
    path: str | None = None,
    passphrase: Secret | None = None,
    certificate: str | None = None,
    field_prefix: str = "",
) -> paramiko.PKey:
    """Load a private key from its text or a file, with an optional user certificate.

    Raises ``ConfigError`` naming the field (``ssh_private_key``, ``ssh_key_path``,
    ``ssh_key_passphrase``, ``ssh_cert``) and what would be valid.
    """
    field = f"{field_prefix}ssh_private_key" if text is not None else f"{field_prefix}ssh_key_path"
    if text is not None:
        data = text.reveal().encode()
    elif path is not None:
        data = files.read_bytes(path, field=field, max_bytes=files.MAX_KEY_BYTES)
    else:
        raise ConfigError([Problem(path=field, message="no private key given")])
    password = passphrase.reveal().encode() if passphrase is not None else None
    key = _decode_private_key(
        data, password, field=field, passphrase_field=f"{field_prefix}ssh_key_passphrase"
    )
    if certificate:
        problem = _certificate_problem(key, certificate)
        if problem:
            raise ConfigError(
                [
                    Problem(
                        path=f"{field_prefix}ssh_cert",
                        message=f"{problem}; give the OpenSSH user certificate of this "
                        f"{key.get_name()} key (the *-cert.pub file ssh-keygen -s writes)",
                    )
                ]
            )
    return key


_CERT_SUFFIX = "-cert-v01@openssh.com"


def _certificate_problem(key: paramiko.PKey, certificate: str) -> str | None:
    """Why ``certificate`` is not a user certificate of ``key`` (None when it is). The text
    of the certificate never appears in the answer."""
    parts = certificate.split()
    if len(parts) < 2:
        return "not an OpenSSH certificate line ('<type>-cert-v01@openssh.com <base64>')"
    if not parts[0].endswith(_CERT_SUFFIX):
        return (
            "a public key, not a certificate"
            if parts[0] in HOST_KEY_TYPES
            else ("not an OpenSSH certificate (its type does not end in -cert-v01@openssh.com)")
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
        cert = paramiko.Message(blob)
        cert_type = cert.get_text()
        cert.get_binary()  # the nonce; the certified public key follows it
        certified = blob[cert.packet.tell() :]
        own = paramiko.Message(key.asbytes())
        own.get_text()
        public = key.asbytes()[own.packet.tell() :]
    except (binascii.Error, ValueError, paramiko.SSHException, UnicodeDecodeError):
        return "not an OpenSSH certificate (its base64 does not decode)"
    if cert_type != parts[0] or not cert_type.startswith(key.get_name()):
        return f"a {cert_type.removesuffix(_CERT_SUFFIX) or 'broken'} certificate, not one for this key type"
    if not certified.startswith(public):
        return "certifies another key"
    try:
        key.load_certificate(" ".join(parts[:2]))
    except (ValueError, paramiko.SSHException):
        return "not an OpenSSH certificate paramiko can read"
    return None


def _decode_private_key(
    data: bytes, password: bytes | None, *, field: str, passphrase_field: str
) -> paramiko.PKey:
    loaded: object
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=password)
        except ValueError as first:
            if b"OPENSSH PRIVATE KEY" in data:
                raise first
            loaded = serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:  # cryptography: encrypted without a password, or vice versa
        if "not encrypted" in str(exc):
            raise ConfigError(
                [
                    Problem(
                        path=passphrase_field,
                        message="given, but the private key is not encrypted; remove it",
                    )
                ]
            ) from None
        raise ConfigError(
            [Problem(path=passphrase_field, message="required: the private key is encrypted")]
        ) from None
    except ValueError:
        if password is not None and _is_encrypted(data):
            raise ConfigError(
                [Problem(path=passphrase_field, message="does not decrypt the private key")]
            ) from None
        raise ConfigError([Problem(path=field, message=f"not {KEY_FORMATS}")]) from None
    except Exception:  # cryptography raises UnsupportedAlgorithm and others for odd input
        raise ConfigError([Problem(path=field, message=f"not {KEY_FORMATS}")]) from None
    if isinstance(loaded, rsa.RSAPrivateKey):
        return paramiko.RSAKey(key=loaded)
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        return paramiko.ECDSAKey(vals=(loaded, loaded.public_key()))
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        return _ed25519_key(loaded)
    raise ConfigError(
        [
            Problem(
                path=field,
                message=f"{type(loaded).__name__} keys are not supported; use {KEY_FORMATS}",
            )
        ]
    )


def _is_encrypted(data: bytes) -> bool:
    """True when the key parses as an encrypted key once no password is offered."""
    for load in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        try:
            load(data, password=None)
        except TypeError:
            return True
        except Exception:  # not this format; try the next
            continue
    return False


def _ed25519_key(loaded: ed25519.Ed25519PrivateKey) -> paramiko.PKey:
    """paramiko reads Ed25519 only from OpenSSH text; hand it that, rebuilt in memory."""
    text = loaded.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(text))


def read_certificate(text: str | None, path: str | None, *, field_prefix: str = "") -> str | None:
    """The user certificate given as text, or read from ``path``; None when neither is given.

    Raises ``ConfigError`` naming ``<prefix>ssh_cert_path`` when the file cannot be read.
    """
    if text:
        return text
    if not path:
        return None
    return files.read_text(
        path, field=f"{field_prefix}ssh_cert_path", max_bytes=files.MAX_KEY_BYTES
    )


def key_problems(
    *,
    private_key: Secret | None,
    key_path: str | None,
    passphrase: Secret | None,
    certificate: str | None,
    field_prefix: str = "",
) -> list[Problem]:
    """Every problem with the given key material (empty when it loads). No network."""
    if private_key is None and key_path is None:
        return []
    try:
        load_private_key(
            text=private_key,
            path=key_path,
            passphrase=passphrase,
            certificate=certificate,
            field_prefix=field_prefix,
        )
    except ConfigError as exc:
        return list(exc.problems)
    return []
