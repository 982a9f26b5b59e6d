"""Reads settings into frozen dataclasses: TOML first, then MICROMENTOR_<SECTION>_<KEY> overrides.

Each package declares its own section as a frozen dataclass. A field's metadata may carry `min`,
`max` and `choices`; `__post_init__` may raise ValueError for checks across fields. Whatever is
wrong, the error names the setting (`[calls] warning_seconds`) and where its value came from.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin

T = TypeVar("T")

ENV_PREFIX = "MICROMENTOR_"
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """A setting is unknown or its value is bad; the message names the setting."""


def env_name(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section}_{key}".upper()


def build_section(
    cls: type[T],
    section: str,
    toml_values: Mapping[str, Any],
    environ: Mapping[str, str],
    source: str,
) -> T:
    """Builds one section from its TOML table and the environment; raises ConfigError."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in toml_values:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"[{section}] {key}: not a setting (known: {known}) in {source}")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        where = f"[{section}] {name}"
        variable = env_name(section, name)
        if variable in environ:
            raw: Any = environ[variable]
            origin = f"environment variable {variable}"
            value = _from_text(hints[name], raw, f"{where} (from {origin})")
        elif name in toml_values:
            origin = source
            value = _from_toml(hints[name], toml_values[name], f"{where} (from {origin})")
        else:
            continue
        _check_bounds(field, value, f"{where} (from {origin})")
        values[name] = value
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"[{section}] {exc}") from None


def unknown_variables(environ: Mapping[str, str], sections: Mapping[str, type]) -> list[str]:
    """MICROMENTOR_* variables that name no setting: most likely a typo worth stopping for."""
    known = {"MICROMENTOR_CONFIG"}
    for section, cls in sections.items():
        known.update(env_name(section, f.name) for f in dataclasses.fields(cls))
    return sorted(v for v in environ if v.startswith(ENV_PREFIX) and v not in known)


def _type_name(kind: Any) -> str:
    if _is_str_tuple(kind):
        return "a list of strings"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        kind, str(kind)
    )


def _is_str_tuple(kind: Any) -> bool:
    return get_origin(kind) is tuple and get_args(kind)[:1] == (str,)


def _from_toml(kind: Any, value: Any, where: str) -> Any:
    if _is_str_tuple(kind):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(kind, type) and isinstance(value, kind):
        return value
    raise ConfigError(f"{where}: expected {_type_name(kind)}, got {value!r}")


def _from_text(kind: Any, text: str, where: str) -> Any:
    text = text.strip()
    try:
        if _is_str_tuple(kind):
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if kind is bool:
            if text.lower() in TRUE_WORDS:
                return True
            if text.lower() in FALSE_WORDS:
                return False
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is str:
            return text
    except ValueError:
        pass
    if isinstance(kind, types.UnionType):
        raise ConfigError(f"{where}: unsupported setting type {kind}")
    raise ConfigError(f"{where}: expected {_type_name(kind)}, got {text!r}")


def _check_bounds(field: dataclasses.Field[Any], value: Any, where: str) -> None:
    meta = field.metadata
    if "min" in meta and value < meta["min"]:
        raise ConfigError(f"{where}: must be at least {meta['min']}, got {value!r}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(f"{where}: must be at most {meta['max']}, got {value!r}")
    if "choices" in meta and value not in meta["choices"]:
        choices = ", ".join(repr(c) for c in meta["choices"])
        raise ConfigError(f"{where}: must be one of {choices}, got {value!r}")
