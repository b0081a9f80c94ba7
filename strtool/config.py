"""Dataclass configs loaded from YAML with `key.path=value` overrides.

Defaults live in code (the dataclass); a YAML file states only what differs. Every
error is one `ConfigError` line naming the full key path (or the file):

- an unknown key suggests the closest known one (`augment.rotate` -> did you mean
  `augment.rotation`?);
- numbers are type-checked (booleans are not numbers, NaN and inf are refused) and
  range-checked at load time from the field's metadata, declared with the helpers of
  `strtool.config_fields` (re-exported here): `lr: float = positive(1e-3)`,
  `prob: float = probability(0.3)`, `sigma: list[float] = ordered_pair(0.4, 1.2, lo=0)`,
  or by hand `field(default=0.1, metadata=limits(0, 1))`;
- a config file that is missing, binary, not YAML or not a mapping is named;
- a config can be a shipped preset by name (`tiny`, `configs/tiny.yaml` from any
  folder, `synth/default`): see `resolve_config_path`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from strtool.config_fields import (  # noqa: F401 - field helpers re-exported for configs
    CHOICES,
    RANGE,
    Range,
    check_ranges,
    cut,
    in_range,
    limits,
    list_of,
    non_negative,
    one_of,
    ordered_pair,
    positive,
    prob,
    probability,
    range_of,
    show,
)
from strtool.errors import ConfigError
from strtool.paths import configs_dir

T = TypeVar("T")

MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: Largest magnitude of an integer setting: a C `int`, what torch, numpy and the OS
#: take for threads, seeds and sizes (`train.threads=1e12` overflowed inside torch).
MAX_INT = 2**31 - 1


# -- types -------------------------------------------------------------------------


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _split_optional(tp: Any) -> tuple[Any, bool]:
    """(type without None, whether None is allowed)."""
    if tp is Any:
        return tp, True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        rest = [a for a in args if a is not type(None)]
        nullable = len(rest) < len(args)
        return (rest[0] if len(rest) == 1 else tp), nullable
    return tp, False


def _kind(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def _number(value: Any, tp: type, path: str) -> Any:
    """An int or a finite float; booleans and other types are refused, naming `path`."""
    want = "an integer" if tp is int else "a number"
    x = value
    if isinstance(value, str):
        try:
            x = int(value.strip()) if tp is int else float(value.strip())
        except ValueError:
            try:
                x = float(value.strip())
            except ValueError:
                raise ConfigError(f"{path}: expected {want}, got {show(value)}") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: expected {want}, got {_kind(value)} ({show(value)})")
    if isinstance(x, int) and tp is not int:
        try:
            x = float(x)
        except OverflowError:
            raise ConfigError(f"{path}: expected a finite number, got {show(value)}") from None
    if isinstance(x, float) and not math.isfinite(x):
        raise ConfigError(f"{path}: expected a finite number, got {x}")
    if tp is int:
        if isinstance(x, float) and not x.is_integer():
            raise ConfigError(f"{path}: expected an integer, got {show(value)}")
        if abs(x) > MAX_INT:
            raise ConfigError(
                f"{path}: {show(int(x))} is too large (integer settings are at most {MAX_INT:,})"
            )
        return int(x)
    return float(x)


def _coerce(value: Any, tp: Any, path: str, root: type) -> Any:
    """Convert a YAML value to the annotated type, or raise naming `path`."""
    tp, nullable = _split_optional(tp)
    if value is None:
        if nullable:
            return None
        raise ConfigError(f"{path}: expected a value, got an empty one (null)")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping (section), got {_kind(value)}")
        return _build(tp, value, path + ".", root)
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {_kind(value)} ({show(value)})")
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        items = [_coerce(v, inner, f"{path}[{i}]", root) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {_kind(value)} ({show(value)})")
        args = typing.get_args(tp)
        inner = args[1] if len(args) == 2 else Any
        return {k: _coerce(v, inner, f"{path}.{cut(str(k))}", root) for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"{path}: expected true/false, got {show(value)}")
    if tp in (int, float):
        return _number(value, tp, path)
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{path}: expected a string, got {_kind(value)} ({show(value)})")
        return str(value)
    return value


# -- building ----------------------------------------------------------------------


def key_paths(cls: type, prefix: str = "") -> list[str]:
    """Every key path of dataclass `cls` (sections and leaves), e.g. `train.lr`."""
    out: list[str] = []
    for name, tp in _field_types(cls).items():
        out.append(prefix + name)
        inner, _ = _split_optional(tp)
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            out.extend(key_paths(inner, prefix + name + "."))
    return out


def _suggest(key: str, known: list[str], prefix: str, root: type) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {prefix}{close[0]}?"
    leaves = {p: p.rsplit(".", 1)[-1] for p in key_paths(root)}
    for cutoff in (1.0, 0.8):  # the same name, then a close one, in another section
        close = [
            p for p, leaf in leaves.items() if difflib.get_close_matches(key, [leaf], 1, cutoff)
        ]
        if close:
            return f"; did you mean {close[0]}?"
    where = f"under {prefix[:-1]}" if prefix else "at the top level"
    return f"; known keys {where}: {', '.join(known)}"


def _build(cls: type[T], data: Any, prefix: str, root: type) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix[:-1] or 'config'}: expected a mapping, got {_kind(data)}")
    types_ = _field_types(cls)
    for k in data:
        if k not in types_:
            hint = _suggest(str(k), list(types_), prefix, root)
            raise ConfigError(f"unknown config key '{cut(f'{prefix}{k}')}'{hint}")
    kwargs = {k: _coerce(v, types_[k], prefix + k, root) for k, v in data.items()}
    return cls(**kwargs)


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass `cls` from a nested dict: unknown keys, wrong types and values
    outside a field's declared range raise `ConfigError` naming the key path."""
    cfg = _build(cls, data, prefix, cls)
    check_ranges(cfg, prefix)
    return cfg


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a dataclass config (YAML/JSON serialisable)."""
    return dataclasses.asdict(cfg)


def _yaml_problem(e: yaml.YAMLError) -> str:
    if isinstance(e, yaml.MarkedYAMLError) and e.problem:
        mark = e.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{e.problem}{where}"
    return " ".join(str(e).split())


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load(text)`; what PyYAML raises besides `YAMLError` for hostile text
    (a 5,000-digit integer: ValueError; brackets nested thousands deep: RecursionError)
    becomes a `yaml.YAMLError` too."""
    try:
        return yaml.safe_load(text)
    except ValueError as e:
        raise yaml.YAMLError(" ".join(str(e).split(";")[0].split())) from None
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` strings to a nested dict; values are parsed as YAML scalars."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{cut(item)}' is not of the form key.path=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            raise ConfigError(f"override '{cut(item)}': empty key in '{cut(key)}'")
        node = data
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{cut(key)}': '{cut(p)}' is not a section")
        try:
            node[parts[-1]] = parse_yaml(raw) if raw != "" else ""
        except yaml.YAMLError as e:
            problem = _yaml_problem(e)
            raise ConfigError(f"override '{cut(item)}': invalid value ({problem})") from None
    return data


# -- files and presets -------------------------------------------------------------


def list_presets() -> list[str]:
    """Names of the shipped presets: `crnn`, `tiny`, ..., `synth/default`."""
    root = configs_dir()
    names = [p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.y*ml")]
    return sorted(names, key=lambda n: (n.count("/"), n))


def _preset(spec: str) -> Path | None:
    s = spec.strip().replace("\\", "/")
    if "configs/" in s:
        s = s.rsplit("configs/", 1)[1]
    while s.startswith("./"):
        s = s[2:]
    for suffix in (".yaml", ".yml"):
        s = s.removesuffix(suffix)
    names = list_presets()
    if s not in names and "/" not in s:
        same = [n for n in names if n.rsplit("/", 1)[-1] == s]
        s = same[0] if len(same) == 1 else s
    if s not in names:
        return None
    root = configs_dir()
    return next(p for p in (root / f"{s}.yaml", root / f"{s}.yml") if p.is_file())


def resolve_config_path(spec: str | Path) -> Path:
    """The config file `spec` names: the path itself when it is a file, else the shipped
    preset of that name (`tiny`, `tiny.yaml`, `configs/tiny.yaml` typed from another
    folder, `synth/default`), else a `ConfigError` listing the presets."""
    p = Path(spec).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        raise ConfigError(f"config {p} is a folder, not a YAML file")
    preset = _preset(str(spec))
    if preset is not None:
        return preset
    raise ConfigError(
        f"config file not found: {spec} (shipped presets: {', '.join(list_presets())})"
    )


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from a file or preset name; every error names the file."""
    p = resolve_config_path(path)
    try:
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{p}: not a YAML config file (over {MAX_CONFIG_BYTES} bytes)")
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config file ({e.strerror or e})") from None
    if b"\x00" in raw:
        raise ConfigError(f"{p}: not a YAML config file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a YAML config file (not UTF-8 text)") from None
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: invalid YAML ({_yaml_problem(e)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a config file must be a mapping of keys, got {_kind(data)}")
    return data


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The YAML mapping of `path` merged over its `base:` chain (each base relative to
    the file naming it, or a preset name)."""
    p = resolve_config_path(path)
    chain: list[dict[str, Any]] = []
    seen: set[Path] = set()
    while True:
        if p.resolve() in seen or len(seen) >= 16:
            raise ConfigError(f"{p}: 'base:' files form a loop")
        seen.add(p.resolve())
        data = load_yaml(p)
        base = data.pop("base", None)
        chain.append(data)
        if base is None:
            break
        if not isinstance(base, str) or not base.strip():
            raise ConfigError(f"{p}: base: expected a file name, got {show(base)}")
        p = p.parent / base if (p.parent / base).is_file() else resolve_config_path(base)
    merged: dict[str, Any] = {}
    for data in reversed(chain):
        merged = _merge(merged, data)
    return merged


def load_config(
    cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None
) -> T:
    """Defaults from `cls`, then the YAML file or preset `path` (following its `base:`
    files), then `--set` overrides; unknown keys, wrong types and out-of-range values
    raise `ConfigError`."""
    data = read_config_file(path) if path is not None else {}
    data = apply_overrides(data, list(overrides or []))
    return from_dict(cls, data)
