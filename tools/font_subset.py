"""Subsetting, renaming and shaping verification used by `build_fonts.py`."""

from __future__ import annotations

import re
from pathlib import Path

import uharfbuzz as hb
from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

#: OpenType name IDs that carry the family name (replaced when renaming).
_FAMILY_IDS = (1, 3, 4, 6, 16, 18, 21)


def open_source(path: str) -> TTFont:
    """Open `file.ttf` or one face `file.ttc#N` (fully loaded, detached)."""
    if "#" in path:
        file, idx = path.rsplit("#", 1)
        return TTCollection(file).fonts[int(idx)]
    return TTFont(path)


def names(font: TTFont) -> tuple[str, str, str]:
    """(family, style, PostScript name) from the name table."""
    n = font["name"]
    fam = str(n.getDebugName(16) or n.getDebugName(1) or "")
    sty = str(n.getDebugName(17) or n.getDebugName(2) or "Regular")
    ps = str(n.getDebugName(6) or re.sub(r"\s+", "", f"{fam}-{sty}"))
    return fam, sty, ps


def reserved_names(font: TTFont, licence_text: str) -> set[str]:
    """Names a licence reserves ("with Reserved Font Name(s) "X" and "Y"") found in
    the font's copyright/licence name records and the package copyright file."""
    sources = [str(font["name"].getDebugName(i) or "") for i in (0, 13)] + [licence_text]
    found: set[str] = set()
    for text in sources:
        for m in re.finditer(r"Reserved Font Names?\s+(.{1,120}?)(?:[.;\n]|$)", text):
            chunk = m.group(1)
            if chunk.lower().startswith(("refers", "for this", "unless", "(s)")):
                continue
            quoted = re.findall(r"[\"“']([^\"”']+)[\"”']", chunk)
            for q in quoted or [chunk.split(",")[0]]:
                q = q.strip().strip('"').strip()
                if q and len(q) < 40:
                    found.add(q)
    return found


def rename(font: TTFont, family: str, style: str) -> str:
    """Replace the family name in every family-bearing name record (and in CFF),
    return the new PostScript name. Copyright/licence records are kept as they are."""
    ps = (
        re.sub(r"[^A-Za-z0-9-]", "", family.replace(" ", ""))
        + "-"
        + re.sub(r"[^A-Za-z0-9]", "", style)
    )
    full = family if style.lower() == "regular" else f"{family} {style}"
    table = font["name"]
    values = {1: family, 16: family, 21: family, 4: full, 6: ps, 18: full, 3: f"strtool:{ps}"}
    for rec in list(table.names):
        if rec.nameID in _FAMILY_IDS:
            table.removeNames(nameID=rec.nameID)
    for nid, val in values.items():
        if nid in (16, 18, 21):
            continue
        table.setName(val, nid, 3, 1, 0x409)
        table.setName(val, nid, 1, 0, 0)
    table.setName(style, 2, 3, 1, 0x409)
    table.setName(style, 2, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        top = cff.topDictIndex[0]
        cff.fontNames = [ps]
        for attr, val in (("FullName", full), ("FamilyName", family)):
            if hasattr(top, attr):
                setattr(top, attr, val)
    return ps


def subset_font(font: TTFont, unicodes: set[int]) -> None:
    """Subset in place to `unicodes`, keeping every layout feature (GSUB/GPOS: Arabic
    joining, Indic conjuncts), the glyphs reachable through GSUB closure, a real
    .notdef outline and all name records. Hinting is dropped (rendered for OCR)."""
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.layout_scripts = ["*"]
    opts.layout_closure = True
    opts.notdef_outline = True
    opts.notdef_glyph = True
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.name_legacy = True
    opts.glyph_names = False
    opts.hinting = False
    opts.legacy_kern = True
    opts.drop_tables = [*opts.drop_tables, "DSIG"]
    sub = subset.Subsetter(options=opts)
    sub.populate(unicodes=sorted(unicodes))
    sub.subset(font)


# ---------------------------------------------------------------- shaping verification
#: Words whose shaping proves the complex-script engine works on a font:
#: (text, code point whose glyph must not be visible, i.e. a virama/halant).
CONJUNCTS = {
    "HIN": [
        ("\u0915\u094d\u0937", "\u094d"),
        ("\u092a\u094d\u0930", "\u094d"),
        ("\u0926\u094d\u0935", "\u094d"),
        ("\u0936\u094d\u0930\u0940", "\u094d"),
    ],
    "BEN": [
        ("\u0995\u09cd\u09b7", "\u09cd"),
        ("\u0995\u09cd\u09a4", "\u09cd"),
        ("\u09aa\u09cd\u09b0", "\u09cd"),
    ],
}
WORDS = {
    "HIN": ["हिन्दी", "किताब", "स्कूल", "ट्रेन", "कृष्ण", "र्म"],
    "BEN": ["বাংলা", "কি", "কৌশল", "রাষ্ট্র", "ক্ষমা", "র্ক"],
    "ARA": ["سلام", "العربية", "مستشفى", "لا", "بَ"],
}


def _shape(font: hb.Font, text: str) -> list[int]:
    buf = hb.Buffer()
    buf.add_codepoints([ord(c) for c in text])
    buf.guess_segment_properties()
    hb.shape(font, buf, {})
    return [g.codepoint for g in buf.glyph_infos]


def verify_shaping(path: Path, group: str) -> list[str]:
    """Problems found when shaping test words of `group` with the font at `path`
    (empty list = passes): .notdef, dotted circles, a visible virama inside a
    conjunct, or Arabic letters that do not join."""
    face = hb.Face(hb.Blob.from_file_path(str(path)))
    font = hb.Font(face)
    dotted = font.get_nominal_glyph(0x25CC)
    problems: list[str] = []
    for word in WORDS.get(group, []):
        gids = _shape(font, word)
        if 0 in gids:
            problems.append(f"{word}: .notdef")
        if dotted is not None and dotted in gids:
            problems.append(f"{word}: dotted circle")
    for word, virama in CONJUNCTS.get(group, []):
        gids = _shape(font, word)
        vg = font.get_nominal_glyph(ord(virama))
        if vg in gids or len(gids) >= len(word):
            problems.append(f"{word}: no conjunct (glyphs {gids})")
    if group == "ARA":
        word = "سلام"
        joined = _shape(font, word)
        isolated = [g for ch in word for g in _shape(font, ch)]
        if sorted(joined) == sorted(isolated):
            problems.append(f"{word}: letters do not join")
    return problems
