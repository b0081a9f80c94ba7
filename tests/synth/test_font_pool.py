"""The shipped font pool: styles beyond Regular/Bold, the training / held-out split
(no family on both sides), `--fonts` role spellings, and the size budget."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from strtool.errors import InputError
from strtool.paths import REPO_ROOT, fonts_dir
from strtool.synth.config import SynthConfig
from strtool.synth.fonts import FontFace, load_manifest, resolve_font_specs, shipped_fonts
from strtool.synth.words import prepare_words
from strtool.text.langs import GROUPS

ITALIC_WORDS = ("italic", "oblique", "slanted")


def _entry_of(face: FontFace) -> dict:
    rel = str(face.path.relative_to(fonts_dir()))
    return next(e for e in load_manifest() if e["file"] == rel)


def _family_keys(faces: list[FontFace]) -> set[str]:
    """Every name a face's design goes by: shipped, original, and as FONTS.md lists it."""
    out: set[str] = set()
    for f in faces:
        e = _entry_of(f)
        out |= {e["family"], e["original_family"], e["allowed_family"]}
    return {k.lower() for k in out}


def test_default_pool_is_training_only_and_shares_no_family_with_heldout() -> None:
    train, held = shipped_fonts(), shipped_fonts(role="heldout")
    assert train and held
    assert all(f.role == "train" for f in train) and all(f.role == "heldout" for f in held)
    assert shipped_fonts(role="train") == train
    assert len(shipped_fonts(role="all")) == len(load_manifest()) == len(train) + len(held)
    assert not _family_keys(train) & _family_keys(held)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_group_has_training_and_heldout_faces(group: str) -> None:
    assert shipped_fonts([group])
    assert shipped_fonts([group], role="heldout")
    assert not {f.path for f in shipped_fonts([group])} & {
        f.path for f in shipped_fonts([group], role="heldout")
    }


def test_styles_beyond_regular_and_bold() -> None:
    lat = shipped_fonts(["LAT"])
    styles = [f.style.lower() for f in lat]
    italic = [s for s in styles if any(w in s for w in ITALIC_WORDS)]
    light = [s for s in styles if any(w in s for w in ("thin", "light", "hairline"))]
    heavy = [s for s in styles if any(w in s for w in ("black", "heavy", "extrabold"))]
    narrow = [f for f in lat if "cond" in f.style.lower() or "narrow" in f.family.lower()
              or "cond" in f.family.lower()]  # fmt: skip
    assert len(lat) >= 150 and len({f.family for f in lat}) >= 40
    assert len(italic) >= 40 and len(light) >= 20 and len(heavy) >= 10 and len(narrow) >= 10
    held = shipped_fonts(["LAT"], role="heldout")
    assert any(any(w in f.style.lower() for w in ITALIC_WORDS) for f in held)
    for group in ("ARA", "HIN", "BEN"):  # weights of the Noto families
        assert len({f.style for f in shipped_fonts([group])}) >= 6, group


def test_manifest_roles_match_the_source_table() -> None:
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    try:
        from font_sources import HELDOUT
    finally:
        sys.path.pop(0)
    shipped: dict[str, set[str]] = {}
    for e in load_manifest():
        assert e["role"] in ("train", "heldout") and e["allowed_family"], e["file"]
        if e["role"] == "heldout":
            for g in e["scripts"]:
                shipped.setdefault(g, set()).add(e["allowed_family"])
    assert shipped == {g: set(names) for g, names in HELDOUT.items()}


def test_shipped_folder_within_its_size_budget() -> None:
    total = sum(p.stat().st_size for p in fonts_dir().rglob("*") if p.is_file())
    assert total <= 46 * 10**6


# ----------------------------------------------------------------- --fonts spellings
def _pool_folder(tmp_path: Path) -> Path:
    """A pool-like folder with a manifest: one training and one held-out face."""
    root = tmp_path / "pool"
    src = {e["file"]: e for e in load_manifest()}
    train = next(e for e in src.values() if e["role"] == "train" and e["scripts"] == ["LAT"])
    held = next(e for e in src.values() if e["role"] == "heldout" and e["scripts"] == ["LAT"])
    for e in (train, held):
        (root / e["file"]).parent.mkdir(parents=True, exist_ok=True)
        (root / e["file"]).write_bytes((fonts_dir() / e["file"]).read_bytes())
    (root / "manifest.json").write_text(json.dumps({"fonts": [train, held]}), encoding="utf-8")
    return root


def test_font_specs_roles_and_manifest_folders(tmp_path: Path) -> None:
    held = resolve_font_specs(["heldout"], ["LAT"])
    assert held == shipped_fonts(["LAT"], role="heldout")
    assert resolve_font_specs(["train"], ["ARA"]) == shipped_fonts(["ARA"])
    both = resolve_font_specs(["all"], ["KOR"])
    assert len(both) == len(shipped_fonts(["KOR"])) + len(shipped_fonts(["KOR"], role="heldout"))
    pool = _pool_folder(tmp_path)
    assert [f.role for f in resolve_font_specs([pool], ["LAT"])] == ["train"]
    assert [f.role for f in resolve_font_specs([f"heldout:{pool}"], ["LAT"])] == ["heldout"]
    assert len(resolve_font_specs([f"all:{pool}"], ["LAT"])) == 2
    assert resolve_font_specs([pool], ["ARA"]) == []  # no face of that group
    plain = tmp_path / "plain"
    plain.mkdir()
    one = shipped_fonts(["LAT"])[0].path
    (plain / one.name).write_bytes(one.read_bytes())
    assert len(resolve_font_specs([plain], None)) == 1  # no manifest: every face
    with pytest.raises(InputError, match="manifest"):
        resolve_font_specs([f"heldout:{plain}"], ["LAT"])
    with pytest.raises(InputError, match="heldout"):
        resolve_font_specs([f"heldout:{pool}"], ["ARA"])


def test_words_with_heldout_fonts_use_only_heldout_faces() -> None:
    _, meta = prepare_words("en", SynthConfig(), ["heldout"])
    held = {f.label for f in shipped_fonts(["LAT"], role="heldout")}
    assert set(meta["fonts"]) == held
    _, meta = prepare_words("en", SynthConfig())
    assert not set(meta["fonts"]) & held
