"""Generic plumbing of :mod:`trainer.config`: dataclass <-> dict, a small TOML writer, dotted overrides.

Kept apart so the config module holds only the schema, its validation and the recipes. The stdlib
reads TOML (``tomllib``) but cannot write it; configs only need tables, arrays of tables, scalars,
lists of scalars and inline tables (hyperparameters), which is what :func:`dumps` writes.
"""

from __future__ import annotations

import dataclasses
import json
import math
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


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_table(data: dict[str, Any], header: str, lines: list[str], array: bool = False) -> None:
    scalars = {k: v for k, v in data.items() if not (isinstance(v, dict) and k != "hparams") and not _is_table_list(v)}
    tables = {k: v for k, v in data.items() if k not in scalars}
    if header:
        lines.append(f"\n[[{header}]]" if array else f"\n[{header}]")
    lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
    for k, v in tables.items():
        sub = f"{header}.{k}" if header else k
        if _is_table_list(v):
            for item in v:
                _toml_table(item, sub, lines, array=True)
        else:
            _toml_table(v, sub, lines)


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(data: dict[str, Any], header_comment: str = "") -> str:
    """TOML text of a nested dict (lists of dicts become arrays of tables; ``hparams`` stay inline)."""
    lines: list[str] = [header_comment] if header_comment else []
    _toml_table(data, "", lines)
    return "\n".join(lines) + "\n"


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
