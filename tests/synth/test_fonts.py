"""Font discovery, the HarfBuzz coverage checker, the shipped font set and the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fontTools import subset
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont
from typer.testing import CliRunner

from strtool.cli import app
from strtool.errors import FontError, InputError
from strtool.paths import fonts_dir
from strtool.synth.coverage import check_entries
from strtool.synth.fonts import (
    FontChecker,
    FontFace,
    discover_fonts,
    load_manifest,
    shipped_fonts,
)
from strtool.text.carriers import carrier_for, shaping_text

runner = CliRunner()
KSSA, PRA = "\u0915\u094d\u0937", "\u092a\u094d\u0930"  # क्ष प्र
AA_MATRA = "\u093e"  # ा
SALAM = "\u0633\u0644\u0627\u0645"  # سلام


def _first(group: str, family_part: str = "") -> FontFace:
    for f in shipped_fonts([group]):
        if family_part in f.family:
            return f
    raise AssertionError(f"no shipped {group} font with '{family_part}'")


def _checker(group: str, family_part: str = "") -> FontChecker:
    return FontChecker(_first(group, family_part))


# ----------------------------------------------------------------- a synthetic font
def _box(pen: TTGlyphPen, x0: int, y0: int, x1: int, y1: int) -> None:
    pen.moveTo((x0, y0))
    pen.lineTo((x0, y1))
    pen.lineTo((x1, y1))
    pen.lineTo((x1, y0))
    pen.closePath()


def make_font(path: Path) -> Path:
    """A tiny TrueType font: 'b' is a box, 'a' has an empty outline, 'x' maps to
    glyph 0 (HarfBuzz: not in the cmap), 'c' is a box that GSUB turns into .notdef,
    space is empty (as it should be)."""
    order = [".notdef", "space", "a", "b", "c"]
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        if name in (".notdef", "b", "c"):
            _box(pen, 50, 0, 450, 700)
        glyphs[name] = pen.glyph()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(order)
    cmap = {0x20: "space", ord("a"): "a", ord("b"): "b", ord("c"): "c", ord("x"): ".notdef"}
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (500, 50) for n in order})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Tiny Test", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.addOpenTypeFeatures("feature ccmp { sub c by .notdef; } ccmp;")
    fb.save(str(path))
    return path


# ----------------------------------------------------------------------- the checker
def test_latin_font_never_claims_devanagari_or_hangul() -> None:
    chk = _checker("LAT", "Noto Sans")
    assert chk.supports("Hello")
    for text in ("\u0915", KSSA, "\uac00", "\ud55c\uad6d"):
        assert not chk.supports(text)
        assert chk.why_not(text) == "not-in-cmap"
    assert chk.coverage(["a", "\u0915", "\uac00", "\u00e9"]) == {"a", "\u00e9"}


def test_notdef_and_empty_glyph_reasons(tmp_path: Path) -> None:
    chk = FontChecker(FontFace(make_font(tmp_path / "tiny.ttf")))
    assert chk.supports("b") and chk.supports("b b")
    assert chk.why_not("a") == "empty-glyph"  # visible char with no outline
    assert chk.why_not("c") == "notdef"  # shaping produced glyph 0
    assert chk.why_not("x") == "not-in-cmap"  # cmap points at glyph 0
    assert chk.why_not("bc") == "notdef"
    assert chk.why_not("d") == "not-in-cmap"
    assert chk.supports(" ")  # whitespace has nothing to draw


def test_lone_matra_gets_dotted_circle_but_not_on_its_carrier() -> None:
    chk = _checker("HIN", "Noto Sans Devanagari")
    assert chk.why_not(AA_MATRA) == "dotted-circle"
    assert chk.supports("\u0915" + AA_MATRA)
    assert shaping_text(AA_MATRA) == "\u0915" + AA_MATRA
    assert chk.supports(shaping_text(AA_MATRA))


def test_dotted_circle_detected_in_font_without_u25cc(tmp_path: Path) -> None:
    src = _first("HIN", "Noto Sans Devanagari").path
    font = TTFont(str(src))
    cps = set(font.getBestCmap()) - {0x25CC}
    opts = subset.Options()
    opts.layout_features = ["*"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=cps)
    sub.subset(font)
    out = tmp_path / "no-dotted.ttf"
    font.save(str(out))
    chk = FontChecker(FontFace(out))
    assert not chk.has_glyph("\u25cc")
    assert chk.why_not(AA_MATRA) == "dotted-circle"
    assert chk.supports("\u0915" + AA_MATRA)


def test_carriers_per_script() -> None:
    assert carrier_for("\u093e") == "\u0915"  # Devanagari matra on क
    assert carrier_for("\u09be") == "\u0995"  # Bengali matra on ক
    assert carrier_for("\u064e") == "\u0628"  # fatha (Inherited) on ب
    assert carrier_for("\u0301") == "a"
    assert carrier_for("\u0301", "Arabic") == "\u0628"  # hint from the charset
    assert shaping_text("\u0915") == "\u0915"


def test_arabic_word_joins_in_every_shipped_arabic_font() -> None:
    for face in shipped_fonts(["ARA"]):
        chk = FontChecker(face)
        joined = [g for g, _ in chk.shape(SALAM)]
        isolated = [g for ch in SALAM for g, _ in chk.shape(ch)]
        assert joined != isolated and sorted(joined) != sorted(isolated), face.name
        assert chk.supports(SALAM), face.name


@pytest.mark.parametrize("conjunct", [KSSA, PRA])
def test_devanagari_conjuncts_in_every_shipped_devanagari_font(conjunct: str) -> None:
    faces = shipped_fonts(["HIN"])
    assert len(faces) >= 2
    for face in faces:
        chk = FontChecker(face)
        glyphs = [g for g, _ in chk.shape(conjunct)]
        halant = chk.shape("\u094d")[0][0]
        assert halant not in glyphs, face.name  # no visible virama
        assert len(glyphs) < len(conjunct), face.name  # one conjunct (or half + full)
        assert chk.supports(conjunct), face.name


def test_charset_check_is_cached_and_consistent() -> None:
    chk = _checker("CHI", "CJK")
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 500)]
    row = check_entries(chk, han, "zh", "Han")
    again = check_entries(chk, han, "zh", "Han")
    assert row == again and row.total == 500
    assert {m.char for m in row.missing} == set(han) - chk.coverage(han)


# ------------------------------------------------------------------------- discovery
def test_discover_folder_and_collection(tmp_path: Path) -> None:
    a = _first("LAT", "Noto Sans").path
    b = _first("LAT", "Noto Serif").path
    coll = TTCollection()
    coll.fonts = [TTFont(str(a)), TTFont(str(b))]
    coll.save(str(tmp_path / "pair.ttc"))
    (tmp_path / "notes.txt").write_text("not a font")
    faces = discover_fonts([tmp_path])
    assert [(f.label, f.index) for f in faces] == [("pair.ttc#0", 0), ("pair.ttc#1", 1)]
    assert faces[1].family.startswith("Noto Serif")
    assert FontChecker(faces[1]).supports("Serif")


def test_discover_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such font"):
        discover_fonts([tmp_path / "missing.ttf"])
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(InputError, match="not a font file"):
        discover_fonts([tmp_path / "x.txt"])
    with pytest.raises(InputError, match="no font files"):
        discover_fonts([tmp_path])
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00" + b"garbage" * 20)
    with pytest.raises(FontError, match="broken.ttf"):
        discover_fonts([bad])


# ------------------------------------------------------------------ shipped font set
def test_manifest_hashes_licences_and_groups() -> None:
    entries = load_manifest()
    root = fonts_dir()
    families: dict[str, set[str]] = {}
    for e in entries:
        path = root / e["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == e["sha256"], e["file"]
        assert (root / e["licence_file"]).is_file(), e["licence_file"]
        assert e["licence"] in {
            "OFL-1.1",
            "Apache-2.0",
            "Bitstream-Vera",
            "BSD-3-Clause",
            "ParaType-FFL-1.3",
        }
        for g in e["scripts"]:
            families.setdefault(g, set()).add(e["family"])
    for group in ("ARA", "BEN", "CHI", "HIN", "JPN", "KOR", "LAT"):
        assert len(families.get(group, ())) >= 2, group
    assert len(families["LAT"]) >= 10


def test_reserved_names_are_gone_from_renamed_fonts() -> None:
    for e in load_manifest():
        if not e["rfn_renamed"]:
            assert not e["reserved_names"], e["file"]
            continue
        name = TTFont(str(fonts_dir() / e["file"]), lazy=True)["name"]
        for nid in (1, 4, 6, 16):
            value = str(name.getDebugName(nid) or "")
            for reserved in e["reserved_names"] + [e["original_family"]]:
                assert reserved.lower() not in value.lower(), (e["file"], nid, value)


# ------------------------------------------------------------------------------ CLI
def _charset_file(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.json"
    data = {"letters": ["a", "\u00e9", "\u0915", "\uac00"], "diacritics": ["\u093e"]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_check_json_and_missing(tmp_path: Path) -> None:
    font = _first("HIN", "Noto Sans Devanagari").path
    miss = tmp_path / "out" / "missing.tsv"
    args = ["fonts", "check", str(font), "--charset", str(_charset_file(tmp_path))]
    res = runner.invoke(app, [*args, "--json", "--quiet", "--missing", str(miss)])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    assert len(rows) == 1 and rows[0]["total"] == 5
    lines = miss.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "font\tlang\tchar\tcodepoints\treason"
    missed = {ln.split("\t")[2]: ln.split("\t")[4] for ln in lines[1:]}
    assert "\u0915" not in missed and "\u093e" not in missed  # matra checked on क
    assert missed["\uac00"] == "not-in-cmap" and "U+AC00" in miss.read_text()
    assert rows[0]["covered"] == 5 - len(missed)


def test_cli_list_json() -> None:
    res = runner.invoke(app, ["fonts", "list", "--json"])
    assert res.exit_code == 0, res.output
    fonts = json.loads(res.stdout)["fonts"]
    assert len(fonts) == len(load_manifest())
    res = runner.invoke(app, ["fonts", "list"])
    assert res.exit_code == 0 and "shipped fonts" in res.stdout


def test_cli_bad_inputs(tmp_path: Path) -> None:
    cs = _charset_file(tmp_path)
    res = runner.invoke(app, ["fonts", "check", str(tmp_path / "nope.ttf"), "--charset", str(cs)])
    assert res.exit_code == 1 and "nope.ttf" in res.output
    assert "Traceback" not in res.output
    bad = tmp_path / "corrupt.otf"
    bad.write_bytes(b"OTTO" + b"\xff" * 64)
    res = runner.invoke(app, ["fonts", "check", str(bad), "--charset", str(cs)])
    assert res.exit_code == 1 and "corrupt.otf" in res.output
    font = str(_first("LAT").path)
    res = runner.invoke(app, ["fonts", "check", font, "--charset", str(cs), "--lang", "en"])
    assert res.exit_code == 1
    res = runner.invoke(app, ["fonts", "check", font, "--lang", "xx"])
    assert res.exit_code == 1 and "xx" in res.output


def test_cli_check_by_language_and_list_recompute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    charsets = tmp_path / "charsets"
    charsets.mkdir()
    hi = {
        "lang": "hi",
        "letters": ["\u0915", "\u092a"],
        "diacritics": ["\u093e", "\u094d"],
        "digits": ["\u0967"],
        "clusters": [KSSA, PRA],
    }
    (charsets / "hi.json").write_text(json.dumps(hi, ensure_ascii=False), encoding="utf-8")
    en = {"lang": "en", "letters": ["a", "b"], "punctuation": ["!"]}
    (charsets / "en.json").write_text(json.dumps(en), encoding="utf-8")
    monkeypatch.setenv("STRTOOL_CHARSETS", str(charsets))
    deva = str(_first("HIN", "Noto Sans Devanagari").path)
    res = runner.invoke(app, ["fonts", "check", deva, "--lang", "hi,en", "--json", "-q"])
    assert res.exit_code == 0, res.output
    rows = {r["lang"]: r for r in json.loads(res.stdout)["rows"]}
    assert rows["hi"]["covered"] == rows["hi"]["total"] == 7  # conjuncts shaped whole
    assert rows["en"]["covered"] == 1  # "!" (shipped subsets keep ASCII punctuation)
    assert rows["en"]["missing_by_reason"] == {"not-in-cmap": 2}
    res = runner.invoke(app, ["fonts", "list", "--recompute", "--json", "-q"])
    assert res.exit_code == 1 and "charset" in res.output  # no ar/zh/... in this folder
    for lang in ("fr", "de", "it"):
        (charsets / f"{lang}.json").write_text(json.dumps(en), encoding="utf-8")
    shipped = fonts_dir()
    lat_only = tmp_path / "fonts"
    lat_only.mkdir()
    manifest = {"fonts": [e for e in load_manifest() if e["scripts"] == ["LAT"]][:2]}
    for e in manifest["fonts"]:
        (lat_only / e["file"]).parent.mkdir(parents=True, exist_ok=True)
        (lat_only / e["file"]).write_bytes((shipped / e["file"]).read_bytes())
    (lat_only / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("STRTOOL_FONTS", str(lat_only))
    res = runner.invoke(app, ["fonts", "list", "--recompute", "--json", "-q"])
    assert res.exit_code == 0, res.output
    fonts = json.loads(res.stdout)["fonts"]
    assert len(fonts) == 2
    cov = fonts[0]["coverage"]["en"]
    assert (cov["covered"], cov["total"]) == (3, 3)
    assert cov["categories"]["letters"] == {"covered": 2, "total": 2, "fraction": 1.0}
    assert cov["categories"]["punctuation"] == {"covered": 1, "total": 1, "fraction": 1.0}


def test_cli_check_per_category_latin_font_reads_no_hindi() -> None:
    """A Latin-only font covers Hindi's shared digits and punctuation, not its letters:
    the total alone (about 30 %) would hide that; the letters column shows 0."""
    font = str(_first("LAT", "Noto Sans").path)
    res = runner.invoke(app, ["fonts", "check", font, "--lang", "hi,en", "--json", "-q"])
    assert res.exit_code == 0, res.output
    rows = {r["lang"]: r for r in json.loads(res.stdout)["rows"]}
    hi = rows["hi"]
    cats = hi["categories"]
    assert cats["letters"]["covered"] == 0 and cats["letters"]["fraction"] == 0.0
    assert cats["diacritics"]["covered"] == 0 and cats["clusters"]["covered"] == 0
    assert cats["punctuation"]["fraction"] > 0.5  # what made the total look fine
    assert 0 < hi["fraction"] < 0.5 and hi["fraction"] == round(hi["covered"] / hi["total"], 4)
    assert sum(c["total"] for c in cats.values()) == hi["total"]
    assert sum(c["covered"] for c in cats.values()) == hi["covered"]
    assert rows["en"]["categories"]["letters"]["fraction"] == 1.0
    assert "diacritics" not in rows["en"]["categories"]  # en has no marks
    res = runner.invoke(app, ["fonts", "check", font, "--lang", "hi", "-q"],
                        env={"COLUMNS": "200"})  # fmt: skip
    assert res.exit_code == 0, res.output
    head = next(ln for ln in res.stdout.splitlines() if "letters" in ln)
    for heading in ("letters %", "marks %", "digits %", "punct %", "clusters %", "all %"):
        assert heading in head, head
    row = next(ln for ln in res.stdout.splitlines() if "Noto Sans" in ln)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[3] == "0.0"  # letters
    assert cells[-1] == f"{100 * hi['fraction']:.1f}"  # all, in % (JSON: the fraction)


def test_text_charset_categories_from_unicode(tmp_path: Path) -> None:
    path = tmp_path / "chars.txt"
    path.write_text("a\n\u0301\n7\n!\n+\n" + KSSA + "\n", encoding="utf-8")
    font = str(_first("LAT", "Noto Sans").path)
    res = runner.invoke(app, ["fonts", "check", font, "--charset", str(path), "--json", "-q"])
    assert res.exit_code == 0, res.output
    cats = json.loads(res.stdout)["rows"][0]["categories"]
    assert {k: v["total"] for k, v in cats.items()} == {
        "letters": 1, "diacritics": 1, "digits": 1, "punctuation": 1, "common": 1, "clusters": 1
    }  # fmt: skip
    assert cats["clusters"]["covered"] == 0 and cats["letters"]["covered"] == 1


def test_cli_list_recompute_pairs_every_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest with held-out faces between training ones: each entry is rechecked
    with its own file (`shipped_fonts()` alone gives training faces only)."""
    shipped = fonts_dir()
    lat = [e for e in load_manifest() if e["scripts"] == ["LAT"]]
    held = [e for e in lat if e.get("role") == "heldout"][:1]
    train = [e for e in lat if e.get("role", "train") == "train"][:2]
    assert held and len(train) == 2
    manifest = {"fonts": [train[0], held[0], train[1]]}
    pool = tmp_path / "fonts"
    for e in manifest["fonts"]:
        (pool / e["file"]).parent.mkdir(parents=True, exist_ok=True)
        (pool / e["file"]).write_bytes((shipped / e["file"]).read_bytes())
    (pool / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("STRTOOL_FONTS", str(pool))
    res = runner.invoke(app, ["fonts", "list", "--recompute", "--json", "-q"])
    assert res.exit_code == 0, res.output
    fonts = json.loads(res.stdout)["fonts"]
    assert [f["file"] for f in fonts] == [e["file"] for e in manifest["fonts"]]
    assert [f["role"] for f in fonts] == ["train", "heldout", "train"]
    for f in fonts:
        assert set(f["coverage"]) == set(f["langs"]) and f["coverage"]["en"]["total"] > 0
    res = runner.invoke(app, ["fonts", "list", "-q"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "role" in res.stdout and "heldout" in res.stdout
