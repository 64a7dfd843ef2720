"""Validation errors as problems: `field.path: what is wrong and what is valid`, for every door.

cluster.yml, the Node resource and (next) the Cluster all validate with pydantic models; this is
the one place that turns pydantic's errors into ``Problem``s, orders them and words them. Pure:
pydantic and the standard library only.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from pulumi_pyrke.errors import Problem
from pulumi_pyrke.model.secret import Secret

_KINDS = {
    "int_parsing": "is not a whole number",
    "int_type": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "float_type": "is not a number",
    "bool_parsing": "is not true or false",
    "bool_type": "is not true or false",
    "string_type": "is not text",
    "list_type": "is not a list",
    "dict_type": "is not a mapping",
    "model_type": "is not a mapping",
    "model_attributes_type": "is not a mapping",
}

_BOUNDS = {
    "greater_than_equal": ("ge", "is less than {}"),
    "less_than_equal": ("le", "is more than {}"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than": ("lt", "must be less than {}"),
}


def problems_from(
    exc: ValidationError, root: type[BaseModel], *, rke: bool = False
) -> list[Problem]:
    """Every error of ``exc`` (raised validating ``root``) as a Problem with its field path.

    ``rke`` names fields with cluster.yml's spellings (``role``, ``ssh_key``) where a model
    declares them. The value given is echoed only when it is a scalar of a non-secret field.
    """
    return [problem_from(err, root, rke=rke) for err in exc.errors(include_url=False)]


def problem_from(err: Mapping[str, Any], root: type[BaseModel], *, rke: bool = False) -> Problem:
    """One pydantic error (as ``ValidationError.errors()`` gives it) as a Problem."""
    loc = clean_loc(err["loc"])
    where = _walk(root, loc, rke=rke)
    path = format_path(where.display, mapping_keys=where.mapping_keys)
    kind = err["type"]
    hint = (where.field.description or "") if where.field is not None else ""
    if kind == "extra_forbidden" and loc:
        return Problem(path=path, message=_unknown_key(str(loc[-1]), where.parent, rke=rke))
    if kind == "missing":
        return Problem(path=path, message=f"is required; {hint}" if hint else "is required")
    given = err.get("input")
    if kind == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
        if _is_secret(where.annotation):  # a validator may have quoted the value
            message = f"is not valid; {hint}" if hint else "is not valid"
        return Problem(path=path, message=message)
    hidden = where.secret or isinstance(given, Mapping | list | tuple)
    shown = "" if hidden else f"{_show(given)} "
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return Problem(path=path, message=f"{shown}is not valid; use {expected}")
    if kind in _BOUNDS:
        name, text = _BOUNDS[kind]
        what = text.format(err.get("ctx", {}).get(name, "the limit"))
    else:
        what = _KINDS.get(kind) or str(err["msg"]).replace("Input should be", "must be")
    return Problem(path=path, message=f"{shown}{what}; {hint}" if hint else f"{shown}{what}")


def path_of(loc: Iterable[Any], root: type[BaseModel], *, rke: bool = False) -> str:
    """The field path of a location in ``root``, spelled as ``problem_from`` spells it."""
    where = _walk(root, clean_loc(loc), rke=rke)
    return format_path(where.display, mapping_keys=where.mapping_keys)


def clean_loc(loc: Iterable[Any]) -> tuple[Any, ...]:
    """A pydantic error location without its markers ('[key]', 'function-after[...]')."""
    # a user's key may hold a bracket ('[' or 'kube[api'); pydantic's markers open and close one
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p and p.endswith("]")))


def format_path(loc: Iterable[Any], *, mapping_keys: Iterable[int] = ()) -> str:
    """('nodes', 1, 'address') -> 'nodes[1].address'; the parts at ``mapping_keys`` (keys of a
    mapping such as labels) are quoted: labels["example.com/zone"]."""
    quoted = set(mapping_keys)
    out = ""
    for index, part in enumerate(loc):
        if index in quoted:
            out += f"[{json.dumps(str(part))}]"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def sort_problems(problems: Iterable[Problem], root: type[BaseModel]) -> list[Problem]:
    """Problems without repeats, in the order the fields are declared (list items by index,
    mapping keys and unknown keys by name after the declared ones)."""
    unique: dict[str, Problem] = {}
    for p in problems:
        unique.setdefault(str(p), p)
    return sorted(unique.values(), key=lambda p: _order_key(p.path, root))


_PART = re.compile(r'\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.\[]+)')


def _order_key(path: str, root: type[BaseModel]) -> list[tuple[int, int, str]]:
    key: list[tuple[int, int, str]] = []
    current: Any = root
    for match in _PART.finditer(path):
        index, quoted, name = match.groups()
        if index is not None:
            key.append((0, int(index), ""))
            current = _element(current)
            continue
        if quoted is not None:
            key.append((1, 0, quoted))
            current = _mapping_value(current)
            continue
        model = _model(current)
        order = _declared(model) if model is not None else {}
        key.append((1, order.get(name, len(order)), name))
        field = _field(model, name) if model is not None else None
        current = field.annotation if field is not None else None
    return key


@dataclass(frozen=True, kw_only=True, slots=True)
class _Where:
    display: tuple[Any, ...]  # the location, spelled for the door
    mapping_keys: tuple[int, ...]  # which parts are keys of a mapping
    parent: type[BaseModel] | None  # the model the last part is a key of
    field: FieldInfo | None  # the field the last part names
    secret: bool  # whether the value at the location is (or holds) a secret
    annotation: Any  # the type expected at the location


def _walk(root: type[BaseModel], loc: tuple[Any, ...], *, rke: bool) -> _Where:
    display: list[Any] = []
    mapping_keys: list[int] = []
    current: Any = root
    parent: type[BaseModel] | None = None
    field: FieldInfo | None = None
    for position, part in enumerate(loc):
        model = _model(current)
        if isinstance(part, int) and _is_list(current):
            display.append(part)
            current = _element(current)
            continue
        if model is None:
            if _is_mapping(current):
                mapping_keys.append(position)
                display.append(part)
                current = _mapping_value(current)
            else:
                display.append(part)
                current = None
            continue
        parent, field = model, _field(model, str(part))
        display.append(_spelled(model, str(part)) if rke else part)
        current = field.annotation if field is not None else None
    return _Where(
        display=tuple(display),
        mapping_keys=tuple(mapping_keys),
        parent=parent if loc else root,
        field=field,
        secret=_holds_secret(current),
        annotation=current,
    )


def _unknown_key(key: str, model: type[BaseModel] | None, *, rke: bool) -> str:
    if model is None:
        return "unknown key"
    return unknown_key(
        key, (_spelled(model, name) if rke else name for name in _input_names(model))
    )


def unknown_key(key: str, valid: Iterable[str]) -> str:
    """What is said of a key that is not one of ``valid``: the closest valid key, or them all
    (for a mapping no model reads, such as a NodePool's template)."""
    valid = sorted(valid)
    dashed = {v.replace("_", "-"): v for v in valid}
    close = difflib.get_close_matches(key.replace("_", "-"), list(dashed), 1, 0.6)
    if close:
        return f"unknown key; did you mean {dashed[close[0]]!r}?"
    return f"unknown key; valid keys here: {', '.join(valid)}"


def _input_names(model: type[BaseModel]) -> list[str]:
    """The keys a model reads: each field's alias, or its name."""
    return [f.alias or name for name, f in model.model_fields.items() if not name.startswith("_")]


def _spelled(model: type[BaseModel], name: str) -> str:
    """A field's name as cluster.yml spells it (RKE_SPELLINGS on the model: field -> RKE key)."""
    spellings: Mapping[str, str] = getattr(model, "RKE_SPELLINGS", {})
    return spellings.get(name, name)


def _declared(model: type[BaseModel]) -> dict[str, int]:
    order: dict[str, int] = {}
    for i, (name, f) in enumerate(model.model_fields.items()):
        order[name] = i
        order[f.alias or name] = i
        order[_spelled(model, name)] = i
    return order


def _field(model: type[BaseModel], part: str) -> FieldInfo | None:
    fields = model.model_fields
    if part in fields:
        return fields[part]
    spellings: Mapping[str, str] = getattr(model, "RKE_SPELLINGS", {})
    for name, f in fields.items():
        if f.alias == part or spellings.get(name) == part:
            return f
    return None


def _args(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _args(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def _model(annotation: Any) -> type[BaseModel] | None:
    for arg in _args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _is_list(annotation: Any) -> bool:
    return any(typing.get_origin(a) in (list, tuple) for a in _args(annotation))


def _is_mapping(annotation: Any) -> bool:
    return any(typing.get_origin(a) is dict for a in _args(annotation))


def _element(annotation: Any) -> Any:
    for arg in _args(annotation):
        if typing.get_origin(arg) in (list, tuple):
            return typing.get_args(arg)[0]
    return None


def _mapping_value(annotation: Any) -> Any:
    for arg in _args(annotation):
        if typing.get_origin(arg) is dict:
            return typing.get_args(arg)[1]
    return None


def _is_secret(annotation: Any) -> bool:
    return any(arg is Secret for arg in _args(annotation))


def _holds_secret(annotation: Any) -> bool:
    if annotation is None:
        return False
    for arg in _args(annotation):
        if arg is Secret:
            return True
        model = _model(arg)
        if model is not None and any(
            _holds_secret(f.annotation) for f in model.model_fields.values()
        ):
            return True
        if typing.get_origin(arg) in (list, tuple, dict) and any(
            _holds_secret(a) for a in typing.get_args(arg)
        ):
            return True
    return False


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
