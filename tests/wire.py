"""Drive a dynamic provider the way the Pulumi engine does, without the Pulumi CLI.

``Plugin`` starts the SDK's own dynamic-provider server (``python -u -m pulumi.dynamic``, as
``pulumi-resource-pulumi-python`` does) and speaks gRPC to it with the SDK's stubs and Struct
encoding (reference/pulumi-notes.md §2.3). ``register`` runs a program under
``pulumi.runtime.set_mocks`` and returns what the SDK sent the engine for each resource, so a
test can hand exactly that (secrets stripped, as the engine does) to ``Plugin.check``.

Reusable by the Node, Cluster and Addon tests.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pulumi
from google.protobuf import struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import mocks, proto, rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2_grpc, resource_pb2

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_KEY = "__provider"
UNKNOWN = rpc.UNKNOWN
"""Put this where a preview has no value yet; Check and Diff then see pulumi.output.Unknown."""

Props = Mapping[str, Any] | struct_pb2.Struct


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """A property dict as the SDK encodes it (ints become floats, None-valued keys vanish)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def from_struct(struct: struct_pb2.Struct, *, keep_unknowns: bool = False) -> dict[str, Any]:
    """A Struct back to a dict; with ``keep_unknowns`` the sentinel becomes Unknown."""
    return dict(rpc.deserialize_properties(struct, keep_unknowns=keep_unknowns))


def provider_blob(provider: ResourceProvider) -> str:
    """Exactly what ``pulumi.dynamic.Resource`` stores in ``__provider``."""
    blob, _contains_secrets = _serialize(True, serialize_provider, provider)
    return str(blob)


def urn(type_: str, name: str, *, stack: str = "dev", project: str = "proj") -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def is_secret(value: Any) -> bool:
    """A value wrapped as a secret on the wire ({sig: secret, value: ...})."""
    return bool(rpc.is_rpc_secret(value))


def strip_secrets(value: Any) -> Any:
    """What the engine does before calling a plugin that answered acceptSecrets=False."""
    if is_secret(value):
        return strip_secrets(value["value"])
    if isinstance(value, Mapping):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def _struct(props: Props) -> struct_pb2.Struct:
    return props if isinstance(props, struct_pb2.Struct) else to_struct(props)


@dataclass(frozen=True)
class Checked:
    inputs: dict[str, Any]  # decoded, unknowns kept as pulumi.output.Unknown
    failures: list[tuple[str, str]]  # (property path, reason)
    struct: struct_pb2.Struct  # exactly what the engine would pass on to Diff/Create/Update


@dataclass(frozen=True)
class Created:
    id: str
    outs: dict[str, Any]
    struct: struct_pb2.Struct


@dataclass(frozen=True)
class Diffed:
    changes: int  # proto.DiffResponse.DIFF_NONE / DIFF_SOME / DIFF_UNKNOWN
    replaces: list[str]
    delete_before_replace: bool

    @property
    def none(self) -> bool:
        return self.changes == proto.DiffResponse.DIFF_NONE

    @property
    def some(self) -> bool:
        return self.changes == proto.DiffResponse.DIFF_SOME


@dataclass(frozen=True)
class Read:
    id: str
    outs: dict[str, Any]
    inputs: dict[str, Any] | None
    struct: struct_pb2.Struct


