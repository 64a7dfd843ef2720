"""Secret: a value that must never reach a log, an exception text, a repr or a plain output.

Pure value type; imports nothing beyond the standard library and pydantic-core hooks.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from pulumi_pyrke.model.yamldoc import plain

MASK = "***"


class Secret:
    """Wraps a secret string. ``str()`` and ``repr()`` give ``***``; only adapters call ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret holds text, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The secret text itself. Call this only where the value leaves for a host or API."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def to_secret(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return Secret(str(value))
            text = getattr(value, "yaml_text", None)  # a number from YAML, kept as written
            if isinstance(text, str):
                return Secret(text)
            raise ValueError("must be a string")

        return core_schema.no_info_plain_validator_function(
            to_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda s: MASK),
        )


class SecretData:
    """A free-form secret section (a cloud provider's settings, an EncryptionConfiguration):
    a mapping that ``str``, ``repr`` and dumps show as ``***``; ``reveal()`` gives the dict."""

    __slots__ = ("_value",)
    __pyrke_opaque__ = True  # the schema hands it plain values and checks nothing inside

    def __init__(self, value: dict[str, Any]) -> None:
        if isinstance(value, SecretData):
            value = value.reveal()
        if not isinstance(value, dict):
            raise TypeError(f"SecretData holds a mapping, not {type(value).__name__}")
        self._value: dict[str, Any] = plain(value)

    def reveal(self) -> dict[str, Any]:
        """The mapping itself. Call this only where the value leaves for a host file."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"SecretData({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretData) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecretData", json.dumps(self._value, sort_keys=True, default=str)))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SecretData, (self._value,))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def to_secret(value: Any) -> SecretData:
            if isinstance(value, SecretData):
                return value
            if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                return SecretData(value)
            raise ValueError("must be a mapping of keys to values")

        return core_schema.no_info_plain_validator_function(
            to_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda s: MASK),
        )


def reveal_data(value: SecretData | dict[str, Any] | None) -> dict[str, Any]:
    """The plain mapping of a value that may be SecretData (None gives an empty mapping)."""
    if isinstance(value, SecretData):
        return value.reveal()
    return dict(value or {})


def reveal(value: str | Secret | None) -> str | None:
    """The plain text of a value that may or may not be a Secret (None stays None)."""
    if isinstance(value, Secret):
        return value.reveal()
    return value
