"""Shared pieces of the cluster.yml schema: the frozen pydantic base and value coercions.

Pure: pydantic and the standard library only.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import types
import typing
import unicodedata
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
        if kind == "text" and info.field_name not in MULTILINE_FIELDS:
            _no_control_characters(value)
        return value


MULTILINE_FIELDS = frozenset(
    {"addons", "ca_cert", "cert", "config_file", "customCloudProvider", "custom_ca", "key"}
    | {"ssh_cert", "ssh_key", "ssh_private_key", "ssh_key_passphrase"}
)
"""Text fields that hold files (PEM, YAML, ini): newlines and tabs belong there."""

_FORMAT_CONTROLS = frozenset("\u200b\u200c\u200d\u200e\u200f\u2028\u2029\ufeff") | frozenset(
    map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
)


def _no_control_characters(value: Any, where: str = "") -> None:
    """Values that reach a host (flags, binds, environment, paths, images) hold no control or
    bidirectional characters: what a reviewer reads in the plan is what runs."""
    if isinstance(value, str):
        value = value.strip()  # the schema strips surrounding whitespace anyway
        for i, char in enumerate(value):
            if char in _FORMAT_CONTROLS or unicodedata.category(char) == "Cc":
                at = f"{where}: " if where else ""
                raise ValueError(
                    f"{at}{char!r} (U+{ord(char):04X}) at position {i + 1} is a control "
                    "character; remove it"
                )
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_control_characters(k, where or "a key")
            _no_control_characters(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_control_characters(v, f"{where}[{i}]")


@functools.cache
def _field_kind(model: type[BaseModel], name: str) -> str:
    field = model.model_fields.get(name)
    if field is None:
        return ""
    kinds = _kinds(field.annotation)
    if "model" in kinds:
        return ""
    if kinds == {"text"}:
        return "text"
    if kinds == {"number"}:
        return "number"
    if kinds == {"bool"}:
        return "bool"
    return "any" if "any" in kinds else ""


def _kinds(annotation: Any) -> set[str]:
    if annotation is Any or getattr(annotation, "__pyrke_opaque__", False):
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


_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"^(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*$")


def check_dns_name(value: str, *, wildcard: bool = False) -> str:
    """A lowercase DNS name in ASCII (as certificates and Kubernetes want it), or ValueError
    saying what to write; a name with non-ASCII letters is answered with its IDNA form."""
    if not value.isascii():
        try:
            ascii_form = value.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{value!r} is not a DNS name") from None
        raise ValueError(f"{value!r} is not ASCII; write its IDNA form {ascii_form!r}")
    if len(value) > 253 or not _DNS_NAME.match(value) or (value.startswith("*") and not wildcard):
        raise ValueError(f"{value!r} is not a DNS name (lowercase letters, digits, '-' and '.')")
    return value


def check_ip_or_dns_name(value: str) -> str:
    """An IP address or a DNS name (a wildcard allowed), for a certificate SAN."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return check_dns_name(value, wildcard=True)
    return value