class Plugin:
    """A running ``python -u -m pulumi.dynamic`` and a gRPC client for it."""

    def __init__(self, process: subprocess.Popen[bytes], channel: grpc.Channel) -> None:
        self.process = process
        self.channel = channel
        self.stub = provider_pb2_grpc.ResourceProviderStub(channel)

    def configure(self, config: Mapping[str, Any]) -> proto.ConfigureResponse:
        """The engine sends the whole stack config, keys namespaced, secrets decrypted."""
        return self.stub.Configure(
            proto.ConfigureRequest(args=to_struct(config), acceptSecrets=True)
        )

    def check(self, urn: str, news: Props, olds: Props | None = None) -> Checked:
        resp = self.stub.Check(
            proto.CheckRequest(urn=urn, olds=_struct(olds or {}), news=_struct(news))
        )
        return Checked(
            inputs=from_struct(resp.inputs, keep_unknowns=True),
            failures=[(f.property, f.reason) for f in resp.failures],
            struct=resp.inputs,
        )

    def diff(self, urn: str, id_: str, olds: Props, news: Props) -> Diffed:
        resp = self.stub.Diff(
            proto.DiffRequest(id=id_, urn=urn, olds=_struct(olds), news=_struct(news))
        )
        return Diffed(
            changes=resp.changes,
            replaces=list(resp.replaces),
            delete_before_replace=resp.deleteBeforeReplace,
        )

    def create(self, urn: str, props: Props, *, timeout: float = 600) -> Created:
        resp = self.stub.Create(
            proto.CreateRequest(urn=urn, properties=_struct(props), timeout=timeout)
        )
        return Created(id=resp.id, outs=from_struct(resp.properties), struct=resp.properties)

    def read(self, urn: str, id_: str, props: Props, inputs: Props | None = None) -> Read:
        resp = self.stub.Read(
            proto.ReadRequest(
                id=id_, urn=urn, properties=_struct(props), inputs=_struct(inputs or {})
            )
        )
        has_inputs = len(resp.inputs.fields) > 0
        return Read(
            id=resp.id,
            outs=from_struct(resp.properties),
            inputs=from_struct(resp.inputs) if has_inputs else None,
            struct=resp.properties,
        )

    def update(self, urn: str, id_: str, olds: Props, news: Props) -> Created:
        resp = self.stub.Update(
            proto.UpdateRequest(id=id_, urn=urn, olds=_struct(olds), news=_struct(news))
        )
        return Created(id=id_, outs=from_struct(resp.properties), struct=resp.properties)

    def delete(self, urn: str, id_: str, props: Props) -> None:
        self.stub.Delete(proto.DeleteRequest(id=id_, urn=urn, properties=_struct(props)))


@contextmanager
def plugin(
    *, project: str = "proj", config: Mapping[str, Any] | None = None, cwd: Path = ROOT
) -> Iterator[Plugin]:
    """Start the SDK's dynamic-provider server as the engine does, configure it, stop it after.

    The engine runs the plugin in the program's directory (``-m`` puts it on sys.path); here
    the repository root is both the working directory and on PYTHONPATH.
    """
    env = dict(os.environ, PULUMI_PROJECT=project, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.dynamic"], stdout=subprocess.PIPE, env=env, cwd=cwd
    )
    channel: grpc.Channel | None = None
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        server = Plugin(process, channel)
        server.configure(config or {})
        yield server
    finally:
        if channel is not None:
            channel.close()
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@dataclass
class Registration:
    """One RegisterResource call the SDK made: what the engine receives from a program."""

    type: str
    name: str
    object: dict[str, Any]  # inputs as sent, secrets still wrapped
    additional_secret_outputs: list[str]
    request: resource_pb2.RegisterResourceRequest = field(repr=False)

    def engine_inputs(self) -> dict[str, Any]:
        """The inputs as the engine hands them to a plugin that does not accept secrets."""
        return dict(strip_secrets(self.object))


class _EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def register(program: Callable[[], Any], *, preview: bool = False) -> list[Registration]:
    """Run ``program`` under mocks; return every resource registration it made, in order."""
    recorded: list[Registration] = []

    class Recording(mocks.MockMonitor):  # type: ignore[misc]
        def RegisterResource(self, request: Any) -> Any:
            if request.type != "pulumi:pulumi:Stack":
                recorded.append(
                    Registration(
                        type=request.type,
                        name=request.name,
                        object=dict(
                            rpc.deserialize_properties(
                                request.object, keep_unknowns=True, keep_internal=True
                            )
                        ),
                        additional_secret_outputs=list(request.additionalSecretOutputs),
                        request=request,
                    )
                )
            return super().RegisterResource(request)

    echo = _EchoMocks()
    pulumi.runtime.set_mocks(echo, monitor=Recording(echo), preview=preview)
    pulumi.runtime.test(program)()
    return recorded
