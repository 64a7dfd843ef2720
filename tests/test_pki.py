"""The PKI: every certificate RKE makes (checked with openssl and cryptography), reconciling a
previous bundle (keep / regenerate / create / remove), state round trips and per-role host files.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec as ec_key
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID

import pulumi_pyrke.pki as pki
from pulumi_pyrke.errors import PKIError
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.pki import (
    BundleResult,
    Certificate,
    CertificateBundle,
    ExternalEtcd,
    HostIdentity,
    PKIRequest,
    admin_kubeconfig,
    build_certificate_specs,
    cert_name,
    component_kubeconfig,
    host_files,
    reconcile_bundle,
)
from pulumi_pyrke.pki.generate import load_cert, load_key, sign


def _host(address: str, internal: str = "", hostname: str = "") -> HostIdentity:
    return HostIdentity(
        address=address,
        internal_address=internal or address,
        hostname_override=hostname or address,
    )


ETCD = (_host("10.0.0.1"), _host("10.0.0.2"), _host("10.0.0.3"))
CP = (_host("203.0.113.1", "10.0.1.1", "cp1"), _host("10.0.1.2"))
WORKERS = (_host("10.0.2.1"), _host("w2.example.com"))
BASE = PKIRequest(
    cluster_name="prod",
    service_cidrs=("10.43.0.0/16", "fd00:43::/112"),
    controlplane_hosts=CP,
    etcd_hosts=ETCD,
    all_hosts=ETCD + CP + WORKERS,
    extra_sans=("api.example.com", "198.51.100.7"),
    generate_serving_certificate=True,
)
KUBERNETES_NAMES = {
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
}
KUBELETS = {
    "kube-kubelet-10-0-0-1",
    "kube-kubelet-10-0-0-2",
    "kube-kubelet-10-0-0-3",
    "kube-kubelet-10-0-1-1",
    "kube-kubelet-10-0-1-2",
    "kube-kubelet-10-0-2-1",
    "kube-kubelet-w2-example-com",
}
ETCD_CERTS = {"kube-etcd-10-0-0-1", "kube-etcd-10-0-0-2", "kube-etcd-10-0-0-3"}
COMPONENTS = {
    "kube-admin",
    "kube-apiserver",
    "kube-apiserver-proxy-client",
    "kube-apiserver-requestheader-ca",
    "kube-ca",
    "kube-controller-manager",
    "kube-node",
    "kube-proxy",
    "kube-scheduler",
    "kube-service-account-token",
}


@pytest.fixture(scope="module")
def fresh() -> BundleResult:
    return reconcile_bundle(BASE, None)


@pytest.fixture(scope="module")
def bundle(fresh: BundleResult) -> CertificateBundle:
    return fresh.bundle


def _x509(bundle: CertificateBundle, name: str) -> x509.Certificate:
    cert = bundle.get(name)
    assert cert is not None, name
    return x509.load_pem_x509_certificate(cert.cert_pem.encode())


def _sans(cert: x509.Certificate) -> set[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)) | {
        str(ip) for ip in ext.get_values_for_type(x509.IPAddress)
    }


def _actions(result: BundleResult) -> dict[str, str]:
    return {c.name: c.action for c in result.changes}


def _public_key(bundle: CertificateBundle, name: str) -> Any:
    return _x509(bundle, name).public_key()


# --- what a fresh bundle holds ----------------------------------------------------------------


def test_fresh_bundle_creates_every_certificate(fresh: BundleResult) -> None:
    assert set(fresh.bundle.names) == COMPONENTS | ETCD_CERTS | KUBELETS
    assert fresh.bundle.names == tuple(sorted(fresh.bundle.names))
    assert {c.action for c in fresh.changes} == {"create"}
    assert fresh.changed == fresh.bundle.names
    assert [s.name for s in build_certificate_specs(BASE)] == list(fresh.bundle.names)


def test_every_certificate_verifies_with_openssl(bundle: CertificateBundle, tmp_path: Path) -> None:
    specs = {s.name: s for s in build_certificate_specs(BASE)}
    for cert in bundle:
        (tmp_path / f"{cert.name}.pem").write_text(cert.cert_pem)
    for cert in bundle:
        spec = specs[cert.name]
        assert cert.signer == spec.signer
        purpose = "sslserver" if spec.server_auth else "sslclient" if spec.client_auth else "any"
        result = subprocess.run(
            [
                "openssl",
                "verify",
                "-x509_strict",
                "-purpose",
                purpose,
                "-CAfile",
                str(tmp_path / f"{spec.signer}.pem"),
                str(tmp_path / f"{cert.name}.pem"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{cert.name}: {result.stdout}{result.stderr}"
        assert result.stdout.strip().endswith(": OK")


def test_signers() -> None:
    signers = {s.name: s.signer for s in build_certificate_specs(BASE)}
    assert signers["kube-ca"] == "kube-ca"
    assert signers["kube-apiserver-requestheader-ca"] == "kube-apiserver-requestheader-ca"
    assert signers["kube-apiserver-proxy-client"] == "kube-apiserver-requestheader-ca"
    others = set(signers) - {"kube-apiserver-requestheader-ca", "kube-apiserver-proxy-client"}
    assert {signers[n] for n in others} == {"kube-ca"}
    assert {s.name for s in build_certificate_specs(BASE) if s.self_signed} == {
        "kube-ca",
        "kube-apiserver-requestheader-ca",
    }


def test_blank_cidrs_and_sans_are_skipped() -> None:
    request = PKIRequest(
        service_cidrs=("10.43.0.0/16", " "), extra_sans=("", "api.example.com"), all_hosts=CP
    )
    apiserver = next(s for s in build_certificate_specs(request) if s.name == "kube-apiserver")
    assert apiserver.ip_sans == ("10.43.0.1", "127.0.0.1")
    assert "api.example.com" in apiserver.dns_sans and "" not in apiserver.dns_sans


@pytest.mark.parametrize(
    ("name", "cn", "org"),
    [
        ("kube-ca", "kube-ca", ""),
        ("kube-apiserver-requestheader-ca", "kube-apiserver-requestheader-ca", ""),
        ("kube-apiserver", "kube-apiserver", ""),
        ("kube-apiserver-proxy-client", "kube-apiserver-proxy-client", ""),
        ("kube-service-account-token", "kube-service-account-token", ""),
        ("kube-controller-manager", "system:kube-controller-manager", ""),
        ("kube-scheduler", "system:kube-scheduler", ""),
        ("kube-proxy", "system:kube-proxy", ""),
        ("kube-node", "system:node", "system:nodes"),
        ("kube-admin", "kube-admin", "system:masters"),
        ("kube-etcd-10-0-0-2", "kube-etcd", ""),
        ("kube-kubelet-10-0-1-1", "kube-kubelet-10-0-1-1", ""),
    ],
)
def test_subject(bundle: CertificateBundle, name: str, cn: str, org: str) -> None:
    subject = _x509(bundle, name).subject
    assert [a.value for a in subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)] == [cn]
    orgs = [a.value for a in subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)]
    assert orgs == ([org] if org else [])
    cert = bundle.get(name)
    assert cert is not None and (cert.common_name, cert.organization) == (cn, org)


def test_apiserver_sans(bundle: CertificateBundle) -> None:
    assert _sans(_x509(bundle, "kube-apiserver")) == KUBERNETES_NAMES | {
        "203.0.113.1",  # address
        "10.0.1.1",  # internal_address
        "cp1",  # hostname_override
        "10.0.1.2",
        "api.example.com",  # authentication.sans
        "198.51.100.7",
        "127.0.0.1",
        "10.43.0.1",  # first IP of each service CIDR
        "fd00:43::1",
    }


def test_etcd_certs_carry_all_etcd_hosts(bundle: CertificateBundle) -> None:
    expected = KUBERNETES_NAMES | {
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.3",
        "127.0.0.1",
        "10.43.0.1",
        "fd00:43::1",
    }
    for name in ETCD_CERTS:
        assert _sans(_x509(bundle, name)) == expected, name


def test_kubelet_serving_sans(bundle: CertificateBundle) -> None:
    assert _sans(_x509(bundle, "kube-kubelet-10-0-1-1")) == {"203.0.113.1", "10.0.1.1", "cp1"}
    assert _sans(_x509(bundle, "kube-kubelet-w2-example-com")) == {"w2.example.com"}


def test_keys_validity_and_usages(bundle: CertificateBundle) -> None:
    specs = {s.name: s for s in build_certificate_specs(BASE)}
    for cert in bundle:
        spec, parsed = specs[cert.name], _x509(bundle, cert.name)
        key = load_key(cert.key_pem, cert.name)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
        lifetime = parsed.not_valid_after_utc - parsed.not_valid_before_utc
        assert timedelta(days=3649) < lifetime <= timedelta(days=3651), cert.name
        constraints = parsed.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca is spec.is_ca
        usage = parsed.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.key_encipherment
        assert usage.key_cert_sign is spec.is_ca
        if spec.is_ca:
            continue
        eku = set(parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        assert (ExtendedKeyUsageOID.SERVER_AUTH in eku) is spec.server_auth, cert.name
        assert ExtendedKeyUsageOID.CLIENT_AUTH in eku, cert.name


def test_component_kubeconfigs() -> None:
    with_config = {s.name for s in build_certificate_specs(BASE) if s.kubeconfig}
    assert with_config == {
        "kube-apiserver-proxy-client",
        "kube-apiserver-requestheader-ca",
        "kube-controller-manager",
        "kube-node",
        "kube-proxy",
        "kube-scheduler",
    }
    config = yaml.safe_load(component_kubeconfig("kube-scheduler").reveal())
    assert config["current-context"] == "local"
    assert config["clusters"] == [
        {
            "name": "local",
            "cluster": {
                "api-version": "v1",
                "certificate-authority": "/etc/kubernetes/ssl/kube-ca.pem",
                "server": "https://127.0.0.1:6443",
            },
        }
    ]
    assert config["contexts"] == [
        {"name": "local", "context": {"cluster": "local", "user": "kube-scheduler-local"}}
    ]
    assert config["users"] == [
        {
            "name": "kube-scheduler-local",
            "user": {
                "client-certificate": "/etc/kubernetes/ssl/kube-scheduler.pem",
                "client-key": "/etc/kubernetes/ssl/kube-scheduler-key.pem",
            },
        }
    ]


def test_admin_kubeconfig_embeds_ca_cert_and_key(bundle: CertificateBundle) -> None:
    secret = admin_kubeconfig(bundle, cluster_name="prod", server_url="https://203.0.113.1:6443")
    assert isinstance(secret, Secret) and str(secret) == "***"
    config = yaml.safe_load(secret.reveal())
    cluster, user = config["clusters"][0], config["users"][0]
    assert cluster["name"] == "prod" and config["current-context"] == "prod"
    assert cluster["cluster"]["server"] == "https://203.0.113.1:6443"
    assert config["contexts"][0] == {
        "name": "prod",
        "context": {"cluster": "prod", "user": "kube-admin-prod"},
    }
    assert user["name"] == "kube-admin-prod"
    ca, admin = bundle.get("kube-ca"), bundle.get("kube-admin")
    assert ca is not None and admin is not None
    decode = lambda value: base64.b64decode(value).decode()  # noqa: E731
    assert decode(cluster["cluster"]["certificate-authority-data"]) == ca.cert_pem
    assert decode(user["user"]["client-certificate-data"]) == admin.cert_pem
    assert decode(user["user"]["client-key-data"]) == admin.key_pem.reveal()


def test_admin_kubeconfig_needs_the_admin_certificate() -> None:
    with pytest.raises(PKIError, match="lacks kube-ca, so there is no admin kubeconfig"):
        admin_kubeconfig(CertificateBundle(), cluster_name="x", server_url="https://x:6443")


# --- reconciling a previous bundle --------------------------------------------------------------


def test_same_request_keeps_everything_byte_identical(bundle: CertificateBundle) -> None:
    again = reconcile_bundle(BASE, bundle)
    assert {c.action for c in again.changes} == {"keep"}
    assert again.changed == ()
    assert again.bundle == bundle
    assert again.bundle.to_state() == bundle.to_state()


def test_adding_a_controlplane_host_regenerates_the_apiserver_only(
    bundle: CertificateBundle,
) -> None:
    new = _host("10.0.1.3")
    request = dataclasses.replace(
        BASE, controlplane_hosts=(*CP, new), all_hosts=(*BASE.all_hosts, new)
    )
    result = reconcile_bundle(request, bundle)
    actions = _actions(result)
    assert {n for n, a in actions.items() if a == "regenerate"} == {"kube-apiserver"}
    assert {n for n, a in actions.items() if a == "create"} == {"kube-kubelet-10-0-1-3"}
    assert {n for n, a in actions.items() if a == "keep"} == set(bundle.names) - {"kube-apiserver"}
    change = next(c for c in result.changes if c.name == "kube-apiserver")
    assert change.reason == "SANs changed: added 10.0.1.3"
    assert _public_key(result.bundle, "kube-apiserver") == _public_key(bundle, "kube-apiserver")
    assert "10.0.1.3" in _sans(_x509(result.bundle, "kube-apiserver"))
    for name in ETCD_CERTS:
        assert result.bundle.get(name) == bundle.get(name)


def test_adding_an_etcd_host_creates_its_cert_and_regenerates_the_others(
    bundle: CertificateBundle,
) -> None:
    new = _host("10.0.0.4")
    request = dataclasses.replace(BASE, etcd_hosts=(*ETCD, new), all_hosts=(*BASE.all_hosts, new))
    result = reconcile_bundle(request, bundle)
    actions = _actions(result)
    assert actions["kube-etcd-10-0-0-4"] == "create"
    assert {n for n, a in actions.items() if a == "regenerate"} == ETCD_CERTS
    assert actions["kube-apiserver"] == "keep"
    for name in ETCD_CERTS:
        change = next(c for c in result.changes if c.name == name)
        assert change.reason == "SANs changed: added 10.0.0.4"
        assert _public_key(result.bundle, name) == _public_key(bundle, name)
        assert "10.0.0.4" in _sans(_x509(result.bundle, name))
    assert _sans(_x509(result.bundle, "kube-etcd-10-0-0-4")) == _sans(
        _x509(result.bundle, "kube-etcd-10-0-0-1")
    )


def test_removing_hosts_removes_their_certs(bundle: CertificateBundle) -> None:
    request = dataclasses.replace(BASE, etcd_hosts=ETCD[:2], all_hosts=(*ETCD[:2], *CP, WORKERS[0]))
    result = reconcile_bundle(request, bundle)
    actions = _actions(result)
    removed = {c.name: c.reason for c in result.changes if c.action == "remove"}
    assert removed == {
        "kube-etcd-10-0-0-3": "its host is no longer an etcd host",
        "kube-kubelet-10-0-0-3": "its host left the cluster",
        "kube-kubelet-w2-example-com": "its host left the cluster",
    }
    assert set(removed).isdisjoint(result.bundle.names)
    assert actions["kube-etcd-10-0-0-1"] == actions["kube-etcd-10-0-0-2"] == "regenerate"
    assert "10.0.0.3" not in _sans(_x509(result.bundle, "kube-etcd-10-0-0-1"))


def test_disabling_serving_certificates_removes_the_kubelet_certs(
    bundle: CertificateBundle,
) -> None:
    result = reconcile_bundle(dataclasses.replace(BASE, generate_serving_certificate=False), bundle)
    removed = {c.name for c in result.changes if c.action == "remove"}
    assert removed == KUBELETS
    assert all(
        c.reason == "kubelet serving certificates are disabled"
        for c in result.changes
        if c.action == "remove"
    )
    assert {c.action for c in result.changes if c.action != "remove"} == {"keep"}


def test_an_expired_leaf_is_regenerated_over_its_key(bundle: CertificateBundle) -> None:
    # only imported state has such a leaf (older RKE issued one-year leaves), so build one by hand
    ca, node = bundle.get("kube-ca"), bundle.get("kube-node")
    assert ca is not None and node is not None
    ca_cert, ca_key = load_cert(ca.cert_pem, "kube-ca"), load_key(ca.key_pem, "kube-ca")
    key = load_key(node.key_pem, "kube-node")
    old = (
        x509.CertificateBuilder()
        .subject_name(_x509(bundle, "kube-node").subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(ca_cert.not_valid_before_utc + timedelta(seconds=1))
        .sign(ca_key, hashes.SHA256())
    )
    expired = Certificate.from_pem(
        name="kube-node", cert_pem=old.public_bytes(Encoding.PEM).decode(), key_pem=node.key_pem
    )
    previous = CertificateBundle(
        certificates=tuple(expired if c.name == "kube-node" else c for c in bundle)
    )
    result = reconcile_bundle(BASE, previous, now=ca_cert.not_valid_before_utc + timedelta(days=1))
    change = next(c for c in result.changes if c.name == "kube-node")
    assert change.action == "regenerate" and change.reason.startswith("expired on ")
    assert _public_key(result.bundle, "kube-node") == key.public_key()
    assert result.changed == ("kube-node",)
    regenerated = _x509(result.bundle, "kube-node")
    assert regenerated.not_valid_after_utc == ca_cert.not_valid_after_utc


def test_leaves_of_another_ca_are_regenerated(bundle: CertificateBundle) -> None:
    other = reconcile_bundle(PKIRequest(), None).bundle
    foreign = {c.name: c for c in other}
    previous = CertificateBundle(
        certificates=tuple(foreign["kube-ca"] if c.name == "kube-ca" else c for c in bundle)
    )
    result = reconcile_bundle(BASE, previous)
    actions = _actions(result)
    assert actions["kube-ca"] == "keep"
    assert actions["kube-apiserver-requestheader-ca"] == "keep"
    assert actions["kube-apiserver-proxy-client"] == "keep"  # its CA did not change
    signed_by_kube_ca = set(bundle.names) - {
        "kube-ca",
        "kube-apiserver-requestheader-ca",
        "kube-apiserver-proxy-client",
    }
    assert {n for n, a in actions.items() if a == "regenerate"} == signed_by_kube_ca
    reason = next(c.reason for c in result.changes if c.name == "kube-node")
    assert reason == "not signed by the current kube-ca"
    ca = result.bundle.get("kube-ca")
    assert ca is not None and ca.cert_pem == foreign["kube-ca"].cert_pem


def test_odd_previous_bundles_are_repaired(bundle: CertificateBundle) -> None:
    certs = {c.name: c for c in bundle}
    scheduler, node, proxy = certs["kube-scheduler"], certs["kube-node"], certs["kube-proxy"]
    odd = [c for n, c in certs.items() if n not in ("kube-scheduler", "kube-proxy", "kube-node")]
    odd += [
        dataclasses.replace(scheduler, name="kube-proxy"),  # another component's certificate
        dataclasses.replace(node, key_pem=proxy.key_pem),  # a key that does not fit
        dataclasses.replace(node, name="kube-etcd-client"),  # RKE keeps external etcd certs
        dataclasses.replace(node, name="kube-legacy"),
    ]
    result = reconcile_bundle(BASE, CertificateBundle(certificates=tuple(odd)))
    changes = {c.name: (c.action, c.reason) for c in result.changes}
    assert changes["kube-scheduler"] == ("create", "missing from the previous bundle")
    assert changes["kube-proxy"] == (
        "regenerate",
        "subject changed from CN=system:kube-scheduler O=- to CN=system:kube-proxy O=-",
    )
    assert _public_key(result.bundle, "kube-proxy") == _public_key(bundle, "kube-scheduler")
    assert changes["kube-node"] == ("regenerate", "certificate does not match its key")
    assert _public_key(result.bundle, "kube-node") == _public_key(bundle, "kube-proxy")
    assert changes["kube-etcd-client"] == (
        "remove",
        "external etcd certificates come from services.etcd, not the bundle",
    )
    assert changes["kube-legacy"] == ("remove", "not a certificate this cluster uses")


def test_a_ca_slot_holding_a_leaf_is_an_error(bundle: CertificateBundle) -> None:
    node = bundle.get("kube-node")
    assert node is not None
    previous = CertificateBundle(
        certificates=tuple(
            dataclasses.replace(node, name="kube-ca") if c.name == "kube-ca" else c for c in bundle
        )
    )
    with pytest.raises(PKIError, match="kube-ca in the cluster state is not a CA"):
        reconcile_bundle(BASE, previous)


def test_signing_with_a_key_that_is_not_the_cas_is_an_error(bundle: CertificateBundle) -> None:
    ca, node = bundle.get("kube-ca"), bundle.get("kube-node")
    assert ca is not None and node is not None
    spec = next(s for s in build_certificate_specs(BASE) if s.name == "kube-node")
    key = load_key(node.key_pem, "kube-node")
    with pytest.raises(PKIError, match="signing kube-node with the key of kube-ca"):
        sign(
            spec,
            key,
            now=datetime.now(timezone.utc),
            ca_cert=load_cert(ca.cert_pem, "kube-ca"),
            ca_key=key,
        )


def test_a_key_that_is_not_rsa_is_an_error(bundle: CertificateBundle) -> None:
    node = bundle.get("kube-node")
    assert node is not None
    ec = ec_key.generate_private_key(ec_key.SECP256R1())
    pem = ec.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with pytest.raises(PKIError, match="kube-node is not an RSA key"):
        Certificate.from_pem(name="kube-node", cert_pem=node.cert_pem, key_pem=Secret(pem))


def test_an_expired_ca_is_an_error(bundle: CertificateBundle) -> None:
    later = datetime.now(timezone.utc) + timedelta(days=3700)
    with pytest.raises(PKIError, match=r"kube-apiserver-requestheader-ca expired on .*Rotate"):
        reconcile_bundle(BASE, bundle, now=later)


def test_a_naive_now_counts_as_utc(bundle: CertificateBundle) -> None:
    naive = datetime.now(timezone.utc).replace(tzinfo=None)
    assert reconcile_bundle(BASE, bundle, now=naive).changed == ()


# --- state ---------------------------------------------------------------------------------------


def test_state_round_trip(bundle: CertificateBundle) -> None:
    state = json.loads(json.dumps(bundle.to_state()))
    again = CertificateBundle.from_state(state)
    assert again == bundle
    assert again.to_state() == bundle.to_state()


def _state_with(bundle: CertificateBundle, name: str, **entry: Any) -> dict[str, Any]:
    state = bundle.to_state()
    state["certificates"][name] = {**state["certificates"][name], **entry}
    return state


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: [], "must be a mapping"),
        (lambda b: {**b.to_state(), "version": 99}, "version 99 is not supported"),
        (lambda b: {"version": 1, "certificates": []}, "'certificates' must be a mapping"),
        (lambda b: {"version": 1, "certificates": {"kube-ca": "x"}}, "entry 'kube-ca'"),
        (lambda b: _state_with(b, "kube-node", cert=None), "kube-node: 'cert' must be PEM"),
        (lambda b: _state_with(b, "kube-node", key=""), "kube-node: 'key' must be PEM"),
        (lambda b: _state_with(b, "kube-node", cert="garbage"), "kube-node is not a PEM"),
        (lambda b: _state_with(b, "kube-node", key="garbage"), "key of kube-node is not"),
        (
            lambda b: _state_with(
                b, "kube-node", key=b.to_state()["certificates"]["kube-ca"]["key"]
            ),
            "key of kube-node does not belong",
        ),
    ],
)
def test_malformed_state_is_a_pki_error(
    bundle: CertificateBundle, mutate: Any, message: str
) -> None:
    with pytest.raises(PKIError, match=message) as caught:
        CertificateBundle.from_state(mutate(bundle))
    assert "PRIVATE KEY" not in str(caught.value)


def test_no_key_material_in_repr_or_str(bundle: CertificateBundle) -> None:
    texts = [repr(bundle), str(bundle), f"{bundle}"]
    for cert in bundle:
        texts += [repr(cert), str(cert), f"{cert}"]
    texts += [repr(f) for f in host_files(BASE, frozenset({"controlplane"}), bundle)]
    for text in texts:
        assert "PRIVATE KEY" not in text and "BEGIN" not in text
    assert repr(bundle).startswith("CertificateBundle(kube-admin, kube-apiserver,")


def test_a_bundle_holds_each_name_once(bundle: CertificateBundle) -> None:
    node = bundle.get("kube-node")
    assert node is not None
    with pytest.raises(PKIError, match="each certificate name once"):
        CertificateBundle(certificates=(node, node))
    assert bundle.get("kube-nothing") is None
    assert len(bundle) == len(bundle.names) == len(list(bundle))


# --- names, specs and request errors -------------------------------------------------------------


def test_cert_name_uses_the_internal_address() -> None:
    assert cert_name("kube-etcd", _host("10.0.0.5")) == "kube-etcd-10-0-0-5"
    assert cert_name("kube-etcd", _host("203.0.113.9", "10.0.0.9")) == "kube-etcd-10-0-0-9"
    assert cert_name("kube-kubelet", _host("n1.example.com")) == "kube-kubelet-n1-example-com"
    unset = HostIdentity(address="10.0.0.7", internal_address="", hostname_override="")
    assert cert_name("kube-etcd", unset) == "kube-etcd-10-0-0-7"


def test_shared_internal_addresses_are_an_error() -> None:
    twins = (_host("203.0.113.1", "10.0.0.1"), _host("203.0.113.2", "10.0.0.1"))
    with pytest.raises(PKIError, match="distinct internal_address"):
        build_certificate_specs(PKIRequest(etcd_hosts=twins, all_hosts=twins))


def test_a_bad_service_cidr_is_an_error() -> None:
    with pytest.raises(PKIError, match="service_cluster_ip_range"):
        build_certificate_specs(PKIRequest(service_cidrs=("10.43.0.0/33",)))


def test_public_names() -> None:
    assert pki.__all__ == sorted(pki.__all__)
    assert all(hasattr(pki, name) for name in pki.__all__)


# --- files per host ------------------------------------------------------------------------------

SSL = "/etc/kubernetes/ssl"
COMMON = {
    f"{SSL}/kube-ca.pem",
    f"{SSL}/kube-node.pem",
    f"{SSL}/kube-node-key.pem",
    f"{SSL}/kubecfg-kube-node.yaml",
    f"{SSL}/kube-proxy.pem",
    f"{SSL}/kube-proxy-key.pem",
    f"{SSL}/kubecfg-kube-proxy.yaml",
} | {f"{SSL}/{n}{suffix}" for n in KUBELETS for suffix in (".pem", "-key.pem")}
ETCD_FILES = {f"{SSL}/{n}{suffix}" for n in ETCD_CERTS for suffix in (".pem", "-key.pem")}
CP_FILES = {
    f"{SSL}/kube-ca-key.pem",
    f"{SSL}/kube-apiserver.pem",
    f"{SSL}/kube-apiserver-key.pem",
    f"{SSL}/kube-service-account-token.pem",
    f"{SSL}/kube-service-account-token-key.pem",
    f"{SSL}/kube-controller-manager.pem",
    f"{SSL}/kube-controller-manager-key.pem",
    f"{SSL}/kubecfg-kube-controller-manager.yaml",
    f"{SSL}/kube-scheduler.pem",
    f"{SSL}/kube-scheduler-key.pem",
    f"{SSL}/kubecfg-kube-scheduler.yaml",
    f"{SSL}/kube-apiserver-requestheader-ca.pem",
    f"{SSL}/kube-apiserver-requestheader-ca-key.pem",
    f"{SSL}/kubecfg-kube-apiserver-requestheader-ca.yaml",
    f"{SSL}/kube-apiserver-proxy-client.pem",
    f"{SSL}/kube-apiserver-proxy-client-key.pem",
    f"{SSL}/kubecfg-kube-apiserver-proxy-client.yaml",
}


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ({"worker"}, COMMON),
        ({"etcd"}, COMMON | ETCD_FILES),
        ({"controlplane"}, COMMON | CP_FILES),
        ({"etcd", "controlplane"}, COMMON | ETCD_FILES | CP_FILES),
        ({"controlplane", "worker"}, COMMON | CP_FILES),
        ({"etcd", "controlplane", "worker"}, COMMON | ETCD_FILES | CP_FILES),
    ],
    ids=["worker", "etcd", "controlplane", "etcd+controlplane", "controlplane+worker", "all"],
)
def test_host_files_per_role(
    bundle: CertificateBundle, roles: set[str], expected: set[str]
) -> None:
    files = host_files(BASE, frozenset(roles), bundle)
    paths = [f.path for f in files]
    assert set(paths) == expected
    assert paths == sorted(paths)
    assert {f.mode for f in files} == {0o600}
    assert not any("kube-admin" in p for p in paths)
    for f in files:
        cert = bundle.get(f.certificate)
        assert cert is not None and f.content is not None
        if f.path.endswith("-key.pem"):
            assert f.content == cert.key_pem
        elif f.path.endswith(".yaml"):
            assert f.content == component_kubeconfig(f.certificate)
        else:
            assert f.content.reveal() == cert.cert_pem


def test_worker_gets_no_ca_key_and_no_apiserver(bundle: CertificateBundle) -> None:
    paths = {f.path for f in host_files(BASE, frozenset({"worker"}), bundle)}
    assert f"{SSL}/kube-ca.pem" in paths
    assert f"{SSL}/kube-ca-key.pem" not in paths
    assert not any("kube-apiserver" in p for p in paths)


def test_host_files_without_a_bundle_know_only_the_kubeconfigs() -> None:
    files = host_files(BASE, frozenset({"etcd", "controlplane"}), None)
    assert {f.path for f in files} == COMMON | ETCD_FILES | CP_FILES
    for f in files:
        if "/kubecfg-" in f.path:
            assert f.content == component_kubeconfig(f.certificate)  # paths only, no key data
        else:
            assert f.content is None


def test_host_files_leave_out_content_the_bundle_does_not_have_yet(
    bundle: CertificateBundle,
) -> None:
    new = _host("10.0.0.4")
    request = dataclasses.replace(BASE, etcd_hosts=(*ETCD, new), all_hosts=(*BASE.all_hosts, new))
    files = host_files(request, frozenset({"etcd"}), bundle)
    unknown = {f.path for f in files if f.content is None}
    assert unknown == {
        f"{SSL}/kube-etcd-10-0-0-4.pem",
        f"{SSL}/kube-etcd-10-0-0-4-key.pem",
        f"{SSL}/kube-kubelet-10-0-0-4.pem",
        f"{SSL}/kube-kubelet-10-0-0-4-key.pem",
    }


def test_host_files_without_serving_certificates() -> None:
    request = dataclasses.replace(BASE, generate_serving_certificate=False)
    paths = {f.path for f in host_files(request, frozenset({"worker"}), None)}
    assert not any("kube-kubelet" in p for p in paths)


def test_external_etcd_files_and_checks(bundle: CertificateBundle) -> None:
    ca, node = bundle.get("kube-ca"), bundle.get("kube-node")
    assert ca is not None and node is not None
    external = ExternalEtcd(ca_cert=ca.cert_pem, cert=node.cert_pem, key=node.key_pem)
    request = dataclasses.replace(BASE, etcd_hosts=(), external_etcd=external)
    files = {f.path: f for f in host_files(request, frozenset({"controlplane"}), bundle)}
    assert files[f"{SSL}/kube-etcd-client.pem"].content == Secret(node.cert_pem)
    assert files[f"{SSL}/kube-etcd-client-key.pem"].content == node.key_pem
    assert files[f"{SSL}/kube-etcd-client-ca.pem"].content == Secret(ca.cert_pem)
    assert not any(p.startswith(f"{SSL}/kube-etcd-10") for p in files)
    worker = host_files(request, frozenset({"worker"}), bundle)
    assert not any("kube-etcd-client" in f.path for f in worker)

    result = reconcile_bundle(request, bundle)
    assert {n for n, a in _actions(result).items() if a == "remove"} == ETCD_CERTS
    mismatched = dataclasses.replace(external, key=ca.key_pem)
    with pytest.raises(PKIError, match=r"services\.etcd\.key does not belong"):
        reconcile_bundle(dataclasses.replace(request, external_etcd=mismatched), bundle)
    with pytest.raises(PKIError, match=r"services\.etcd\.ca_cert"):
        reconcile_bundle(
            dataclasses.replace(request, external_etcd=dataclasses.replace(external, ca_cert="x")),
            bundle,
        )
