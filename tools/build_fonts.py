#!/usr/bin/env python
"""Rebuild the shipped fonts (`strtool/fonts/`) from installed Debian font packages, or
build the full pool of every allowed family and style into a folder of your choice.

    python tools/build_fonts.py --list-packages      # what to apt-get install
    python tools/build_fonts.py --install            # apt-get install them, then build
    python tools/build_fonts.py [--out DIR] [--only LAT,ARA]

    # the full pool (every installed style of every allowed family, ~800 faces):
    python tools/build_fonts.py --pool ~/strtool-fonts --install
    strtool synth words --fonts ~/strtool-fonts ...          # trains on its train faces

The shipped core set and the pool are listed in `tools/font_sources.py` (its `core`
and `pool` columns). Both folders hold a `manifest.json`; each entry has a `role`
(`train`, or `heldout` for the families kept out of training to measure accuracy on
unseen designs). `strtool synth --fonts DIR` on a folder with a manifest uses its
`train` faces; `--fonts heldout:DIR` its held-out ones.

For each source: open the face (one face of a .ttc),
subset it with fontTools to the charsets of its script groups (`charsets/<lang>.json`:
every category list plus `clusters`; plus ASCII digits/punctuation, U+25CC and
ZWJ/ZWNJ) keeping all layout features, rename it when its licence reserves its name,
verify Arabic/Indic shaping with HarfBuzz (fonts that fail are left out), check the
subset covers every charset entry the original covered, copy the Debian copyright
file (the licence text) beside it, and record it in `fonts/manifest.json`.

When a group's charset files are not there yet a documented fallback set of code points
is used (whole Unicode blocks; GB2312 level 1 Han; JIS level 1 kanji; KS X 1001
Hangul) and the manifest says so (`charset_source: fallback`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from font_sources import PACKAGES, POOL_PACKAGES, Source, core_sources, pool_sources  # noqa: E402
from font_subset import (  # noqa: E402
    names,
    open_source,
    rename,
    reserved_names,
    subset_font,
    verify_shaping,  # noqa: E402
)

from strtool.synth.coverage import check_entries, dedupe, shaping_text  # noqa: E402
from strtool.synth.fonts import FontChecker, FontFace  # noqa: E402
from strtool.text.langs import GROUPS, LANG_SCRIPT  # noqa: E402
from strtool.text.script import char_script  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CATEGORY_KEYS = ("letters", "diacritics", "digits", "punctuation", "common", "clusters")
ASCII_EXTRA = set(range(0x20, 0x7F))
COMPLEX_EXTRA = {0x25CC, 0x200C, 0x200D}


def _decode_rows(codec: str, rows: range, cols: range = range(0xA1, 0xFF)) -> set[int]:
    out: set[int] = set()
    for r in rows:
        for c in cols:
            try:
                out.update(ord(ch) for ch in bytes([r, c]).decode(codec))
            except UnicodeDecodeError:
                continue
    return out


def fallback_codepoints(group: str) -> set[int]:
    """Code points used for a group whose charset files are missing."""
    cjk_punct = set(range(0x3000, 0x3040)) | set(range(0xFF01, 0xFF5F))
    if group == "LAT":
        return (
            set(range(0x20, 0x7F))
            | set(range(0xA0, 0x180))
            | set(range(0x2010, 0x2028))
            | {0x20AC, 0x2039, 0x203A}
        )
    if group == "ARA":
        return set(range(0x0600, 0x0700)) - set(range(0x0600, 0x0606))
    if group == "HIN":
        return set(range(0x0900, 0x0980))
    if group == "BEN":
        return set(range(0x0980, 0x0A00))
    if group == "CHI":
        return _decode_rows("gb2312", range(0xB0, 0xD8)) | cjk_punct
    if group == "JPN":
        kana = set(range(0x3041, 0x3097)) | set(range(0x3099, 0x3100))
        return kana | _decode_rows("euc_jp", range(0xB0, 0xD0)) | cjk_punct
    if group == "KOR":
        return _decode_rows("euc_kr", range(0xB0, 0xC9)) | set(range(0x3131, 0x318F)) | cjk_punct
    raise ValueError(group)


def _assigned(cp: int) -> bool:
    return unicodedata.category(chr(cp)) != "Cn"


def group_entries(group: str, charsets: Path) -> tuple[dict[str, list[str]], str]:
    """Per language of the group: its charset entries; and the charset source."""
    out: dict[str, list[str]] = {}
    for lang in GROUPS[group]:
        f = charsets / f"{lang}.json"
        if not f.is_file():
            cps = sorted(c for c in fallback_codepoints(group) if _assigned(c))
            return {lang: [chr(c) for c in cps] for lang in GROUPS[group]}, "fallback"
        data = json.loads(f.read_text(encoding="utf-8"))
        src = data.get("categories", data)
        entries = [e for k in CATEGORY_KEYS for e in (src.get(k) or data.get(k) or [])]
        out[lang] = dedupe(entries)
    return out, "charsets"


def licence_of(font_text: str, copyright_text: str) -> str:
    """SPDX-like licence id from the font's licence record / the copyright file."""
    for text in (font_text, copyright_text):
        low = text.lower()
        if "paratype" in low and "free font" in low:
            return "ParaType-FFL-1.3"
        if "open font license" in low or "ofl" in low:
            return "OFL-1.1"
        if "apache license" in low or "apache-2" in low:
            return "Apache-2.0"
        if "bitstream vera" in low:
            return "Bitstream-Vera"
        if "bsd" in low:
            return "BSD-3-Clause"
    return "UNKNOWN"


