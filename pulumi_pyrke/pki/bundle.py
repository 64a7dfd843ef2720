"""CertificateBundle: every certificate of a cluster with its key, and its JSON-able state form.
Component kubeconfigs are not stored: they hold only paths (see kubeconfig.component_kubeconfig). Keys are Secrets; nothing here prints key material. Pure; no I/O imports.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pulumi_pyrke.errors import PKIError
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki.generate import inspect, load_cert, load_key, same_public_key

STATE_VERSION = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Certificate:
    """One certificate of the bundle. The descriptive fields are read from `cert_pem` itself."""

    name: str
    common_name: str
    organization: str
    dns_sans: tuple[str, ...]
    ip_sans: tuple[str, ...]
    is_ca: bool
    signer: str  # issuer CN: the bundle name of the CA that signed it
    not_after: datetime
    cert_pem: str = field(repr=False)
    key_pem: Secret = field(repr=False)

    @classmethod
    def from_pem(cls, *, name: str, cert_pem: str, key_pem: Secret) -> Certificate:
        """A Certificate from PEM text; PKIError when the PEM is malformed or the key does not fit."""
        cert = load_cert(cert_pem, name)
        if not same_public_key(cert, load_key(key_pem, name)):
            raise PKIError(
                f"[certificates] the key of {name} does not belong to its certificate. "
                "Restore both from the same backup of the cluster state."
            )
        info = inspect(cert)
        return cls(
            name=name,
            common_name=info.common_name,
            organization=info.organization,
            dns_sans=info.dns_sans,
            ip_sans=info.ip_sans,
            is_ca=info.is_ca,
            signer=info.issuer,
            not_after=info.not_after,
            cert_pem=cert_pem,
            key_pem=key_pem,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class CertificateBundle:
    """All certificates of a cluster, sorted by name; looked up with `get`."""

    certificates: tuple[Certificate, ...] = ()
    # by name, so host_files stays linear when every host gets every kubelet certificate
    _index: Mapping[str, Certificate] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {c.name: c for c in self.certificates}
        if len(index) != len(self.certificates):
            raise PKIError("[certificates] a bundle holds each certificate name once")
        object.__setattr__(self, "certificates", tuple(index[n] for n in sorted(index)))
        object.__setattr__(self, "_index", MappingProxyType(index))

    def get(self, name: str) -> Certificate | None:
        """The certificate called `name`, or None."""
        return self._index.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        """The names of all certificates, sorted."""
        return tuple(c.name for c in self.certificates)

    def __iter__(self) -> Iterator[Certificate]:
        return iter(self.certificates)

    def __len__(self) -> int:
        return len(self.certificates)

    def __repr__(self) -> str:
        return f"CertificateBundle({', '.join(self.names)})"

    __str__ = __repr__

    def to_state(self) -> dict[str, Any]:
        """JSON-able form holding private keys in clear; callers store it as a secret."""
        return {
            "version": STATE_VERSION,
            "certificates": {
                c.name: {"cert": c.cert_pem, "key": c.key_pem.reveal()} for c in self.certificates
            },
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> CertificateBundle:
        """Read the form `to_state` writes; PKIError naming the certificate and field when malformed."""
        if not isinstance(data, Mapping):
            raise PKIError("[certificates] the certificate state must be a mapping")
        version = data.get("version")
        if version != STATE_VERSION:
            raise PKIError(
                f"[certificates] certificate state version {version!r} is not supported "
                f"(expected {STATE_VERSION}). Upgrade pulumi_pyrke or restore the state."
            )
        entries = data.get("certificates")
        if not isinstance(entries, Mapping):
            raise PKIError(
                "[certificates] certificate state field 'certificates' must be a mapping"
            )
        certificates = []
        for name, entry in entries.items():
            if not isinstance(name, str) or not isinstance(entry, Mapping):
                raise PKIError(
                    f"[certificates] certificate state entry {name!r} must map a name to "
                    "{cert, key}"
                )
            cert, key = entry.get("cert"), entry.get("key")
            for field_name, value in (("cert", cert), ("key", key)):
                if not isinstance(value, str) or not value:
                    raise PKIError(
                        f"[certificates] certificate state of {name}: {field_name!r} must be PEM text"
                    )
            certificates.append(
                Certificate.from_pem(name=name, cert_pem=str(cert), key_pem=Secret(str(key)))
            )
        return cls(certificates=tuple(certificates))
