"""Font faces: discovery in files/folders, the shipped set, and coverage checking.

A `FontFace` is one face of one font file (a `.ttc`/`.otc` collection holds several,
addressed by `index`). `discover_fonts` expands files and folders into faces,
`shipped_fonts` reads `fonts/manifest.json`, and `FontChecker` (re-exported from
`strtool.synth.fontcheck`) decides whether a face really renders a text.

Every manifest entry has a `role`: `train`, or `heldout` for the families kept out of
training so that accuracy can be measured on designs a model never saw (see
`tools/font_sources.py`; a few families per script group, italics among the Latin
ones). `shipped_fonts()` returns the training faces; `role="heldout"` the others,
`role="all"` both. `resolve_font_specs` turns `--fonts` values into faces: font files
and folders, a folder with a `manifest.json` (its training faces), and the role words
`train`, `heldout`, `all`, alone (the shipped set) or as `ROLE:FOLDER`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTCollection, TTFont, TTLibError

from strtool.errors import FontError, InputError
from strtool.paths import fonts_dir
from strtool.synth.face import COLLECTIONS as _COLLECTIONS
from strtool.synth.face import FontFace
from strtool.synth.fontcheck import FontChecker, checker_for

__all__ = [
    "FONT_SUFFIXES",
    "FontChecker",
    "FontFace",
    "checker_for",
    "ROLES",
    "discover_fonts",
    "load_manifest",
    "manifest_path",
    "read_faces",
    "resolve_font_specs",
    "shipped_fonts",
]

#: Roles of manifest entries, plus "all" (both) as a selector.
ROLES: tuple[str, ...] = ("train", "heldout", "all")

FONT_SUFFIXES: tuple[str, ...] = (".ttf", ".otf", ".ttc", ".otc")


def _name(font: TTFont, *ids: int) -> str:
    table = font["name"] if "name" in font else None
    if table is None:
        return ""
    for i in ids:
        rec = table.getDebugName(i)
        if rec:
            return str(rec).strip()
    return ""


def _face_of(path: Path, index: int, font: TTFont) -> FontFace:
    family = _name(font, 16, 1) or path.stem
    style = _name(font, 17, 2) or "Regular"
    return FontFace(path=path, index=index, family=family, style=style)


def read_faces(path: Path) -> list[FontFace]:
    """Every face of one font file. Unreadable/corrupt files raise `FontError` naming
    the file; a missing file raises `InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: font file not found")
    try:
        if path.suffix.lower() in _COLLECTIONS:
            coll = TTCollection(str(path), lazy=True)
            faces = [_face_of(path, i, f) for i, f in enumerate(coll.fonts)]
        else:
            font = TTFont(str(path), lazy=True)
            faces = [_face_of(path, 0, font)]
            if "cmap" not in font or "maxp" not in font:
                raise FontError(f"{path}: not a usable font (no cmap/maxp table)")
    except FontError:
        raise
    except (TTLibError, OSError, AssertionError, ValueError, KeyError, IndexError) as e:
        raise FontError(f"{path}: corrupt or unsupported font file ({e})") from None
    except Exception as e:  # fontTools raises bare struct/EOF errors on garbage
        raise FontError(f"{path}: corrupt font file ({type(e).__name__}: {e})") from None
    if not faces:
        raise FontError(f"{path}: font collection holds no faces")
    return faces


def discover_fonts(paths: Iterable[str | Path]) -> list[FontFace]:
    """Faces of the given font files and of every `.ttf/.otf/.ttc/.otc` file found
    (recursively, sorted) under the given folders; all faces of a collection.

    A missing path, a file that is not a font, or a folder without fonts raises
    `InputError`; a corrupt font raises `FontError`. Duplicates are dropped."""
    out: dict[tuple[Path, int], FontFace] = {}
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in FONT_SUFFIXES
            )
            if not files:
                raise InputError(f"{p}: no font files (.ttf/.otf/.ttc/.otc) in this folder")
        elif p.is_file():
            if p.suffix.lower() not in FONT_SUFFIXES:
                raise InputError(f"{p}: not a font file (expected .ttf, .otf, .ttc or .otc)")
            files = [p]
        else:
            raise InputError(f"{p}: no such font file or folder")
        for f in files:
            for face in read_faces(f):
                out.setdefault((face.path.resolve(), face.index), face)
    return list(out.values())


def manifest_path(root: Path | None = None) -> Path:
    """`manifest.json` of the shipped fonts folder (`strtool.paths.fonts_dir()`)."""
    return (root or fonts_dir()) / "manifest.json"


def load_manifest(root: Path | None = None) -> list[dict[str, Any]]:
    """Entries of `fonts/manifest.json` (see `tools/build_fonts.py` for the fields:
    family, style, file, index, package, licence, licence_file, scripts, langs,
    sha256, rfn_renamed, original_family, design)."""
    path = manifest_path(root)
    if not path.is_file():
        raise FontError(f"{path}: font manifest not found (run tools/build_fonts.py)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FontError(f"{path}: unreadable font manifest ({e})") from None
    entries = data.get("fonts") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise FontError(f"{path}: key 'fonts' (a list) missing")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {"family", "file", "scripts"} <= entry.keys():
            raise FontError(f"{path}: fonts[{i}] lacks family/file/scripts")
    return entries


def _role(value: str) -> str:
    if value not in ROLES:
        raise InputError(f"font role '{value}': use one of {', '.join(ROLES)}")
    return value


def shipped_fonts(
    groups: Iterable[str] | None = None, root: Path | None = None, role: str = "train"
) -> list[FontFace]:
    """Faces of the shipped fonts from the manifest (or of the manifest folder `root`,
    e.g. a pool built by `tools/build_fonts.py --pool`), optionally only those whose
    `scripts` include one of `groups` (MLT group names such as `LAT`, `ARA`).

    `role`: `train` (default: the training pool, held-out families left out),
    `heldout` (only the held-out families) or `all`. Entries without a role are
    training faces."""
    role = _role(role)
    base = root or fonts_dir()
    want = {g.upper() for g in groups} if groups is not None else None
    out: list[FontFace] = []
    for e in load_manifest(base):
        scripts = tuple(e["scripts"])
        entry_role = str(e.get("role", "train"))
        if want is not None and not want.intersection(scripts):
            continue
        if role != "all" and entry_role != role:
            continue
        path = base / e["file"]
        if not path.is_file():
            raise FontError(f"{path}: listed in {manifest_path(base)} but missing")
        out.append(
            FontFace(
                path=path,
                index=int(e.get("index", 0)),
                family=str(e["family"]),
                style=str(e.get("style", "Regular")),
                groups=scripts,
                role=entry_role,
            )
        )
    return out


def resolve_font_specs(
    specs: Iterable[str | Path], groups: Iterable[str] | None = None
) -> list[FontFace]:
    """Faces for `--fonts` values, in order, duplicates dropped:

    - `train`, `heldout`, `all` (when no file or folder has that name): the shipped
      faces of that role for `groups`;
    - `ROLE:FOLDER`: the faces of that role in FOLDER's `manifest.json`, for `groups`;
    - a folder holding a `manifest.json` (a pool from `tools/build_fonts.py --pool`):
      its training faces for `groups` (held-out faces stay out unless asked for);
    - any other font file or folder: every face found (`discover_fonts`).

    A role with no face for `groups` is an `InputError`."""
    group_list = list(groups) if groups is not None else None
    out: dict[tuple[Path, int], FontFace] = {}
    for raw in specs:
        text = str(raw)
        role, sep, rest = text.partition(":")
        if not Path(text).exists() and (text in ROLES or (sep and role in ROLES)):
            root = Path(rest) if sep else None
            if root is not None and not manifest_path(root).is_file():
                raise InputError(f"{text}: {root} holds no manifest.json (tools/build_fonts.py)")
            faces = shipped_fonts(group_list, root=root, role=role)
            if not faces:
                where = root or "the shipped fonts"
                raise InputError(f"--fonts {text}: no {role} faces for {group_list} in {where}")
        elif Path(text).is_dir() and manifest_path(Path(text)).is_file():
            faces = shipped_fonts(group_list, root=Path(text), role="train")
        else:
            faces = discover_fonts([text])
        for face in faces:
            out.setdefault((face.path.resolve(), face.index), face)
    return list(out.values())
