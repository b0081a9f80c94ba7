from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pytest

from strtool.config import (
    Range,
    from_dict,
    in_range,
    limits,
    list_presets,
    load_config,
    non_negative,
    one_of,
    ordered_pair,
    positive,
    probability,
    range_of,
    resolve_config_path,
)
from strtool.config_fields import check_ranges
from strtool.errors import ConfigError


@dataclass
class Opt:
    lr: float = 1e-3
    steps: int = 10


@dataclass
class Cfg:
    name: str = "x"
    langs: list[str] = field(default_factory=lambda: ["en"])
    opt: Opt = field(default_factory=Opt)
    amp: bool = False


def test_defaults_yaml_and_overrides(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("opt:\n  steps: 50\n")
    p = tmp_path / "c.yaml"
    p.write_text("base: base.yaml\nname: run\nopt:\n  lr: 0.01\n")
    cfg = load_config(Cfg, p, ["opt.lr=3e-4", "langs=en,fr", "amp=true"])
    assert cfg.name == "run" and cfg.opt.steps == 50 and cfg.opt.lr == 3e-4
    assert cfg.langs == ["en", "fr"] and cfg.amp is True


def test_unknown_key_named(tmp_path):
    with pytest.raises(ConfigError, match="opt.lrr"):
        load_config(Cfg, None, ["opt.lrr=1"])


def test_bad_type_named():
    with pytest.raises(ConfigError, match="opt.steps"):
        load_config(Cfg, None, ["opt.steps=abc"])


# -- unknown keys suggest the closest known key --------------------------------------


@dataclass
class Rotation:
    prob: float = 0.3


@dataclass
class Augment:
    rotation: Rotation = field(default_factory=Rotation)
    blur: Rotation = field(default_factory=Rotation)


@dataclass
class Root:
    augment: Augment = field(default_factory=Augment)
    opt: Opt = field(default_factory=Opt)


def test_unknown_key_suggests_closest():
    with pytest.raises(ConfigError) as e:
        load_config(Root, None, ["augment.rotate.prob=0.5"])
    msg = str(e.value)
    assert "'augment.rotate'" in msg and "did you mean augment.rotation?" in msg
    assert "\n" not in msg


def test_unknown_key_found_in_another_section():
    with pytest.raises(ConfigError, match=r"'augment.steps'.*did you mean opt.steps\?"):
        load_config(Root, None, ["augment.steps=3"])


def test_unknown_key_without_match_lists_known_keys():
    with pytest.raises(
        ConfigError, match=r"'augment.zzz'.*known keys under augment: rotation, blur"
    ):
        load_config(Root, None, ["augment.zzz=1"])


# -- declarative ranges --------------------------------------------------------------


@dataclass
class Ranged:
    lr: float = positive(1e-3)
    p: float = probability(0.5)
    workers: int = non_negative(2)
    momentum: float = in_range(0.9, 0, 1, hi_open=True)
    size: list[float] = ordered_pair(24, 36, lo=1)
    words: list[int] = ordered_pair(2, 3, lo=1, hi=10)
    beta: float = field(default=0.5, metadata={"range": (0, None), "open": "low"})
    amp: str = one_of("auto", "bf16", "none")
    cap: int | None = None
    plain: float = 2.0


@pytest.mark.parametrize(
    ("override", "key", "allowed"),
    [
        ("lr=-1e-3", "lr", "(0, inf)"),
        ("lr=0", "lr", "(0, inf)"),
        ("p=1.5", "p", "[0, 1]"),
        ("p=-0.1", "p", "[0, 1]"),
        ("workers=-1", "workers", "[0, inf)"),
        ("momentum=1", "momentum", "[0, 1)"),
        ("beta=0", "beta", "(0, inf)"),
        ("size=[-10,-5]", "size", "[low, high] with low <= high, both in [1, inf)"),
        ("size=[36,24]", "size", "low <= high"),
        ("size=[24]", "size", "[low, high]"),
        ("size=[1,2,3]", "size", "[low, high]"),
        ("words=[2,11]", "words", "both in [1, 10]"),
    ],
)
def test_out_of_range_names_key_and_range(override, key, allowed):
    with pytest.raises(ConfigError) as e:
        load_config(Ranged, None, [override])
    msg = str(e.value)
    assert msg.startswith(f"{key}:") and "out of range" in msg and allowed in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("lr=nan", "lr", "finite"),
        ("lr=.nan", "lr", "finite"),
        ("lr=inf", "lr", "finite"),
        ("plain=-.inf", "plain", "finite"),
        ("size=[1,.inf]", r"size\[1\]", "finite"),
        ("lr=true", "lr", "expected a number, got a boolean"),
        ("workers=false", "workers", "expected an integer, got a boolean"),
        ("workers=2.5", "workers", "expected an integer"),
        ("lr=[1,2]", "lr", "expected a number, got a list"),
        ("lr={a: 1}", "lr", "expected a number, got a mapping"),
        ("lr=abc", "lr", "expected a number, got 'abc'"),
        ("lr=", "lr", "expected a number"),
        ("lr=~", "lr", "empty"),
        ("size=3", "size", "expected a list"),
        ("amp=fp8", "amp", "expected one of auto, bf16, none"),
    ],
)
def test_bad_numbers_named(override, key, expected):
    with pytest.raises(ConfigError, match=rf"^{key}: .*{expected}"):
        load_config(Ranged, None, [override])


