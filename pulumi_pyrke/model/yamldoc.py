"""The one YAML door: every YAML text the project reads (cluster.yml, addons, RKE's state) is
parsed here, with bounds on size, alias expansion and depth, duplicate keys refused, and the
text of every scalar kept as written. Pure: parses text, never opens a file.

Values come out as plain dicts, lists, strings, None and booleans. Integers and floats come
out as ``YamlInt``/``YamlFloat``: real numbers that also remember their text, so a field that
RKE reads as a string keeps what the user wrote (``release: 1.10`` stays ``"1.10"``, ``010``
stays ``"010"``, ``12:30`` stays ``"12:30"``) while a number field still gets a number. Dates
stay text (no cluster.yml field is a date, and JSON has none). Mapping keys are always text.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode
from yaml.reader import ReaderError

from pulumi_pyrke.errors import ConfigError, Problem

MAX_BYTES = 16 * 1024 * 1024
MAX_ALIAS_NODES = 100_000
MAX_DEPTH = 100
MAX_INT_BITS = 63

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HAS_LIBYAML: bool = _LOADER is not yaml.SafeLoader

_TAG = "tag:yaml.org,2002:"
_RESOLVERS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = (
    yaml.SafeLoader.yaml_implicit_resolvers
)
_SCALAR_TAGS = frozenset(
    _TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")
)
_CONSTRUCTOR = SafeConstructor()
_MERGE = object()  # the plain key `<<`


class YamlInt(int):
    """An integer from YAML that remembers how it was written."""

    yaml_text: str

    def __new__(cls, value: int, text: str) -> YamlInt:
        obj = super().__new__(cls, value)
        obj.yaml_text = text
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (YamlInt, (int(self), self.yaml_text))


class YamlFloat(float):
    """A float from YAML that remembers how it was written."""

    yaml_text: str

    def __new__(cls, value: float, text: str) -> YamlFloat:
        obj = super().__new__(cls, value)
        obj.yaml_text = text
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (YamlFloat, (float(self), self.yaml_text))


def scalar_text(value: Any) -> str | None:
    """The text a YAML number was written as, or None for anything else."""
    return value.yaml_text if isinstance(value, YamlInt | YamlFloat) else None


def plain(value: Any) -> Any:
    """A deep copy with YAML numbers turned into plain int and float (for JSON/YAML dumps)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, YamlInt):
        return int(value)
    if isinstance(value, YamlFloat):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Bounds on one YAML text: bytes, nodes brought in by aliases, nesting depth."""

    max_bytes: int = MAX_BYTES
    max_alias_nodes: int = MAX_ALIAS_NODES
    max_depth: int = MAX_DEPTH


def parse_yaml(text: str, *, source: str, limits: Limits | None = None) -> Any:
    """The single document in ``text`` (None when empty); ConfigError naming ``source`` and the
    line and column of what is wrong."""
    docs = parse_yaml_all(text, source=source, limits=limits)
    if len(docs) > 1:
        raise ConfigError(
            [Problem(path=source, message="holds more than one YAML document; give one")]
        )
    return docs[0] if docs else None


def parse_yaml_all(text: str, *, source: str, limits: Limits | None = None) -> list[Any]:
    """Every document in ``text``, in order."""
    limits = limits or Limits()
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise ConfigError(
            [
                Problem(
                    path=source,
                    message=f"is {_megabytes(size)}, over the {_megabytes(limits.max_bytes)} limit",
                )
            ]
        )
    builder = _Builder(source, limits)
    # millions of small containers make the cyclic GC rescan everything again and again;
    # what is built here holds no cycles, so collection can wait until the end
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return builder.build(_events(text, source))
    finally:
        if was_enabled:
            gc.enable()


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def _events(text: str, source: str) -> Iterator[Any]:
    try:
        loader = _LOADER(text)
    except (UnicodeError, yaml.YAMLError) as exc:
        raise _syntax_error(exc, source, text) from None
    try:
        while loader.check_event():
            yield loader.get_event()
    except (UnicodeError, yaml.YAMLError) as exc:
        raise _syntax_error(exc, source, text) from None
    finally:
        loader.dispose()


def _syntax_error(exc: Exception, source: str, text: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    if isinstance(exc, ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return ConfigError(
            [
                Problem(
                    path=source,
                    message=f"line {line}, column {column}: character {exc.character:#06x} is not "
                    "allowed in YAML (control characters must be escaped in a double-quoted string)",
                )
            ]
        )
    problem = getattr(exc, "problem", None) or (
        "holds text that is not UTF-8" if isinstance(exc, UnicodeError) else "is not valid YAML"
    )
    return ConfigError([Problem(path=source, message=f"{where}{problem}")])


class _Frame:
    __slots__ = (
        "anchor",
        "depth_mark",
        "key",
        "key_line",
        "key_lines",
        "key_mark",
        "merge",
        "merged",
        "path",
        "value",
        "weight",
    )

    def __init__(self, value: Any, anchor: str | None, path: str, mark: Any) -> None:
        self.value = value
        self.anchor = anchor
        self.path = path
        self.depth_mark = mark
        self.weight = 1
        self.key: str | None = None
        self.key_line = 0
        self.key_mark: Any = None
        self.merge = False
        self.key_lines: dict[str, int] = {}
        self.merged: list[dict[str, Any]] = []


class _Builder:
    """Values from parser events, with every bound checked as the events arrive."""

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # name -> (value, weight, line)
        self.alias_nodes = 0

    def fail(self, path: str, mark: Any, message: str) -> ConfigError:
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        if len(path) > 120:
            path = path[:60] + "..." + path[-40:]
        return ConfigError([Problem(path=path or self.source, message=f"{where}{message}")])

    def build(self, events: Iterator[Any]) -> list[Any]:
        docs: list[Any] = []
        stack: list[_Frame] = []
        root: list[Any] = []
        for event in events:
            kind = type(event)
            if kind is yaml.ScalarEvent:
                self.add(stack, root, *self.scalar(event, stack), event)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self.check_tag(event, stack, kind is yaml.MappingStartEvent)
                if len(stack) >= self.limits.max_depth:
                    raise self.fail(
                        self.path(stack),
                        event.start_mark,
                        f"nested deeper than {self.limits.max_depth} levels",
                    )
                value: Any = {} if kind is yaml.MappingStartEvent else []
                stack.append(_Frame(value, event.anchor, self.path(stack), event.start_mark))
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                frame = stack.pop()
                if frame.merged:
                    # YAML's merge: explicit keys win, then earlier merged mappings
                    merged: dict[str, Any] = {}
                    for source in reversed(frame.merged):
                        merged.update(source)
                    merged.update(frame.value)
                    frame.value = merged
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (
                        frame.value,
                        frame.weight,
                        frame.depth_mark.line + 1,
                    )
                self.add(stack, root, frame.value, frame.weight, event)
            elif kind is yaml.AliasEvent:
                self.add(stack, root, *self.alias(event, stack), event)
            elif kind is yaml.DocumentEndEvent:
                docs.append(root[0] if root else None)
                root = []
                self.anchors = {}
        return docs

    def path(self, stack: list[_Frame]) -> str:
        if not stack:
            return ""
        top = stack[-1]
        if isinstance(top.value, list):
            return f"{top.path}[{len(top.value)}]"
        if top.key is None:
            return top.path
        return f"{top.path}.{top.key}" if top.path else top.key

    def alias(self, event: Any, stack: list[_Frame]) -> tuple[Any, int]:
        name = event.anchor
        if any(f.anchor == name for f in stack):
            raise self.fail(
                self.path(stack), event.start_mark, f"alias *{name} refers to a node that holds it"
            )
        if name not in self.anchors:
            raise self.fail(
                self.path(stack), event.start_mark, f"alias *{name} names no anchor before it"
            )
        value, weight, line = self.anchors[name]
        self.alias_nodes += weight
        if self.alias_nodes > self.limits.max_alias_nodes:
            raise self.fail(
                self.path(stack),
                event.start_mark,
                f"aliases expand past {self.limits.max_alias_nodes} nodes (anchor &{name} "
                f"of line {line} brings {weight} each time); write the values out or use fewer "
                "aliases",
            )
        return value, weight

    def check_tag(self, event: Any, stack: list[_Frame], mapping: bool) -> None:
        tag = event.tag
        if tag is None or tag == "!" or tag == _TAG + ("map" if mapping else "seq"):
            return
        raise self.fail(
            self.path(stack), event.start_mark, f"the tag {_short(tag)} is not supported"
        )

    def scalar(self, event: Any, stack: list[_Frame]) -> tuple[Any, int]:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if tag == "!" or not event.implicit[0]:
                return value, 1
            tag = _resolve(value)
            if tag == _TAG + "str" or tag == _TAG + "value":
                return value, 1
            if tag == _TAG + "merge":
                return _MERGE, 1
        elif tag not in _SCALAR_TAGS:
            raise self.fail(
                self.path(stack), event.start_mark, f"the tag {_short(tag)} is not supported"
            )
        return self.construct(tag, value, event, stack), 1

    def construct(self, tag: str, value: str, event: Any, stack: list[_Frame]) -> Any:
        kind = tag[len(_TAG) :]
        if kind == "str":
            return value
        node = ScalarNode(tag, value, event.start_mark, event.end_mark)
        try:
            if kind == "int":
                digits = sum(c.isdigit() for c in value)
                if digits > 4300:
                    raise ValueError(f"has {digits} digits")
                number = _CONSTRUCTOR.construct_yaml_int(node)
                if abs(number).bit_length() > MAX_INT_BITS:
                    raise ValueError("is larger than a 64-bit integer")
                return YamlInt(number, value)
            if kind == "float":
                return YamlFloat(_CONSTRUCTOR.construct_yaml_float(node), value)
            if kind == "bool":
                return _CONSTRUCTOR.construct_yaml_bool(node)
            if kind == "null":
                return None
            if kind == "timestamp":
                _CONSTRUCTOR.construct_yaml_timestamp(node)  # an impossible date is refused
                return value
            return _CONSTRUCTOR.construct_yaml_binary(node)
        except (ValueError, OverflowError, ConstructorError) as exc:
            reason = getattr(exc, "problem", None) or str(exc)
            raise self.fail(
                self.path(stack),
                event.start_mark,
                f"{_shorten(value)!r} is not a valid {kind} ({reason}); quote it to keep it as text",
            ) from None

    def add(
        self, stack: list[_Frame], root: list[Any], value: Any, weight: int, event: Any
    ) -> None:
        if not stack:
            root.append(value)
            return
        top = stack[-1]
        top.weight += weight
        container = top.value
        if isinstance(container, list):
            container.append(value)
            return
        if top.key is None:
            top.merge = value is _MERGE
            top.key = "<<" if top.merge else self.key_text(value, event, stack)
            top.key_mark = event.start_mark
            top.key_line = event.start_mark.line + 1
            return
        key, top.key = top.key, None
        if value is _MERGE:
            value = "<<"
        if top.merge:
            top.merge = False
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(s, dict) for s in sources):
                raise self.fail(top.path, event.start_mark, "<< merges mappings only")
            top.merged.extend(sources)
            return
        if key in container:
            where = f"{top.path}.{key}" if top.path else key
            raise self.fail(
                where,
                top.key_mark,
                f"duplicate key {key!r} (first at line {top.key_lines[key]}, again at line "
                f"{top.key_line}); keep one",
            )
        container[key] = value
        top.key_lines[key] = top.key_line

    def key_text(self, value: Any, event: Any, stack: list[_Frame]) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict | list):
            raise self.fail(
                stack[-1].path, event.start_mark, "a key must be text, not a collection"
            )
        if type(event) is yaml.ScalarEvent:
            return str(event.value)
        if value is None:
            return ""
        return scalar_text(value) or str(value).lower()


def _resolve(value: str) -> str:
    for tag, regexp in _RESOLVERS.get(value[:1] if value else "", ()):
        if regexp.match(value):
            return tag
    return _TAG + "str"


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _shorten(value: str) -> str:
    return value if len(value) <= 40 else value[:37] + "..."
