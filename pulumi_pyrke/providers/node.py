"""The pyrke Node: one host reached over SSH, its key pinned, its Docker reachable, its facts known.

``NodeProvider`` is the dynamic provider (its class path is stored in stack state and never
moves); ``Node``, ``NodeArgs`` and ``BastionArgs`` are what programs use. Nothing here changes
a host: create, read and update only look.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pydantic import BaseModel

from pulumi_pyrke.errors import ConfigError, Problem
from pulumi_pyrke.model.node import NodeSpec, host_key_identity, login_problems
from pulumi_pyrke.model.secret import Secret
from pulumi_pyrke.providers._wire import (
    InputCheck,
    InputDiff,
    IsUnknown,
    Path,
    args_to_props,
    changed_inputs,
    check_failures,
    input_check,
    is_unknown,
    plain,
    resource_args,
    secret_input,
    unknown_paths,
    validate_known,
    without_provider,
    without_unknowns,
)
from pulumi_pyrke.transport import (
    HostObservation,
    SSHTarget,
    host_key_problem,
    key_problems,
    observe_host,
    read_certificate,
)

RECHECK_TIMEOUT = 60.0
"""Seconds read and update keep trying an existing host (create waits up to ready_timeout)."""

Observe = Callable[..., HostObservation]
"""How a Node reaches its host: ``observe(target, docker_socket=, ready_timeout=)``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BastionArgs:
    """The jump host every SSH connection to a Node goes through.

    Defaults: port 22, user root. Give at least one way to log in: ``ssh_private_key`` (key
    text, kept secret), ``ssh_key_path`` or ``ssh_agent_auth=True``; ``ssh_cert`` or
    ``ssh_cert_path`` add an OpenSSH user certificate. ``host_key`` pins the bastion's public
    host key (``type base64``).
    """

    address: pulumi.Input[str]
    port: pulumi.Input[int] | None = None
    user: pulumi.Input[str] | None = None
    ssh_private_key: pulumi.Input[str] | None = field(default=None, repr=False)
    ssh_key_path: pulumi.Input[str] | None = None
    ssh_agent_auth: pulumi.Input[bool] | None = None
    ssh_key_passphrase: pulumi.Input[str] | None = field(default=None, repr=False)
    ssh_cert: pulumi.Input[str] | None = None
    ssh_cert_path: pulumi.Input[str] | None = None
    host_key: pulumi.Input[str] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeArgs:
    """The inputs of a Node: which host, how to log in, and what it will run in a Cluster.

    Defaults: port 22, user root, docker_socket /var/run/docker.sock, ready_timeout 300
    seconds (how long create keeps trying while a fresh machine boots). Give at least one way
    to log in: ``ssh_private_key`` (key text, kept secret), ``ssh_key_path`` or
    ``ssh_agent_auth=True``; ``ssh_cert``/``ssh_cert_path`` add an OpenSSH user certificate.
    ``host_key`` pins the host's public key (``type base64``); without it the first key seen
    is recorded and enforced from then on. ``roles`` are any of etcd, controlplane, worker;
    ``taints`` are mappings with key, value and effect (NoSchedule, PreferNoSchedule,
    NoExecute).
    """

    address: pulumi.Input[str]
    port: pulumi.Input[int] | None = None
    user: pulumi.Input[str] | None = None
    internal_address: pulumi.Input[str] | None = None
    hostname_override: pulumi.Input[str] | None = None
    roles: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    labels: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    taints: pulumi.Input[Sequence[pulumi.Input[Mapping[str, pulumi.Input[str]]]]] | None = None
    ssh_private_key: pulumi.Input[str] | None = field(default=None, repr=False)
    ssh_key_path: pulumi.Input[str] | None = None
    ssh_agent_auth: pulumi.Input[bool] | None = None
    ssh_key_passphrase: pulumi.Input[str] | None = field(default=None, repr=False)
    ssh_cert: pulumi.Input[str] | None = None
    ssh_cert_path: pulumi.Input[str] | None = None
    bastion: pulumi.Input[BastionArgs | Mapping[str, Any]] | None = field(default=None, repr=False)
    host_key: pulumi.Input[str] | None = None
    docker_socket: pulumi.Input[str] | None = None
    ready_timeout: pulumi.Input[int] | None = None


