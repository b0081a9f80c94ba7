"""Fuzz: `--set KEY=VALUE` with real key paths and hostile values, through the CLI.

`strtool train` and `strtool synth words` exit 0 or 1 (2 for a usage error), never
raise, and a failure is one `error:` line on stderr. Every run ends early: train has no
training LMDB, so a valid config stops at the data check (exit 1) unless the overrides
switch on the `data.synth` stream, which then trains 1 step of batch 2; synth words
renders one English sample."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from strtool.cli import app
from strtool.config import key_paths
from strtool.engine.config import RunConfig
from strtool.synth.config import SynthConfig

runner = CliRunner()

#: More examples by hand: STRTOOL_FUZZ_EXAMPLES=500 pytest tests/test_fuzz_config.py
EXAMPLES = int(os.environ.get("STRTOOL_FUZZ_EXAMPLES", "40"))

#: YAML texts a user (or a script gone wrong) may type after `=`.
HOSTILE = [
    "", " ", "~", "null", "true", "no", "0", "1", "-1", "-0.5", "0.5", "2", "1e-300",
    "1e308", "1e999", "-1e999", "nan", ".nan", ".inf", "-.inf", "inf", "2147483648",
    "99999999999999999999", "1e12", "0x10", "1_000", "9" * 5000, "abc", "ü", "中文",
    "\u202e", "\x00", "a\nb", "'", "[", "{", "[]", "{}", "[1]", "[0, 0]", "[1, 2]",
    "[2, 1]", "[-10, -5]", "[0.5, 1e308]", "[nan, 1]", "[1, 2, 3]", "[[1]]", "[a, b]",
    "{a: 1}", "{en: -1}", "{en: nan}", "{en: 1e308, fr: 1e308}", "&a [*a]", "&a {x: *a}",
    "[" * 2000 + "]" * 2000, "!!python/object:os.system", "2020-13-45", "cuda", "cpu",
    "crnn_tiny", "codepoint", "png", "wrr", "/nonexistent/x.lmdb", "[/nonexistent]",
]  # fmt: skip
_number = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_pair = st.lists(_number, min_size=0, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_value = st.one_of(st.sampled_from(HOSTILE), _number, _pair, _text)


def _defaults(cfg: Any, prefix: str = "") -> dict[str, object]:
    """Key path -> default value of every leaf of a config dataclass."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            out[prefix + f.name] = {}  # a section: an empty mapping keeps its defaults
            out |= _defaults(value, f"{prefix}{f.name}.")
        else:
            out[prefix + f.name] = value
    return out


def _near(default: object) -> list[object]:
    """Values close to a valid default: edges and scalings that often stay valid."""
    if isinstance(default, bool) or default is None:
        return [default, not default]
    if isinstance(default, (int, float)):
        return [default, 0, default * 2, default * 1000, -default, type(default)(1)]
    if isinstance(default, list) and len(default) == 2:
        lo, hi = default
        return [default, [lo, lo], [hi, hi], [0, hi], [lo, hi * 4], [hi, lo]]
    return [default]


def _overrides(cfg: object) -> st.SearchStrategy[list[str]]:
    defaults = _defaults(cfg)
    keys = [*key_paths(type(cfg))]

    def value_for(key: str) -> st.SearchStrategy[str]:
        near = _near(defaults[key]) if key in defaults else []
        dumped = [yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()
                  for v in near]  # fmt: skip
        near_st = st.sampled_from(dumped)
        return st.one_of(near_st, near_st, near_st, _value) if dumped else _value

    mangled = st.sampled_from(keys).map(lambda k: k.replace(".", "..", 1) if "." in k else k + "x")
    real = st.sampled_from(keys).flatmap(lambda k: value_for(k).map(lambda v: f"{k}={v}"))
    bad_key = st.tuples(mangled, _value).map(lambda kv: f"{kv[0]}={kv[1]}")
    item = st.one_of(real, real, real, real, bad_key)
    return st.lists(item, min_size=1, max_size=3)


def _check(r: Result, fuzzing: bool = True) -> None:
    if fuzzing:  # `pytest --hypothesis-show-statistics` shows how far the runs got
        event(
            f"exit {r.exit_code}" + (" at the data check" if "data.train: no" in r.stderr else "")
        )
    assert r.exit_code in (0, 1, 2), (r.exit_code, r.output, r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code != 0:
        err = r.stderr.strip("\n")  # (a removed progress bar may leave a blank line)
        assert err.startswith("error: ") and "\n" not in err, r.stderr


#: Keep every train run short: no more than 1 step of batch 2 without workers.
TRAIN_GUARDS = ["train.steps=1", "train.batch_size=2", "train.accum=1", "data.workers=0",
                "model.arch=crnn_tiny", "train.val_every=1"]  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(sets=_overrides(RunConfig()))
def test_train_set_never_raises(sets: list[str]) -> None:
    # Without a stream the run stops at the data check, so the fuzzed values win over the
    # guards; a run with `data.synth` trains, so the guards come last then.
    stream = any(s.startswith("data.synth") for s in sets)
    ordered = [*sets, *TRAIN_GUARDS] if stream else [*TRAIN_GUARDS, *sets]
    threads = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            args = ["train", "-o", str(Path(tmp) / "run"), "-q", "--json"]
            args += [a for s in ordered for a in ("--set", s)]
            _check(runner.invoke(app, args))
    finally:
        torch.set_num_threads(threads)  # train.threads is process-wide


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(sets=_overrides(SynthConfig()))
def test_synth_words_set_never_raises(sets: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.lmdb"
        args = ["synth", "words", "-o", str(out), "-n", "1", "--lang", "en", "-q", "--json"]
        args += [a for s in sets for a in ("--set", s)]
        r = runner.invoke(app, args)
        _check(r)
        if r.exit_code == 0:
            assert (out / "data.mdb").is_file()


def test_hostile_values_are_one_line_naming_the_key(tmp_path: Path) -> None:
    """What the fuzz found: 5,000-digit numbers, brackets nested 2,000 deep, integers
    beyond a C int (torch overflowed on train.threads=1e12 and train.seed=1e30),
    newlines, and size settings that together crashed the renderer."""
    cases = [
        ("train", "train.threads=1e12", "train.threads"),
        ("train", "train.seed=1e30", "train.seed"),
        ("train", "train.steps=" + "9" * 5000, "train.steps="),
        ("train", "data.langs=" + "[" * 2000 + "]" * 2000, "nested too deeply"),
        ("train", 'data.caps={"a\\nb": x}', "data.caps.a\\nb"),
        ("train", "train.lr=1" + "0" * 400, "train.lr"),
        ("synth", "text.max_chars=2020-13-45", "month must be in 1..12"),
        ("synth", "augment.stretch.factor=[1,10]", "augment.stretch.factor [1.0, 10.0]"),
        ("synth", "render.font_size=[1000,1000]", "render.font_size [1000.0, 1000.0]"),
    ]
    for cmd, item, named in cases:
        if cmd == "train":
            args = ["train", "-o", str(tmp_path / "run"), "-q", "--set", item]
        else:
            args = ["synth", "words", "-o", str(tmp_path / "s.lmdb"), "-n", "1", "-q"]
            args += ["--set", item]
        r = runner.invoke(app, args)
        _check(r, fuzzing=False)
        assert r.exit_code == 1 and named in r.stderr, (item, r.stderr)
        assert len(r.stderr) < 600, r.stderr
