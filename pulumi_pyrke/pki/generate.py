"""Key and certificate mechanics on top of `cryptography`: make RSA keys, sign a CertificateSpec,
read PEM back and check a certificate against its spec and CA. Pure; the only effect is key randomness.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pulumi_pyrke.errors import PKIError
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki.specs import CertificateSpec

KEY_SIZE = 2048
VALIDITY = timedelta(days=3650)  # RKE: ten years for CAs and leaves alike


@dataclass(frozen=True, kw_only=True, slots=True)
class CertificateInfo:
    """What a PEM certificate says about itself, in CertificateSpec's terms."""

    common_name: str
    organization: str
    dns_sans: tuple[str, ...]
    ip_sans: tuple[str, ...]
    is_ca: bool
    issuer: str  # issuer CN, which is the bundle name of the signing CA
    not_before: datetime
    not_after: datetime


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA 2048 key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def key_to_pem(key: rsa.RSAPrivateKey) -> Secret:
    """PKCS#1 PEM ("RSA PRIVATE KEY"), the form RKE writes, wrapped as a Secret."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return Secret(pem.decode())


def cert_to_pem(cert: x509.Certificate) -> str:
    """The certificate as PEM text."""
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_key(pem: Secret, what: str) -> rsa.RSAPrivateKey:
    """Parse an RSA private key; PKIError naming `what` (never the key) when it is not one."""
    try:
        # The RSA consistency check costs ~30 ms a key, far more than planning a cluster. Keys come
        # from our own state or the user's config and only sign our certificates or go to hosts;
        # callers match them to their certificate, and `sign` verifies every signature it makes.
        key = serialization.load_pem_private_key(
            pem.reveal().encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        raise PKIError(
            f"[certificates] the private key of {what} is not an unencrypted PEM key. "
            "Restore it from a backup of the cluster state or remove it to regenerate."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PKIError(f"[certificates] the private key of {what} is not an RSA key.")
    return key


def load_cert(pem: str, what: str) -> x509.Certificate:
    """Parse a PEM certificate; PKIError naming `what` when it is not one."""
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise PKIError(
            f"[certificates] the certificate {what} is not a PEM certificate: {exc}. "
            "Restore it from a backup of the cluster state or remove it to regenerate."
        ) from exc


def _subject(spec: CertificateSpec) -> x509.Name:
    attrs = []
    if spec.organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name))
    return x509.Name(attrs)


def sign(
    spec: CertificateSpec,
    key: rsa.RSAPrivateKey,
    *,
    now: datetime,
    ca_cert: x509.Certificate | None = None,
    ca_key: rsa.RSAPrivateKey | None = None,
) -> x509.Certificate:
    """A certificate for `spec` over `key`, signed by the CA (or self-signed when no CA is given).

    Leaves start when their CA starts, as RKE does, and run ten years from `now` (at most until
    their CA expires).
    """
    public = key.public_key()
    not_after = now + VALIDITY
    if ca_cert is None or ca_key is None:
        issuer, signing_key, not_before = _subject(spec), key, now
        issuer_ski = x509.SubjectKeyIdentifier.from_public_key(public)
    else:
        issuer, signing_key, not_before = ca_cert.subject, ca_key, ca_cert.not_valid_before_utc
        issuer_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        # a leaf regenerated late in its CA's life must not claim to outlive the CA
        not_after = min(not_after, ca_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_subject(spec))
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=spec.is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=spec.is_ca,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
    )
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if spec.server_auth else []
    usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if spec.client_auth else []
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in spec.dns_sans]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_sans]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    if not issued_by(cert, ca_cert if ca_cert is not None else cert):
        raise PKIError(
            f"[certificates] signing {spec.name} with the key of {spec.signer} gave a certificate "
            "that does not verify: that key is corrupt or does not belong to its certificate. "
            "Restore the cluster state from a backup."
        )
    return cert


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def inspect(cert: x509.Certificate) -> CertificateInfo:
    """Subject, SANs, CA flag, issuer and validity of `cert`."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(sorted(set(sans.get_values_for_type(x509.DNSName))))
        ips = tuple(sorted({str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}))
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return CertificateInfo(
        common_name=_name_value(cert.subject, NameOID.COMMON_NAME),
        organization=_name_value(cert.subject, NameOID.ORGANIZATION_NAME),
        dns_sans=dns,
        ip_sans=ips,
        is_ca=is_ca,
        issuer=_name_value(cert.issuer, NameOID.COMMON_NAME),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether `ca` signed `cert` (issuer name and signature both match)."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def same_public_key(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
    """Whether `cert` certifies the public half of `key`."""
    return cert.public_key() == key.public_key()