NODE_INPUTS = tuple(f.name for f in fields(NodeArgs))
"""Every input of a Node, in declaration order."""

BASTION_INPUTS = tuple(f.name for f in fields(BastionArgs))

DEFAULT_USER = "root"
"""A Node's login when none is given (cluster.yml, as RKE, requires one)."""

REPLACE_ON = ("address", "port", "docker_socket")
"""Inputs that name the host itself: a change means another host, so a new Node."""

SECRET_INPUTS = ("ssh_private_key", "ssh_key_passphrase", "bastion")
"""Inputs (and outputs of the same name) that Pulumi must keep secret."""

FACT_OUTPUTS = (
    "hostname",
    "os",
    "kernel",
    "docker_version",
    "cgroup_driver",
    "cpus",
    "memory_bytes",
    "swap_bytes",
)
"""Outputs copied from the observed NodeFacts, besides `host_key` and the whole `facts`."""

NODE_OUTPUTS = (*FACT_OUTPUTS, "facts", "bastion_host_key")
"""Outputs that are not inputs (`host_key` is both: the pinned input, the recorded output)."""

_USER_HINT = "give the SSH login name, like root or ubuntu"
_STAND_IN = "unknown.invalid"  # validates in place of an unknown address during a preview


def node_id(address: str, port: int) -> str:
    """The Node's Pulumi id: where it is reached, `host:port` (IPv6 in brackets)."""
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}"


def check_node_inputs(
    raw: Mapping[str, Any], *, is_unknown: IsUnknown = is_unknown
) -> InputCheck[NodeSpec]:
    """Validate a Node's inputs with the one node schema, returning every problem (none raised).

    Unknown values are accepted anywhere: what depends on them is not checked. Key material
    and pinned host keys are checked too (read locally, no connection).
    """
    unknown = list(unknown_paths(raw, is_unknown))
    data = _with_defaults(without_unknowns(raw, unknown, _stand_in))
    spec, problems = validate_known(NodeSpec, data, unknown)
    problems.extend(_login_problems(raw, is_unknown))
    if spec is not None:
        problems.extend(login_problems(spec))
        if spec.bastion is not None:
            problems.extend(login_problems(spec.bastion, at="bastion."))
    problems.extend(_key_problems(raw, is_unknown))
    problems.extend(_host_key_problems(raw, is_unknown))
    return input_check(NodeSpec, raw, unknown, spec, problems, node_inputs)


def parse_node_inputs(raw: Mapping[str, Any]) -> NodeSpec:
    """Validate fully known inputs; raise ConfigError listing every problem."""
    result = check_node_inputs(raw, is_unknown=lambda _: False)
    if result.spec is None:
        raise ConfigError(result.problems)
    return result.spec


def node_inputs(spec: NodeSpec) -> dict[str, Any]:
    """The plain mapping the provider hands Pulumi: the Node's inputs, defaults filled, secrets
    revealed (the engine strips secrets on the way to a dynamic provider and marks them
    secret again by name on the way back, so they travel as plain text)."""
    return _plain_inputs(spec, NODE_INPUTS)


def diff_node(
    olds: Mapping[str, Any], news: Mapping[str, Any], *, is_unknown: IsUnknown = is_unknown
) -> InputDiff:
    """Compare a Node's old outputs with its new checked inputs.

    `host_key` differs only when a new pinned key differs from the recorded one: unpinning
    keeps the recorded key enforced, pinning the recorded key changes nothing.
    """

    def host_key_changed(old: Any, new: Any) -> bool:
        return is_unknown(new) or (
            new is not None and host_key_identity(new) != host_key_identity(old)
        )

    changes = changed_inputs(
        NODE_INPUTS,
        olds,
        news,
        _canonical,
        is_unknown=is_unknown,
        rules={"host_key": host_key_changed},
    )
    return InputDiff.of(changes, REPLACE_ON)