def test_good_values_and_coercions():
    cfg = load_config(
        Ranged,
        None,
        ["lr=3e-4", "p=1", "workers=0", "size=[8, 8]", "words=1,10", "cap=5", "momentum=0"],
    )
    assert cfg.lr == 3e-4 and isinstance(cfg.lr, float)
    assert cfg.p == 1.0 and cfg.workers == 0 and cfg.size == [8.0, 8.0]
    assert cfg.words == [1, 10] and cfg.cap == 5 and cfg.momentum == 0.0
    assert load_config(Ranged, None, ["cap=~"]).cap is None


def test_ranges_checked_in_yaml_and_nested_sections(tmp_path):
    @dataclass
    class Inner:
        sigma: list[float] = ordered_pair(0.4, 1.2, lo=0)

    @dataclass
    class Outer:
        blur: Inner = field(default_factory=Inner)

    p = tmp_path / "c.yaml"
    p.write_text("blur:\n  sigma: [2.0, 1.0]\n")
    with pytest.raises(ConfigError, match=r"^blur\.sigma: \[2\.0, 1\.0\] is out of range"):
        load_config(Outer, p)
    with pytest.raises(ConfigError, match=r"^blur\.sigma"):
        from_dict(Outer, {"blur": {"sigma": [-1, 1]}})


def test_range_helpers_metadata():
    f = {x.name: x for x in fields(Ranged)}
    assert range_of(f["lr"]) == Range(0, None, lo_open=True)
    assert range_of(f["beta"]) == Range(0, None, lo_open=True)
    assert range_of(f["size"]).pair and range_of(f["plain"]) is None
    assert limits(0, 1)["range"].describe() == "[0, 1]"
    assert Ranged().size == [24, 36] and Ranged().size is not Ranged().size


# -- config files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\xff\xfe\xfa bad utf-8", "not UTF-8"),
        (b"a: [1, 2\nb: 3\n", "invalid YAML"),
        (b"- a\n- b\n", "must be a mapping of keys, got a list"),
        (b"just some text\n", "must be a mapping of keys, got a string"),
        (b"opt: 3\n", "opt: expected a mapping"),
    ],
)
def test_bad_config_file_one_line_naming_file(tmp_path, content, expected):
    p = tmp_path / "cfg.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError) as e:
        load_config(Cfg, p)
    msg = str(e.value)
    assert expected in msg and "\n" not in msg
    if "opt:" not in expected:
        assert str(p) in msg


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.yaml.*presets: .*tiny"):
        load_config(Cfg, tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(Cfg, tmp_path)


def test_empty_file_gives_defaults(tmp_path):
    p = tmp_path / "empty.yaml"
    p.write_text("# nothing\n")
    assert load_config(Cfg, p) == Cfg()


def test_base_chain_and_loop(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nopt:\n  steps: 1\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\nopt:\n  lr: 0.5\n")
    (tmp_path / "c.yaml").write_text("base: b.yaml\nname: c\n")
    cfg = load_config(Cfg, tmp_path / "c.yaml")
    assert (cfg.name, cfg.opt.steps, cfg.opt.lr) == ("c", 1, 0.5)
    (tmp_path / "x.yaml").write_text("base: y.yaml\n")
    (tmp_path / "y.yaml").write_text("base: x.yaml\n")
    with pytest.raises(ConfigError, match="loop"):
        load_config(Cfg, tmp_path / "x.yaml")


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(Cfg, None, ["opt.lr"])
    with pytest.raises(ConfigError, match="invalid value"):
        load_config(Cfg, None, ["langs=[en, fr"])
    with pytest.raises(ConfigError, match="empty key"):
        load_config(Cfg, None, ["opt..lr=1"])


# -- presets by name -----------------------------------------------------------------


@pytest.fixture
def presets(tmp_path, monkeypatch):
    root = tmp_path / "shipped"
    (root / "synth").mkdir(parents=True)
    (root / "tiny.yaml").write_text("name: tiny\n")
    (root / "crnn.yaml").write_text("name: crnn\n")
    (root / "crnn_tiny.yaml").write_text("base: crnn.yaml\nopt:\n  steps: 5\n")
    (root / "synth" / "default.yaml").write_text("name: synth\n")
    monkeypatch.setenv("STRTOOL_CONFIGS", str(root))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return root


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("tiny", "tiny.yaml"),
        ("tiny.yaml", "tiny.yaml"),
        ("configs/tiny.yaml", "tiny.yaml"),
        ("../strtool/configs/tiny.yaml", "tiny.yaml"),
        ("synth/default", "synth/default.yaml"),
        ("configs/synth/default.yaml", "synth/default.yaml"),
        ("default", "synth/default.yaml"),
    ],
)
def test_resolve_preset_by_name(presets, spec, name):
    assert resolve_config_path(spec) == presets / name


