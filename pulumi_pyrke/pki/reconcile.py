"""reconcile_bundle: the previous CertificateBundle + a PKIRequest -> the bundle to deploy, with one
explained change per certificate (rke-spec §4.6). Pure except for the randomness of new keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from pulumi_pyrke.errors import PKIError
from pulumi_pyrke.model.plan import CertificateActionName, CertificateChange
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki.bundle import Certificate, CertificateBundle
from pulumi_pyrke.pki.generate import (
    cert_to_pem,
    inspect,
    issued_by,
    key_to_pem,
    load_cert,
    load_key,
    new_key,
    same_public_key,
    sign,
)
from pulumi_pyrke.pki.specs import (
    ETCD_CLIENT,
    ETCD_CLIENT_CA,
    ETCD_PREFIX,
    KUBELET_PREFIX,
    CertificateSpec,
    ExternalEtcd,
    PKIRequest,
    build_certificate_specs,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class BundleResult:
    """The reconciled bundle and one change per certificate (kept ones included), sorted by name."""

    bundle: CertificateBundle
    changes: tuple[CertificateChange, ...]

    @property
    def changed(self) -> tuple[str, ...]:
        """Names of certificates created, regenerated or removed: what must be redeployed."""
        return tuple(c.name for c in self.changes if c.action != "keep")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


def check_external_etcd(external: ExternalEtcd) -> None:
    """PKIError unless the user's external etcd CA, certificate and key parse and belong together."""
    try:
        x509.load_pem_x509_certificates(external.ca_cert.encode())
    except ValueError as exc:
        raise PKIError(
            f"[etcd] services.etcd.ca_cert is not PEM certificate text: {exc}. "
            "Paste the CA that signed the external etcd servers."
        ) from exc
    cert = load_cert(external.cert, f"{ETCD_CLIENT} (services.etcd.cert)")
    key = load_key(external.key, f"{ETCD_CLIENT} (services.etcd.key)")
    if not same_public_key(cert, key):
        raise PKIError(
            "[etcd] services.etcd.key does not belong to services.etcd.cert. "
            "Provide the key the external etcd client certificate was issued for."
        )


def _sans_diff(spec: CertificateSpec, have: set[str]) -> str:
    want = set(spec.dns_sans) | set(spec.ip_sans)
    parts = []
    if added := sorted(want - have):
        parts.append("added " + ", ".join(added))
    if removed := sorted(have - want):
        parts.append("removed " + ", ".join(removed))
    return "SANs changed: " + "; ".join(parts)


def _stale(
    spec: CertificateSpec,
    cert: x509.Certificate,
    key: rsa.RSAPrivateKey,
    ca: x509.Certificate,
    now: datetime,
) -> list[str]:
    """Why the previous certificate no longer serves `spec`; empty when it still does."""
    info = inspect(cert)
    reasons = []
    if not issued_by(cert, ca):
        reasons.append(f"not signed by the current {spec.signer}")
    if info.not_after <= now:
        reasons.append(f"expired on {info.not_after:%Y-%m-%d}")
    if (info.common_name, info.organization) != (spec.common_name, spec.organization):
        reasons.append(
            f"subject changed from CN={info.common_name} O={info.organization or '-'} "
            f"to CN={spec.common_name} O={spec.organization or '-'}"
        )
    have = set(info.dns_sans) | set(info.ip_sans)
    if sorted(have) != sorted(set(spec.dns_sans) | set(spec.ip_sans)):
        reasons.append(_sans_diff(spec, have))
    if not same_public_key(cert, key):
        reasons.append("certificate does not match its key")
    return reasons


def _why_new(spec: CertificateSpec, previous: CertificateBundle | None) -> str:
    if previous is None:
        return "new cluster"
    if spec.name.startswith(f"{ETCD_PREFIX}-"):
        return "new etcd host"
    if spec.name.startswith(f"{KUBELET_PREFIX}-"):
        had_any = any(n.startswith(f"{KUBELET_PREFIX}-") for n in previous.names)
        return "new host" if had_any else "kubelet serving certificates enabled"
    return "missing from the previous bundle"