def _canonical(name: str, value: Any) -> Any:
    if value is None:
        value = (
            DEFAULT_USER
            if name == "user"
            else NodeSpec.model_fields[name].get_default(call_default_factory=True)
        )
    value = plain(value)
    if name == "roles" and isinstance(value, list):
        return sorted({str(v) for v in value})
    return value


def _stand_in(path: Path) -> Any | None:
    if path in (("address",), ("bastion", "address")):
        return _STAND_IN
    if len(path) == 3 and path[0] == "taints" and path[2] == "key":
        return "unknown"
    return None


def _with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """The Node's own defaults, where the node schema leaves a field to its door."""
    if data.get("user") is None:
        data["user"] = DEFAULT_USER
    bastion = data.get("bastion")
    if isinstance(bastion, dict) and bastion.get("user") is None:
        bastion["user"] = DEFAULT_USER
    return {k: v for k, v in data.items() if v is not None}


def _plain_inputs(model: BaseModel, names: Iterable[str]) -> dict[str, Any]:
    """``names`` of ``model`` as wire values: secrets revealed, None left out."""
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(model, name)
        if value is None:
            continue
        if isinstance(value, Secret):
            value = value.reveal()
        elif isinstance(value, BaseModel):
            value = _plain_inputs(value, BASTION_INPUTS)
        elif isinstance(value, list):
            value = [
                v.model_dump(exclude_none=True) if isinstance(v, BaseModel) else v for v in value
            ]
        out[name] = value
    return out


def _login_problems(raw: Mapping[str, Any], is_unknown: IsUnknown) -> Iterator[Problem]:
    """A Node needs a user and a way to log in (cluster.yml nodes fall back to the cluster's
    key file, and say a missing user is required)."""
    groups: list[tuple[Mapping[str, Any], str]] = [(raw, "")]
    bastion = raw.get("bastion")
    if isinstance(bastion, Mapping):
        groups.append((bastion, "bastion."))
    for values, at in groups:
        if isinstance(values.get("user"), str) and not values["user"].strip():
            yield Problem(path=f"{at}user", message=f"is empty; {_USER_HINT}")
        ways = ("ssh_private_key", "ssh_key_path", "ssh_agent_auth")
        if not any(_given(values.get(w), is_unknown) for w in ways):
            yield Problem(
                path=f"{at}ssh_private_key",
                message=f"no way to log in; give {at}ssh_private_key (key text), "
                f"{at}ssh_key_path (a key file) or {at}ssh_agent_auth: true",
            )


def _given(value: Any, is_unknown: IsUnknown) -> bool:
    return is_unknown(value) or (value not in (None, "", False))


