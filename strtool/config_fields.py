"""Declaring and checking the values a config field allows: `Range` (numbers and
`[low, high]` pairs) and choices, kept in the field's metadata, the field helpers
(`positive`, `probability`, `ordered_pair`, `one_of`, ...), `check_ranges` over a whole
config, and `show` for one-line error messages. `strtool.config` loads configs with
them."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from strtool.errors import ConfigError

#: Field-metadata key of a `Range`; `CHOICES` holds the allowed values of any field.
RANGE = "range"
CHOICES = "choices"
#: Longest shown value in an error message (a 5,000-digit number stays one short line).
MAX_SHOWN = 60


def cut(text: str) -> str:
    """`text` on one line (control and other unprintable characters escaped, as `\\n`,
    `\\u202e`), cut to `MAX_SHOWN` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: 2 * MAX_SHOWN])
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def show(value: Any) -> str:
    """`repr(value)` cut to `MAX_SHOWN` characters, for one-line error messages."""
    try:
        return cut(repr(value))
    except (RecursionError, ValueError):  # self-referencing YAML, huge ints
        return f"<{type(value).__name__}>"


def finite_number(x: Any) -> bool:
    """An int or float that is finite and not a boolean. The YAML loader type-checks
    values before their range; a config built in code reaches `Range.check` directly,
    so the range refuses the rest itself."""
    return not isinstance(x, bool) and isinstance(x, numbers.Real) and math.isfinite(x)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric field, of both items of a `[low, high]` pair, or of
    every item of a non-empty list.

    `lo` / `hi` None = unbounded; `lo_open` / `hi_open` exclude that bound; `pair`: the
    value is a two-item list `[low, high]` with `low <= high`; `items`: a non-empty list
    whose items all lie in the range; `integer`: the numbers must be whole. Booleans,
    NaN and inf are never inside a range."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    pair: bool = False
    items: bool = False
    integer: bool = False

    def interval(self) -> str:
        left = "(" if self.lo is None or self.lo_open else "["
        right = ")" if self.hi is None or self.hi_open else "]"
        lo = "-inf" if self.lo is None else _num(self.lo)
        hi = "inf" if self.hi is None else _num(self.hi)
        return f"{left}{lo}, {hi}{right}"

    def describe(self) -> str:
        whole = " (integers)" if self.integer else ""
        if self.pair:
            return f"[low, high] with low <= high, both in {self.interval()}{whole}"
        if self.items:
            return f"a non-empty list of numbers in {self.interval()}{whole}"
        return f"{self.interval()}{whole}"

    def contains(self, x: Any) -> bool:
        if not finite_number(x) or (self.integer and not float(x).is_integer()):
            return False
        if self.lo is not None and (x < self.lo or (self.lo_open and x == self.lo)):
            return False
        return not (self.hi is not None and (x > self.hi or (self.hi_open and x == self.hi)))

    def check(self, value: Any, path: str) -> None:
        """Raise `ConfigError` naming `path` and the allowed range if `value` is outside."""
        if value is None:
            return
        listed = (self.pair or self.items) and isinstance(value, (list, tuple))
        if not all(finite_number(v) for v in (value if listed else [value])):
            what = (
                "holds an item that is not a finite number" if listed else "is not a finite number"
            )
            raise ConfigError(f"{path}: {show(value)} {what}; allowed: {self.describe()}")
        if self.pair or self.items:
            ok = isinstance(value, (list, tuple)) and (len(value) == 2 or not self.pair)
            ok = ok and len(value) > 0 and all(self.contains(v) for v in value)
            ok = ok and (not self.pair or value[0] <= value[1])
        else:
            ok = self.contains(value)
        if not ok:
            raise ConfigError(f"{path}: {show(value)} is out of range; allowed: {self.describe()}")


def limits(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    pair: bool = False,
    items: bool = False,
    integer: bool = False,
) -> dict[str, Range]:
    """Field metadata for a range: `field(default=0.5, metadata=limits(0, 1))`."""
    return {RANGE: Range(lo, hi, lo_open, hi_open, pair, items, integer)}


def in_range(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    integer: bool = False,
) -> Any:
    """A number field in `[lo, hi]` (None = unbounded; `*_open` excludes the bound;
    `integer`: whole numbers only, also when the config is built in code)."""
    meta = limits(lo, hi, lo_open=lo_open, hi_open=hi_open, integer=integer)
    return field(default=default, metadata=meta)


def positive(default: Any) -> Any:
    """A number field > 0 (learning rates, scales, sizes)."""
    return in_range(default, 0, None, lo_open=True)


def non_negative(default: Any, *, integer: bool = False) -> Any:
    """A number field >= 0 (weights, counts, sigmas; `integer`: whole numbers only)."""
    return in_range(default, 0, None, integer=integer)


def probability(default: float) -> Any:
    """A probability or fraction in [0, 1]."""
    return in_range(default, 0, 1)


prob = probability


def ordered_pair(
    low: float,
    high: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Any:
    """A `[low, high]` list field (default `[low, high]`): two numbers, `low <= high`,
    both inside the domain `lo..hi` (e.g. `ordered_pair(24, 36, lo=1)` for font sizes)."""
    meta = limits(lo, hi, lo_open=lo_open, hi_open=hi_open, pair=True)
    return field(default_factory=lambda: [low, high], metadata=meta)


def list_of(
    default: list[Any], lo: float | None = None, hi: float | None = None, *, integer: bool = False
) -> Any:
    """A non-empty list field whose items all lie in `[lo, hi]` (`integer`: whole
    numbers), e.g. the phrase lengths `list_of([2, 2, 3], 1, 12, integer=True)`."""
    meta = limits(lo, hi, items=True, integer=integer)
    return field(default_factory=lambda: list(default), metadata=meta)


def one_of(default: Any, *choices: Any) -> Any:
    """A field whose value must be one of `choices` (`amp: str = one_of("auto", ...)`)."""
    return field(default=default, metadata={CHOICES: (default, *choices)})


def range_of(f: dataclasses.Field[Any]) -> Range | None:
    """The `Range` declared in a field's metadata: a `Range`, or `(lo, hi)` with an
    optional `"open": "low" | "high" | "both"` and `"pair": True`."""
    spec = f.metadata.get(RANGE)
    if spec is None or isinstance(spec, Range):
        return spec
    lo, hi = spec
    opened = f.metadata.get("open") or ""
    both = opened == "both"
    return Range(
        lo, hi, both or opened == "low", both or opened == "high", bool(f.metadata.get("pair"))
    )


def check_ranges(cfg: Any, prefix: str = "") -> None:
    """Check every field with range or choices metadata, recursively."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        path = prefix + f.name
        rng = range_of(f)
        if rng is not None:
            rng.check(value, path)
        choices = f.metadata.get(CHOICES)
        if choices is not None and value not in choices:
            allowed = ", ".join(str(c) for c in choices)
            raise ConfigError(f"{path}: {show(value)} is not allowed; expected one of {allowed}")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_ranges(value, path + ".")