def copy_licence(pkg: str, licence: str, folder: Path) -> Path:
    """Copy the package's copyright file (licence text) beside the font; append the
    full Apache text when the copyright file only points to common-licenses."""
    src = Path("/usr/share/doc") / pkg / "copyright"
    text = src.read_text(encoding="utf-8", errors="replace")
    common = Path("/usr/share/common-licenses/Apache-2.0")
    if licence == "Apache-2.0" and "common-licenses/Apache-2.0" in text and common.is_file():
        text += "\n\n" + "=" * 78 + "\nApache License 2.0 (full text)\n\n" + common.read_text()
    dst = folder / f"LICENSE-{pkg}.txt"
    dst.write_text(text, encoding="utf-8")
    return dst


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def renamed_family(family: str, src: Source) -> str:
    """The family name a subset carries: unchanged, or (when the licence reserves the
    name) the allowed family name inside it replaced by `src.rename`, so weights named
    in the family survive: "Quicksand Light" -> "StrSubset QS Light"."""
    if not src.rename:
        return family
    words = src.family.split()
    if words:
        pattern = r"\s*".join(re.escape(w) for w in words)
        new, n = re.subn(pattern, src.rename, family, count=1, flags=re.IGNORECASE)
        if n:
            return re.sub(r"\s+", " ", new).strip()
    return src.rename


