"""`pyrke validate` and `pyrke plan` as a user runs them: exit codes, output, state files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pulumi_pyrke.cli.main import main
from pulumi_pyrke.model import load_cluster_yml
from pulumi_pyrke.plan import plan_cluster_with_pki

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "tests" / "configs"
EXAMPLE = ROOT / "examples" / "cluster.yml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "-c", str(EXAMPLE))
    assert code == 0 and "valid (5 nodes, Kubernetes v1.31.14-rancher1-1)" in out


@pytest.mark.parametrize("name", ["rke-docs-minimal.yml", "rke-docs-full-modern.yml"])
def test_rke_docs_examples_validate_and_plan(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert run(capsys, "validate", "-c", str(CONFIGS / name))[0] == 0
    code, out, _ = run(capsys, "plan", "-c", str(CONFIGS / name), "-o", "json")
    assert code == 0 and json.loads(out)["nodes"]


def test_validate_lists_every_problem_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "-c", str(CONFIGS / "invalid" / "many-problems.yml"))
    lines = out.splitlines()
    assert code == 1 and len(lines) >= 5
    assert all(": " in line and not line.startswith(" ") for line in lines)
    assert f"{len(lines)} problems" in err


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "validate", "-c", str(tmp_path / "nope.yml"))
    assert code == 2 and out == "" and "cannot read" in err


def test_plan_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(capsys, "plan", "-c", str(EXAMPLE))
    assert code == 0 and text.startswith("cluster example: Kubernetes v1.31.14-rancher1-1, 5 nodes")
    assert "container kube-apiserver" in text and "(content known at apply)" in text
    code, out, _ = run(capsys, "plan", "-c", str(EXAMPLE), "-o", "json")
    data = json.loads(out)
    assert code == 0 and set(data) == {"kubernetes_version", "nodes"}
    worker = data["nodes"]["10.0.0.21"]
    assert worker["roles"] == ["worker"] and "nginx-proxy" in worker["containers"]


def test_plan_with_facts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps({"10.0.0.21": {"os": "Flatcar Container Linux", "cgroup_driver": "systemd"}})
    )
    code, out, _ = run(capsys, "plan", "-c", str(EXAMPLE), "--facts", str(facts), "-o", "json")
    kubelet = json.loads(out)["nodes"]["10.0.0.21"]["containers"]["kubelet"]
    assert code == 0 and "--cgroup-driver=systemd" in kubelet["args"]
    assert "--root-dir=/opt/rke/var/lib/kubelet" in kubelet["args"]
    facts.write_text(json.dumps({"10.0.0.21": {"colour": "blue"}}))
    code, out, _ = run(capsys, "plan", "-c", str(EXAMPLE), "--facts", str(facts))
    assert code == 1 and out.startswith("facts[10.0.0.21].colour: unknown fact")
    facts.write_text("{not json")
    assert run(capsys, "plan", "-c", str(EXAMPLE), "--facts", str(facts))[0] == 2


def _rkestate(config_path: Path) -> dict[str, object]:
    """An RKE cluster.rkestate as `rke up` writes it, for the cluster in config_path."""
    loaded = load_cluster_yml(config_path.read_text())
    _, result = plan_cluster_with_pki(loaded.config)
    bundle = {
        c.name: {"name": c.name, "certificatePEM": c.cert_pem, "keyPEM": c.key_pem.reveal(),
                 "commonName": c.common_name, "path": f"/etc/kubernetes/ssl/{c.name}.pem"}
        for c in result.bundle
    }  # fmt: skip
    raw = yaml.safe_load(config_path.read_text())
    current = {"rkeConfig": raw, "certificatesBundle": bundle}
    return {"desiredState": current, "currentState": current}


def test_plan_takes_over_an_rke_state_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "cluster.yml"
    shutil.copy(EXAMPLE, config)
    (tmp_path / "cluster.rkestate").write_text(json.dumps(_rkestate(config)))
    code, out, err = run(capsys, "plan", "-c", str(config))
    assert code == 0 and "using state" in err and "3 etcd members" in err
    assert "certificate " not in out, "nothing changes: every certificate is kept"
    assert "(content known at apply)" not in out and "sha256:" in out
    assert "PRIVATE KEY" not in out + err
    # a new controlplane host: only the apiserver certificate changes its SANs
    data = yaml.safe_load(config.read_text())
    data["nodes"].append({"address": "10.0.0.14", "user": "ubuntu", "role": ["controlplane"]})
    config.write_text(yaml.safe_dump(data))
    code, out, _ = run(capsys, "plan", "-c", str(config))
    changes = [line.strip() for line in out.splitlines() if line.startswith("  certificate ")]
    assert code == 0 and len(changes) == 1
    assert changes[0].startswith("certificate kube-apiserver: regenerate")


def test_plan_rejects_a_broken_state(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps({"currentState": {"certificatesBundle": {"kube-ca": {"certificatePEM": "x"}}}})
    )
    code, out, err = run(capsys, "plan", "-c", str(EXAMPLE), "--state", str(state))
    assert code == 1 and err.startswith(f"{state}: 1 problem")
    assert "kube-ca" in out and "keyPEM" in out


def test_console_script_is_installed() -> None:
    exe = shutil.which("pyrke")
    assert exe, "pip install -e . installs the pyrke console script"
    done = subprocess.run(
        [exe, "validate", "-c", str(EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_pyrke.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "validate" in done.stdout


def test_hosts_warns_about_a_docker_rke_never_validated() -> None:
    from pulumi_pyrke.cli.hosts import HostReport, docker_warnings
    from pulumi_pyrke.model.facts import NodeFacts
    from pulumi_pyrke.model.load import load_cluster_yml
    from pulumi_pyrke.transport import HostObservation

    text = "nodes:\n- {address: 10.0.0.5, user: ubuntu, role: [etcd, controlplane, worker]}\n"
    config = load_cluster_yml(text).config

    def report(version: str) -> HostReport:
        seen = HostObservation(
            facts=NodeFacts(docker_version=version), host_key="k", ssh_connections=1
        )
        return HostReport(node=config.nodes[0], seconds=0.1, observation=seen)

    assert docker_warnings(config, [report("24.0.7"), report("20.10.24+dfsg1")]) == []
    (warning,) = docker_warnings(config, [report("28.1.1")])
    assert warning.startswith(
        "10.0.0.5: Docker 28.1.1 is not one RKE validated for v1.31.14-rancher1-1"
    )
    assert "ignore_docker_version: true" in warning
    ignoring = load_cluster_yml(text + "ignore_docker_version: true\n").config
    assert docker_warnings(ignoring, [report("28.1.1")]) == []


def test_hosts_names_an_encrypted_key_before_any_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    from pulumi_pyrke.cli.main import main as pyrke

    key = tmp_path / "id"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret phrase", "-f", str(key)], check=True
    )
    config = tmp_path / "cluster.yml"
    config.write_text(
        "nodes:\n- {address: 192.0.2.1, user: ubuntu, role: [etcd, controlplane, worker], "
        f"ssh_key_path: {key}}}\n"
    )
    assert pyrke(["hosts", "-c", str(config)]) == 1
    out, _ = capsys.readouterr()
    assert out == (
        "nodes[0].ssh_key_path: the private key is encrypted; as with RKE, load it into an SSH "
        "agent (ssh-add) and set ssh_agent_auth: true\n"
    )
    assert not (tmp_path / "cluster.known_hosts").exists()


def test_the_cli_loads_no_ssh_or_pulumi_until_a_command_reaches_hosts() -> None:
    """`pyrke validate` and `pyrke plan` stay quick: paramiko, docker and pulumi load only for
    the commands that reach hosts."""
    import subprocess
    import sys

    code = (
        "import sys, pulumi_pyrke.cli.main; "
        "print(sorted(m for m in ('paramiko', 'docker', 'pulumi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_secret_files_are_0600_whatever_was_left_beside_them(tmp_path: Path) -> None:
    import stat

    from pulumi_pyrke.cli.up import _write_secret

    target = tmp_path / "kube_config_cluster.yml"
    leftover = tmp_path / "kube_config_cluster.yml.tmp"
    leftover.write_text("old")
    leftover.chmod(0o644)
    _write_secret(target, "secret")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text() == "secret"