def _why_gone(name: str, request: PKIRequest) -> str:
    if name in (ETCD_CLIENT, ETCD_CLIENT_CA):
        return "external etcd certificates come from services.etcd, not the bundle"
    if name.startswith(f"{ETCD_PREFIX}-"):
        return "its host is no longer an etcd host"
    if name.startswith(f"{KUBELET_PREFIX}-"):
        if not request.generate_serving_certificate:
            return "kubelet serving certificates are disabled"
        return "its host left the cluster"
    return "not a certificate this cluster uses"


def _previous_ca(spec: CertificateSpec, old: Certificate, now: datetime) -> x509.Certificate:
    cert = load_cert(old.cert_pem, spec.name)
    if not inspect(cert).is_ca:
        raise PKIError(
            f"[certificates] {spec.name} in the cluster state is not a CA certificate. "
            "Restore the cluster state from a backup."
        )
    if cert.not_valid_after_utc <= now:
        raise PKIError(
            f"[certificates] {spec.name} expired on {cert.not_valid_after_utc:%Y-%m-%d}, so "
            "nothing it signed verifies any more. Rotate the CA (pyrke cert rotate --rotate-ca, "
            "rotate_certificates.caCertificates) to issue a new one; every kubeconfig changes."
        )
    return cert


def reconcile_bundle(
    request: PKIRequest, previous: CertificateBundle | None, *, now: datetime | None = None
) -> BundleResult:
    """The bundle `request` needs, made from `previous` with as little change as possible.

    CAs are kept. A leaf is kept while it is signed by its current CA, unexpired and matches its
    spec (subject, sorted SANs); otherwise it is regenerated over its old key, as RKE does.
    Missing certificates are created with new keys; certificates no spec names are removed.
    `now` (default: the current time, UTC) decides expiry and stamps new certificates.
    """
    now = _utc(now)
    if request.external_etcd is not None:
        check_external_etcd(request.external_etcd)
    specs = build_certificate_specs(request)
    signers: dict[str, tuple[x509.Certificate, rsa.RSAPrivateKey]] = {}
    made: list[Certificate] = []
    changes: list[CertificateChange] = []

    def record(
        spec: CertificateSpec, pem: str, key: Secret, action: CertificateActionName, reason: str
    ) -> None:
        made.append(Certificate.from_pem(name=spec.name, cert_pem=pem, key_pem=key))
        changes.append(CertificateChange(name=spec.name, action=action, reason=reason))

    # CAs first: every leaf is checked against, and signed by, the CA this run settles on
    for spec in (s for s in specs if s.is_ca):
        old = previous.get(spec.name) if previous is not None else None
        if old is None:
            key = new_key()
            cert = sign(spec, key, now=now)
            record(spec, cert_to_pem(cert), key_to_pem(key), "create", _why_new(spec, previous))
        else:
            cert, key = _previous_ca(spec, old, now), load_key(old.key_pem, spec.name)
            record(spec, old.cert_pem, old.key_pem, "keep", "the CA is kept")
        signers[spec.name] = (cert, key)

    for spec in (s for s in specs if not s.is_ca):
        ca_cert, ca_key = signers[spec.signer]
        old = previous.get(spec.name) if previous is not None else None
        if old is None:
            key = new_key()
            cert = sign(spec, key, now=now, ca_cert=ca_cert, ca_key=ca_key)
            record(spec, cert_to_pem(cert), key_to_pem(key), "create", _why_new(spec, previous))
            continue
        key = load_key(old.key_pem, spec.name)
        reasons = _stale(spec, load_cert(old.cert_pem, spec.name), key, ca_cert, now)
        if not reasons:
            record(spec, old.cert_pem, old.key_pem, "keep", "valid and up to date")
            continue
        cert = sign(spec, key, now=now, ca_cert=ca_cert, ca_key=ca_key)
        record(spec, cert_to_pem(cert), old.key_pem, "regenerate", "; ".join(reasons))

    wanted = {s.name for s in specs}
    if previous is not None:
        changes += [
            CertificateChange(name=name, action="remove", reason=_why_gone(name, request))
            for name in previous.names
            if name not in wanted
        ]
    return BundleResult(
        bundle=CertificateBundle(certificates=tuple(made)),
        changes=tuple(sorted(changes, key=lambda c: c.name)),
    )
