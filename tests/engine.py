"""Play the Pulumi engine's `up` and `destroy` for a program, without the Pulumi CLI.

The program runs under ``pulumi.runtime.set_mocks``; each dynamic resource it registers goes
to the SDK's own plugin (tests/wire.py) as the engine would send it: secrets stripped, Check
against the old inputs, Diff against the old outputs, then Create, Update or — for a
replacement — Create of the new one first. As in the engine, replaced resources and resources
the program no longer registers are deleted after every create and update, the newest first.
What the engine does beyond that (parallelism, its own retries, persistence) is not played.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from wire import Plugin, strip_secrets


@dataclass
class Stored:
    """One resource in the stack's state: id, outputs and inputs as the engine keeps them."""

    urn: str
    id: str
    outs: struct_pb2.Struct
    inputs: struct_pb2.Struct
    order: int


@dataclass
class Engine:
    """A stack's state and the steps the last runs took, as ("create"|"update"|"delete", urn, id)."""

    wire: Plugin
    state: dict[str, Stored] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _order: int = 0

    def up(self, program: Callable[[], Any]) -> None:
        """One `pulumi up` of ``program``."""
        seen: set[str] = set()
        replaced: list[Stored] = []
        engine = self

        class Monitor(mocks.MockMonitor):  # type: ignore[misc]
            def RegisterResource(self, request: Any) -> Any:
                if not request.type.startswith("pulumi-python:dynamic"):
                    return super().RegisterResource(request)
                urn = self.make_urn(request.parent, request.type, request.name)
                news = rpc.deserialize_properties(
                    request.object, keep_unknowns=True, keep_internal=True
                )
                stored = engine._step(urn, dict(strip_secrets(dict(news))), replaced)
                with engine._lock:
                    seen.add(urn)
                return resource_pb2.RegisterResourceResponse(
                    urn=urn, id=stored.id, object=stored.outs
                )

        class Echo(pulumi.runtime.Mocks):
            def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
                return f"{args.name}-id", dict(args.inputs)

            def call(self, args: Any) -> tuple[dict[str, Any], None]:
                return {}, None

        echo = Echo()
        pulumi.runtime.set_mocks(echo, monitor=Monitor(echo), preview=False)
        pulumi.runtime.test(program)()
        for old in sorted(replaced, key=lambda s: -s.order):
            self._delete(old)
        for gone in sorted(
            (s for u, s in self.state.items() if u not in seen), key=lambda s: -s.order
        ):
            self._delete(gone)
            del self.state[gone.urn]

    def destroy(self) -> None:
        """`pulumi destroy`: every resource deleted, the newest first."""
        for stored in sorted(self.state.values(), key=lambda s: -s.order):
            self._delete(stored)
        self.state.clear()

    def outputs(self, urn_suffix: str) -> dict[str, Any]:
        (stored,) = [s for u, s in self.state.items() if u.endswith(f"::{urn_suffix}")]
        return dict(rpc.deserialize_properties(stored.outs))

    def _step(self, urn: str, news: dict[str, Any], replaced: list[Stored]) -> Stored:
        old = self.state.get(urn)
        checked = self.wire.check(urn, news, olds=old.inputs if old else None)
        assert checked.failures == [], checked.failures
        if old is not None:
            diff = self.wire.diff(urn, old.id, old.outs, checked.struct)
            if diff.none:
                return old
            if not diff.replaces:
                updated = self.wire.update(urn, old.id, old.outs, checked.struct)
                return self._record("update", urn, old.id, updated.struct, checked.struct)
            with self._lock:
                replaced.append(old)
        created = self.wire.create(urn, checked.struct)
        return self._record("create", urn, created.id, created.struct, checked.struct)

    def _record(
        self, kind: str, urn: str, id_: str, outs: struct_pb2.Struct, inputs: struct_pb2.Struct
    ) -> Stored:
        with self._lock:
            self._order += 1
            stored = Stored(urn=urn, id=id_, outs=outs, inputs=inputs, order=self._order)
            self.state[urn] = stored
            self.events.append((kind, urn, id_))
        return stored

    def _delete(self, stored: Stored) -> None:
        self.wire.delete(stored.urn, stored.id, stored.outs)
        with self._lock:
            self.events.append(("delete", stored.urn, stored.id))