def test_existing_file_wins_over_preset(presets):
    Path("tiny.yaml").write_text("name: mine\n")
    assert resolve_config_path("tiny.yaml") == Path("tiny.yaml")
    assert load_config(Cfg, "tiny.yaml").name == "mine"
    assert load_config(Cfg, "tiny").name == "tiny"  # no file called 'tiny' here


def test_unknown_preset_lists_presets(presets):
    with pytest.raises(ConfigError) as e:
        resolve_config_path("tinyy")
    assert str(e.value) == (
        "config file not found: tinyy (shipped presets: crnn, crnn_tiny, tiny, synth/default)"
    )


def test_preset_with_base_loads(presets):
    cfg = load_config(Cfg, "crnn_tiny")
    assert cfg.name == "crnn" and cfg.opt.steps == 5


def test_shipped_presets_are_found():
    from strtool.paths import configs_dir

    names = list_presets()
    assert {"tiny", "crnn", "svtr", "synth/default"} <= set(names)
    for n in names:
        assert resolve_config_path(n).parent.resolve().is_relative_to(configs_dir().resolve())


def test_range_items_integers_and_nan() -> None:
    """`list_of`: every item of a non-empty list in the range (whole numbers with
    `integer`); NaN is outside every range, also one without bounds."""
    words = Range(1, 12, items=True, integer=True)
    words.check([2, 2, 3], "text.line_words")
    for bad in ([], [0, 2], [2, 13], [2.5], 3):
        with pytest.raises(ConfigError, match=r"text\.line_words: .* allowed: a non-empty list"):
            words.check(bad, "text.line_words")
    with pytest.raises(ConfigError, match="^x: nan is not a finite number"):
        Range().check(float("nan"), "x")
    with pytest.raises(ConfigError, match="^x: .* holds an item that is not a finite number"):
        Range(0, 1, pair=True).check([float("nan"), 0.5], "x")
    assert not Range().contains(float("inf")) and not Range().contains(True)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"lr": True}, r"^lr: True is not a finite number"),
        ({"lr": float("inf")}, r"^lr: inf is not a finite number"),
        ({"plain": 1.0, "p": float("nan")}, r"^p: nan is not a finite number"),
        ({"lr": "1e-3"}, r"^lr: '1e-3' is not a finite number"),
        ({"size": [24, float("inf")]}, r"^size: \[24, inf\] holds an item that is not a finite"),
        ({"words": [False, 3]}, r"^words: \[False, 3\] holds an item"),
    ],
)
def test_configs_built_in_code_refuse_booleans_and_inf(kw, expected):
    """A config built in code skips the loader's type checks; its ranges refuse what the
    loader would (the synth config checks itself when built)."""
    with pytest.raises(ConfigError, match=expected):
        check_ranges(Ranged(**kw))
    check_ranges(Ranged(lr=np.float32(0.1), workers=np.int64(3)))  # numpy numbers are numbers


def test_synth_config_built_in_code_refuses_booleans_and_inf():
    from strtool.synth.config import AugmentConfig, RenderConfig, SynthConfig

    with pytest.raises(ConfigError, match=r"^render\.font_size: \[24, inf\] holds an item"):
        SynthConfig(render=RenderConfig(font_size=[24, float("inf")]))
    aug = AugmentConfig()
    aug.blur.prob = True
    with pytest.raises(ConfigError, match=r"^augment\.blur\.prob: True is not a finite number"):
        SynthConfig(augment=aug)