class NodeProvider(ResourceProvider):
    """Dynamic provider of ``pulumi_pyrke.Node``. Holds nothing: credentials arrive as inputs."""

    serialize_as_secret_always = False

    def __init__(self, observe: Observe = observe_host) -> None:
        self._observe = observe  # a function, pickled by reference; never a live client

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Every problem with the inputs, with its field path, before any connection."""
        result = check_node_inputs(without_provider(news))
        return CheckResult(result.inputs, check_failures(result.problems))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace when the host itself changes (address, port, docker_socket); else update."""
        found = diff_node(olds, without_provider(news), is_unknown=is_unknown)
        return DiffResult(
            changes=bool(found.changes),
            replaces=list(found.replaces),
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Connect (waiting up to ready_timeout for a booting machine), record the host key, look."""
        spec = parse_node_inputs(without_provider(props))
        observation = self._look(
            spec, host_key=spec.host_key, bastion_key=None, timeout=spec.ready_timeout
        )
        return CreateResult(node_id(spec.address, spec.port), _outputs(spec, observation))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Look again, enforcing the recorded host key; return fresh outputs and the inputs."""
        spec = parse_node_inputs(_inputs_of(props))
        observation = self._look(
            spec,
            host_key=spec.host_key,
            bastion_key=_recorded(props, "bastion_host_key"),
            timeout=min(spec.ready_timeout, RECHECK_TIMEOUT),
        )
        outs = _outputs(spec, observation)
        return ReadResult(id_, outs, _inputs_of(outs))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Look again with the new inputs; a newly pinned host key replaces the recorded one."""
        spec = parse_node_inputs(without_provider(news))
        observation = self._look(
            spec,
            host_key=spec.host_key or _recorded(olds, "host_key"),
            bastion_key=_recorded(olds, "bastion_host_key") if _same_bastion(olds, spec) else None,
            timeout=min(spec.ready_timeout, RECHECK_TIMEOUT),
        )
        return UpdateResult(_outputs(spec, observation))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Forget the host: nothing on it changes, and no connection is made."""

    def _look(
        self, spec: NodeSpec, *, host_key: str | None, bastion_key: str | None, timeout: float
    ) -> HostObservation:
        return self._observe(
            _target(spec, host_key=host_key, bastion_key=bastion_key),
            docker_socket=spec.docker_socket,
            ready_timeout=float(timeout),
        )


def _same_bastion(olds: Mapping[str, Any], spec: NodeSpec) -> bool:
    """Whether the bastion is still the machine whose key was recorded (address and port)."""
    old = olds.get("bastion")
    if not isinstance(old, Mapping) or spec.bastion is None:
        return False
    return str(old.get("address")) == spec.bastion.address and int(old.get("port") or 22) == int(
        spec.bastion.port
    )


def _recorded(props: Mapping[str, Any], name: str) -> str | None:
    value = props.get(name)
    return value if isinstance(value, str) and value else None


def _target(spec: NodeSpec, *, host_key: str | None, bastion_key: str | None) -> SSHTarget:
    """Where and how to connect; secrets stay wrapped in Secret until paramiko needs them.

    A pinned bastion key wins; else the one recorded at create is enforced (first use).
    """
    bastion = None
    if spec.bastion is not None:
        b = spec.bastion
        bastion = SSHTarget(
            address=b.address,
            port=b.port,
            user=b.user,
            private_key=b.ssh_private_key,
            key_path=b.ssh_key_path,
            passphrase=b.ssh_key_passphrase,
            use_agent=b.ssh_agent_auth,
            host_key=b.host_key or bastion_key,
        )
    return SSHTarget(
        address=spec.address,
        port=spec.port,
        user=spec.user,
        private_key=spec.ssh_private_key,
        key_path=spec.ssh_key_path,
        passphrase=spec.ssh_key_passphrase,
        use_agent=spec.ssh_agent_auth,
        certificate=read_certificate(spec.ssh_cert, spec.ssh_cert_path),
        host_key=host_key,
        bastion=bastion,
    )


def _outputs(spec: NodeSpec, observation: HostObservation) -> dict[str, Any]:
    """Outputs are the inputs plus what was observed (diff compares news with these)."""
    facts = observation.facts.to_dict()
    outs = node_inputs(spec)
    outs.update({name: facts[name] for name in NODE_OUTPUTS if name in facts})
    outs["host_key"] = observation.host_key
    outs["bastion_host_key"] = observation.bastion_host_key
    outs["facts"] = facts
    return outs


def _inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k in NODE_INPUTS and v is not None}


def _known_text(value: Any, is_unknown: IsUnknown) -> bool:
    return value is None or (isinstance(value, str) and not is_unknown(value))


def _key_problems(raw: Mapping[str, Any], is_unknown: IsUnknown) -> list[Problem]:
    """Whether the key material loads (read locally, no network); skipped while unknown."""
    problems: list[Problem] = []
    groups: list[tuple[Mapping[str, Any], str]] = [(raw, "")]
    bastion = raw.get("bastion")
    if isinstance(bastion, Mapping):
        groups.append((bastion, "bastion."))
    for values, prefix in groups:
        names = (
            "ssh_private_key",
            "ssh_key_path",
            "ssh_key_passphrase",
            "ssh_cert",
            "ssh_cert_path",
        )
        if not all(_known_text(values.get(n), is_unknown) for n in names):
            continue
        key_text, key_path = values.get("ssh_private_key"), values.get("ssh_key_path")
        passphrase = values.get("ssh_key_passphrase")
        certificate, cert_problems = _check_certificate(values, prefix)
        problems.extend(cert_problems)
        found = key_problems(
            private_key=Secret(key_text) if key_text else None,
            key_path=key_path or None,
            passphrase=Secret(passphrase) if passphrase else None,
            certificate=certificate,
            field_prefix=prefix,
        )
        if values.get("ssh_cert_path") and not values.get("ssh_cert"):
            # the certificate came from a file: name the input the user wrote
            found = [
                Problem(path=f"{prefix}ssh_cert_path", message=p.message, severity=p.severity)
                if p.path == f"{prefix}ssh_cert"
                else p
                for p in found
            ]
        problems.extend(found)
    return problems