def build_one(src: Source, out: Path, charsets: Path, taken: set[Path]) -> dict | None:
    """Subset, rename, verify and write one font; its manifest entry (None if it fails)."""
    font = open_source(src.path)
    family, style, _ps = names(font)
    copyright_text = (Path("/usr/share/doc") / src.package / "copyright").read_text(
        encoding="utf-8", errors="replace"
    )
    per_lang: dict[str, list[str]] = {}
    charset_source = "charsets"
    for g in src.groups:
        entries, how = group_entries(g, charsets)
        per_lang.update(entries)
        charset_source = how if how == "fallback" else charset_source
    cps = {ord(c) for entries in per_lang.values() for e in entries for c in e} | ASCII_EXTRA
    for lang, entries in per_lang.items():  # marks are checked (and drawn) on a carrier
        cps |= {ord(shaping_text(e, LANG_SCRIPT.get(lang))[0]) for e in entries}
    if set(src.groups) & {"ARA", "HIN", "BEN"}:
        cps |= COMPLEX_EXTRA
    reserved = reserved_names(font, copyright_text)
    new_family = renamed_family(family, src)
    if reserved and not src.rename:
        print(
            f"skip {src.path}: licence reserves {sorted(reserved)}; add a rename", file=sys.stderr
        )
        return None
    bad = [r for r in reserved if r.lower() in new_family.lower()]
    if bad:
        raise SystemExit(f"{src.path}: new name {new_family!r} contains reserved {bad}")
    subset_font(font, cps)
    ps = rename(font, new_family, style) if src.rename else names(font)[2]
    folder = out / _slug(src.rename or src.family or new_family)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".otf" if "CFF " in font else ".ttf"
    dst = folder / f"{ps}{ext}"
    if dst in taken:  # two files with the same names (e.g. Fantasque variants)
        dst = folder / f"{ps}-{_slug(Path(src.path.partition('#')[0]).stem)}{ext}"
    taken.add(dst)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=ext)
    os.close(fd)
    font.recalcTimestamp = False  # reproducible builds: keep the source's timestamps
    font.save(tmp)
    os.replace(tmp, dst)
    problems = [p for g in src.groups for p in verify_shaping(dst, g)]
    if problems:
        dst.unlink()
        print(f"skip {src.path}: shaping fails: {'; '.join(problems)}", file=sys.stderr)
        return None
    coverage = _compare_coverage(src, dst, per_lang)
    licence = licence_of(str(font["name"].getDebugName(13) or ""), copyright_text)
    lic = copy_licence(src.package, licence, folder)
    return {
        "family": new_family,
        "style": style,
        "role": src.role,
        "allowed_family": src.family,
        "file": str(dst.relative_to(out)),
        "index": 0,
        "package": src.package,
        "licence": licence,
        "licence_file": str(lic.relative_to(out)),
        "scripts": list(src.groups),
        "langs": list(per_lang),
        "design": src.design,
        "source": src.path.replace("/usr/share/fonts/", ""),
        "original_family": family,
        "rfn_renamed": bool(src.rename),
        "reserved_names": sorted(reserved),
        "charset_source": charset_source,
        "coverage": coverage,
        "bytes": dst.stat().st_size,
        "sha256": _sha256(dst),
    }


def _compare_coverage(src: Source, dst: Path, per_lang: dict[str, list[str]]) -> dict:
    """Coverage of each language by the subset; fail if subsetting lost an entry that
    the original face supported."""
    path, _, idx = src.path.partition("#")
    orig = FontChecker(FontFace(Path(path), int(idx or 0)))
    new = FontChecker(FontFace(dst, 0))
    out = {}
    for lang, entries in per_lang.items():
        hint = LANG_SCRIPT.get(lang)
        a = check_entries(orig, entries, lang, hint)
        b = check_entries(new, entries, lang, hint)
        lost = {m.char for m in b.missing} - {m.char for m in a.missing}
        if lost:
            raise SystemExit(f"{dst}: subsetting lost {sorted(lost)[:20]} for {lang}")
        # Script-specific entries (letters, marks, native digits) decide whether a font
        # is usable for a language; shared punctuation a font lacks only narrows the
        # texts the synthesiser will give it (it checks every text against the font).
        own = [e for e in entries if any(char_script(c) for c in e)]
        missing = {m.char for m in b.missing}
        own_covered = sum(1 for e in own if e not in missing)
        out[lang] = {
            "covered": b.covered,
            "total": b.total,
            "script_covered": own_covered,
            "script_total": len(own),
        }
    return out


def low_coverage(entry: dict, minimum: float) -> list[str]:
    """Languages whose script-specific entries a font covers below `minimum` (only judged
    on real charsets: the fallback blocks are much wider than any language needs)."""
    if entry["charset_source"] != "charsets":
        return []
    cov = entry["coverage"]
    return [
        k
        for k, v in cov.items()
        if v["script_total"] and v["script_covered"] / v["script_total"] < minimum
    ]


