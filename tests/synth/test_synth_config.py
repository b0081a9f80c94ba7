"""Synth configuration: the shipped default.yaml equals the code defaults, and every
numeric setting is range-checked with an error naming its key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from strtool.cli import app
from strtool.config import CHOICES, from_dict, load_config, range_of, to_dict
from strtool.errors import ConfigError
from strtool.paths import configs_dir
from strtool.synth.config import SynthConfig, validate

runner = CliRunner()


def test_default_yaml_equals_code_defaults() -> None:
    data = yaml.safe_load((configs_dir() / "synth" / "default.yaml").read_text("utf-8"))
    assert data == to_dict(SynthConfig())  # every key listed, every value the default
    assert from_dict(SynthConfig, data) == SynthConfig()


def _leaf_fields(obj: Any, prefix: str = "") -> list[tuple[str, dataclasses.Field[Any]]]:
    out: list[tuple[str, dataclasses.Field[Any]]] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out += _leaf_fields(value, f"{prefix}{f.name}.")
        else:
            out.append((f"{prefix}{f.name}", f))
    return out


def test_every_setting_declares_what_it_allows() -> None:
    """Each leaf of the synth config has a range or choices in its field metadata, so
    no setting skips validation (a new one without them fails here)."""
    validate(SynthConfig())
    leaves = _leaf_fields(SynthConfig())
    assert len(leaves) >= 80  # text 9, render 6, augment 42, line 6, page 17 today
    for key, f in leaves:
        assert range_of(f) is not None or CHOICES in f.metadata, key


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("render.font_size=[-10,-5]", "render.font_size"),
        ("render.font_size=[0,20]", "render.font_size"),
        ("render.font_size=[30,20]", "render.font_size"),
        ("render.font_size=[20]", "render.font_size"),
        ("augment.blur.prob=1.5", "augment.blur.prob"),
        ("augment.shear.prob=-0.1", "augment.shear.prob"),
        ("augment.shear.degrees=[10,60]", "augment.shear.degrees"),
        ("augment.jpeg.quality=[0,90]", "augment.jpeg.quality"),
        ("augment.low_res.scale=[0,0.5]", "augment.low_res.scale"),
        ("augment.downscale.factor=[0.5,2]", "augment.downscale.factor"),
        ("augment.stroke.width=[0.05,-0.05]", "augment.stroke.width"),
        ("augment.background.noise=-1", "augment.background.noise"),
        ("augment.colour.min_contrast=2", "augment.colour.min_contrast"),
        ("text.upper_prob=1.2", "text.upper_prob"),
        ("text.line_words=[]", "text.line_words"),
        ("text.line_words=[0,2]", "text.line_words"),
        ("text.top_words=0", "text.top_words"),
        ("render.max_width_ratio=0", "render.max_width_ratio"),
        ("render.image_format=gif", "render.image_format"),
        ("render.margin=[.nan,0.1]", "render.margin"),
    ],
)
def test_out_of_range_values_are_config_errors_naming_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(SynthConfig, None, [override])


def test_valid_edges_pass(tmp_path: Path) -> None:
    cfg = load_config(SynthConfig, None, ["augment.blur.prob=1", "augment.shear.prob=0",
                                          "augment.rotation.degrees=[0,0]"])  # fmt: skip
    assert cfg.augment.blur.prob == 1.0
    path = tmp_path / "c.yaml"
    path.write_text("render: {font_size: [-10, -5]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="render.font_size"):
        load_config(SynthConfig, path)


def test_cli_bad_range_exits_1_naming_the_key(tmp_path: Path) -> None:
    out = tmp_path / "o.lmdb"
    res = runner.invoke(app, ["synth", "words", "-o", str(out), "--lang", "en", "-n", "2",
                              "--set", "render.font_size=[-10,-5]", "-q"])  # fmt: skip
    assert res.exit_code == 1 and "render.font_size" in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_whole_number_settings_refuse_fractions_built_in_code() -> None:
    """`load_config` coerces types; a config built in code is checked by its ranges,
    which keep the integer settings whole."""
    from strtool.synth.corpus import TextConfig

    for key in ("top_words", "skip_words", "max_chars"):
        with pytest.raises(ConfigError, match=f"{key}: 2.5 is out of range"):
            SynthConfig(text=TextConfig(**{key: 2.5}))
