"""Shared pieces of the cluster.yml schema: the frozen pydantic base and value coercions.

Pure: pydantic and the standard library only.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
)

from pulumi_pyrke.model.yamldoc import plain, scalar_text


class RkeModel(BaseModel):
    """Base of every cluster.yml section: frozen, unknown keys rejected, RKE's spellings as aliases."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        str_strip_whitespace=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _yaml_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        """Booleans are never numbers (`port: true` is not port 1), nor numbers booleans; free-form
        sections (`dict[str, Any]`) get plain numbers, not the loader's text-keeping ones."""
        kind = _field_kind(cls, info.field_name or "")
        if kind == "number" and isinstance(value, bool):
            raise ValueError(f"{str(value).lower()} is not a number; give one")
        if kind == "bool" and isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"{scalar_text(value) or value} is not true or false")
        if kind == "any":
            return plain(value)
        return value


@functools.cache
def _field_kind(model: type[BaseModel], name: str) -> str:
    field = model.model_fields.get(name)
    if field is None:
        return ""
    kinds = _kinds(field.annotation)
    if "model" in kinds or "text" in kinds:
        return ""
    if kinds == {"number"}:
        return "number"
    if kinds == {"bool"}:
        return "bool"
    return "any" if "any" in kinds else ""


def _kinds(annotation: Any) -> set[str]:
    if annotation is Any:
        return {"any"}
    if annotation is type(None):
        return set()
    if annotation is bool:
        return {"bool"}
    if annotation in (int, float):
        return {"number"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"model"}
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(annotation)))
    if origin in (list, tuple, dict):
        found = set().union(*(_kinds(a) for a in typing.get_args(annotation)))
        return {"any"} if "any" in found else found - {"number", "bool"} | {"text"}
    return {"text"}


def _to_flag_text(value: Any) -> Any:
    """YAML turns `true`, `10` and `1.5` into non-strings; flags and labels are text in RKE,
    kept as the user wrote them (`1.10` stays "1.10", `010` stays "010")."""
    text = scalar_text(value)
    if text is not None:
        return text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    return value


def _to_text_list(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return [_to_flag_text(value)]
    if isinstance(value, list):
        return [_to_flag_text(v) for v in value]
    return value


Text = Annotated[str, BeforeValidator(_to_flag_text)]
"""A string that YAML may have written as a number or a boolean (RKE reads these as text)."""

TextList = Annotated[list[Text], BeforeValidator(_to_text_list)]
"""A list of strings; a single scalar is taken as a one-element list."""


def _port(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a port; use 1..65535")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _check_port(value: int) -> int:
    if not 0 < value <= 65535:
        raise ValueError(f"{value} is not a port; use 1..65535")
    return value


Port = Annotated[int, BeforeValidator(_port), AfterValidator(_check_port)]
"""A TCP port written as a number or a string (RKE's node `port` is a string)."""