def remove_stale(out: Path, entries: list[dict]) -> None:
    """Delete font and licence files under `out` that no manifest entry references."""
    keep = {e["file"] for e in entries} | {e["licence_file"] for e in entries}
    for f in sorted(out.rglob("*")):
        if f.is_file() and f.name != "manifest.json" and str(f.relative_to(out)) not in keep:
            f.unlink()
            print(f"removed stale {f.relative_to(out)}", file=sys.stderr)
    for d in sorted((d for d in out.rglob("*") if d.is_dir()), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()


def _build_all(sources: list[Source], out: Path, charsets: Path, minimum: float) -> list[dict]:
    """Build each installed source into `out`; manifest entries of those that pass."""
    entries: list[dict] = []
    taken: set[Path] = set()
    for src in sources:
        if not Path(src.path.partition("#")[0]).is_file():
            print(f"skip {src.path}: not installed ({src.package})", file=sys.stderr)
            continue
        entry = build_one(src, out, charsets, taken)
        low = low_coverage(entry, minimum) if entry else []
        if entry and low:
            (out / entry["file"]).unlink()
            print(f"skip {src.path}: coverage below {minimum} for {low}", file=sys.stderr)
        elif entry:
            entries.append(entry)
            print(f"{entry['file']}: {entry['bytes'] / 1024:.0f} KiB ({entry['role']})")
    return entries


def summary(entries: list[dict]) -> str:
    """Faces and MiB per role and group."""
    rows: dict[tuple[str, str], list[int]] = {}
    for e in entries:
        r = rows.setdefault((e.get("role", "train"), e["scripts"][0]), [0, 0])
        r[0] += 1
        r[1] += e["bytes"]
    return "\n".join(
        f"  {role:8s} {g}: {n:4d} faces {b / 2**20:6.2f} MiB"
        for (role, g), (n, b) in sorted(rows.items())
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="default: strtool/fonts (core set)")
    ap.add_argument(
        "--pool", type=Path, default=None, metavar="DIR",
        help="build the full pool (every installed style of every allowed family) into DIR",
    )  # fmt: skip
    ap.add_argument("--charsets", type=Path, default=REPO / "strtool" / "charsets")
    ap.add_argument("--only", help="comma separated groups (default: all)")
    ap.add_argument("--install", action="store_true", help="apt-get install the packages first")
    ap.add_argument("--list-packages", action="store_true")
    ap.add_argument("--min-coverage", type=float, default=0.9, help="drop fonts below this")
    args = ap.parse_args(argv)
    if args.pool is not None and args.out is not None:
        ap.error("give --out (core set) or --pool DIR (full pool), not both")
    out = args.pool or args.out or REPO / "strtool" / "fonts"
    packages = POOL_PACKAGES if args.pool is not None else PACKAGES
    if args.list_packages:
        print(" ".join(packages))
        return 0
    if args.install:
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
        subprocess.run(cmd, check=True)
    only = set(args.only.upper().split(",")) if args.only else None
    manifest_file = out / "manifest.json"
    old = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {"fonts": []}
    entries = [e for e in old["fonts"] if only and not only & set(e["scripts"])]
    out.mkdir(parents=True, exist_ok=True)
    sources = pool_sources() if args.pool is not None else core_sources()
    sources = [s for s in sources if not only or only & set(s.groups)]
    entries += _build_all(sources, out, args.charsets, args.min_coverage)
    entries.sort(key=lambda e: (e.get("role") != "train", e["scripts"][0], e["family"], e["style"]))
    remove_stale(out, entries)
    total = sum(e["bytes"] for e in entries)
    data = {
        "format": 1,
        "generated_by": "tools/build_fonts.py" + (" --pool" if args.pool is not None else ""),
        "total_bytes": total,
        "fonts": entries,
    }
    tmp = manifest_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, manifest_file)
    print(f"{len(entries)} fonts, {total / 2**20:.1f} MiB -> {manifest_file}\n{summary(entries)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
