"""Shared pieces of the cluster.yml schema: the frozen pydantic base and value coercions.

Pure: pydantic and the standard library only.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class RkeModel(BaseModel):
    """Base of every cluster.yml section: frozen, unknown keys rejected, RKE's spellings as aliases."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


def _to_flag_text(value: Any) -> Any:
    """YAML turns `true`, `10` and `1.5` into non-strings; flags and labels are text in RKE."""
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
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _check_port(value: int) -> int:
    if not 0 < value <= 65535:
        raise ValueError(f"{value} is not a port; use 1..65535")
    return value


Port = Annotated[int, BeforeValidator(_port), AfterValidator(_check_port)]
"""A TCP port written as a number or a string (RKE's node `port` is a string)."""
