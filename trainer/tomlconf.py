"""Generic plumbing of :mod:`trainer.config`: dataclass <-> dict, TOML text, dotted overrides.

Kept apart so the config module holds only the schema, its validation and the recipes. The stdlib
reads TOML (``tomllib``) but cannot write it; :func:`dumps` writes it with ``tomli_w``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any


class ConfigError(ValueError):
    """A configuration value is invalid; the message starts with the field's dotted name."""

    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        self.reason = reason
        super().__init__(f"{field_name}: {reason}" if field_name else reason)


def to_dict(config: Any) -> dict[str, Any]:
    """Plain, JSON/TOML-ready dict of a config dataclass (tuples become lists)."""

    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        return v

    return conv(config)


def from_dict(data: dict[str, Any], cls: type, *, path: str = "") -> Any:
    """Build ``cls`` from a (TOML) dict; unknown keys and wrong types are :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"{where}{unknown[0]}", f"unknown setting; known here: {', '.join(names)}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _convert(value, hints[name], f"{path}.{name}" if path else name)
    return cls(**kwargs)


def _convert(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(value, hint, path=path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, f"expected a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table of hyperparameters, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(path, f"expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a string, got {value!r}")
        return value
    return value


def dumps(data: dict[str, Any], header_comment: str = "") -> str:
    """TOML text of a nested dict, written by ``tomli_w``, under ``header_comment`` (a ``#`` line).

    Within each table the plain values come first, then the sub-tables (``[model.hparams]``); a list
    of tables is an array of tables (``[[phases]]``); key order is otherwise the dict's (the
    dataclass fields' order). Tuples are written as arrays. Raises ``TypeError`` for a value TOML
    cannot hold (None).
    """
    import tomli_w  # only writing needs it: reading is the standard library's tomllib

    text = tomli_w.dumps(data)
    return f"{header_comment}\n{text}" if header_comment else text


def set_path(node: Any, parts: list[str], value: Any, key: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):  # the phases list: index, name or "*"
        if head == "*":
            targets = node
        elif head.isdigit() and int(head) < len(node):
            targets = [node[int(head)]]
        else:
            targets = [p for p in node if p.get("name") == head]
        if not targets:
            raise ConfigError(key, f"no phase {head!r}; phases: {', '.join(str(p.get('name')) for p in node)}")
        if not rest:
            raise ConfigError(key, "name a setting inside the phase")
        for t in targets:
            set_path(t, rest, value, key)
        return
    if not isinstance(node, dict):
        raise ConfigError(key, "is not a table")
    # model.X / discriminator.X where X is not a field of the table: a hyperparameter.
    if "hparams" in node and head not in node and rest == []:
        node["hparams"][head] = value
        return
    if head not in node:
        raise ConfigError(key, f"unknown setting {head!r}; known here: {', '.join(node)}")
    if not rest:
        node[head] = value
    elif head == "hparams":
        if len(rest) != 1:
            raise ConfigError(key, "hyperparameters are one level deep")
        node[head][rest[0]] = value
    else:
        set_path(node[head], rest, value, key)