def _check_certificate(values: Mapping[str, Any], prefix: str) -> tuple[str | None, list[Problem]]:
    try:
        return read_certificate(
            values.get("ssh_cert"), values.get("ssh_cert_path"), field_prefix=prefix
        ), []
    except ConfigError as exc:
        return None, list(exc.problems)


def _host_key_problems(raw: Mapping[str, Any], is_unknown: IsUnknown) -> list[Problem]:
    """Pinned host keys must be 'type base64' lines; skipped while unknown."""
    problems: list[Problem] = []
    bastion = raw.get("bastion")
    pinned = [(raw.get("host_key"), "host_key")]
    if isinstance(bastion, Mapping):
        pinned.append((bastion.get("host_key"), "bastion.host_key"))
    for text, path in pinned:
        if isinstance(text, str) and not is_unknown(text):
            problem = host_key_problem(text, path)
            if problem is not None:
                problems.append(problem)
    return problems


def node_props(args: NodeArgs | Mapping[str, Any]) -> dict[str, Any]:
    """The props of a Node resource: every input and output name, secrets marked secret."""
    props = args_to_props(args, NODE_INPUTS)
    for name in NODE_OUTPUTS:
        props.setdefault(name, None)  # the attribute exists only if the key is in props
    bastion = props.get("bastion")
    if isinstance(bastion, BastionArgs | Mapping):
        bastion = {k: v for k, v in args_to_props(bastion, ()).items() if v is not None}
    props["bastion"] = bastion
    for name in SECRET_INPUTS:
        props[name] = secret_input(props[name])
    return props


class Node(pulumi.dynamic.Resource, module="pyrke", name="Node"):
    """A host that will carry Kubernetes: SSH reachable, Docker ready, facts known, key pinned.

    Type ``pulumi-python:dynamic/pyrke:Node``. Creating one changes nothing on the host.
    Changing ``address``, ``port`` or ``docker_socket`` replaces it; any other input updates it.
    """

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    user: pulumi.Output[str]
    internal_address: pulumi.Output[str]
    hostname_override: pulumi.Output[str]
    roles: pulumi.Output[list[str]]
    labels: pulumi.Output[dict[str, str]]
    taints: pulumi.Output[list[dict[str, str]]]
    ssh_private_key: pulumi.Output[str | None]
    ssh_key_path: pulumi.Output[str | None]
    ssh_agent_auth: pulumi.Output[bool]
    ssh_key_passphrase: pulumi.Output[str | None]
    ssh_cert: pulumi.Output[str | None]
    ssh_cert_path: pulumi.Output[str | None]
    bastion: pulumi.Output[dict[str, Any] | None]
    host_key: pulumi.Output[str]
    bastion_host_key: pulumi.Output[str | None]
    docker_socket: pulumi.Output[str]
    ready_timeout: pulumi.Output[int]
    hostname: pulumi.Output[str]
    os: pulumi.Output[str]
    kernel: pulumi.Output[str]
    docker_version: pulumi.Output[str]
    cgroup_driver: pulumi.Output[str]
    cpus: pulumi.Output[int]
    memory_bytes: pulumi.Output[int]
    swap_bytes: pulumi.Output[int]
    facts: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        args: NodeArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **inputs: Any,
    ) -> None:
        """``Node(name, NodeArgs(...), opts=...)`` or ``Node(name, address=..., opts=...)``."""
        given = resource_args(NodeArgs, "Node", args, inputs)
        secrets = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_INPUTS))
        super().__init__(
            NodeProvider(),
            resource_name,
            node_props(given),
            pulumi.ResourceOptions.merge(opts, secrets),
        )
