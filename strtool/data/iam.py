"""The IAM Handwriting Database layout as input of `strtool make-lmdb --format iam`.

An IAM root (as unpacked from the official archives) holds:

- `ascii/words.txt`: one word per line, `id result graylevel x y w h tag text`, e.g.
  `a01-000u-00-00 ok 154 408 768 27 51 AT A` (`result`: `ok` or `err`, the word
  segmentation; `graylevel`: binarisation threshold; box in form pixels; `tag`: the
  grammatical tag);
- `ascii/lines.txt`: one line per line, `id result graylevel components x y w h text`
  with `|` between the words of `text`, e.g.
  `a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from`;
- `ascii/forms.txt`: `form writer sentences segmentation lines lines-ok words words-ok`;
- `xml/<form>.xml`: `<form id=...>` with `<handwritten-part>` holding `<line id text
  segmentation>` elements, each with `<word id text tag>` elements made of `<cmp x y
  width height>` boxes;
- images: `words/a01/a01-000u/a01-000u-00-00.png`, `lines/a01/a01-000u/a01-000u-00.png`,
  `forms/a01-000u.png`.

Lines starting with `#` are comments. `iam_entries(root, level)` turns it into the gt
entries `make_lmdb` writes: `words` and `lines` from the ascii file of that level (or,
when it is absent, from the XML files: a word or line there is `err` when its line's
`segmentation` is not `ok`, and its box is the union of its `cmp` boxes), `pages` one
sample per form: the form image cropped to the handwritten text (the union of its
lines' boxes plus a margin of `PAGE_MARGIN` of the form width), labelled with its
lines joined by `\\n` in line order (every line of the form, `err` ones included: the
transcription is right even when the line segmentation is not).

Labels: the transcription as IAM gives it, `|` read as a space (so punctuation stays a
separate token, `existence , in`, as in the IAM line files and XML); never
detokenised. Rows with `err` segmentation are skipped as `segmentation_err` issues
(counted and listed in the report) unless `keep_err`; rows that cannot be parsed are
`malformed` issues naming the file and line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from strtool.data.gt_formats import GtEntry, GtIssue, GtItem
from strtool.errors import InputError

LEVELS: tuple[str, ...] = ("words", "lines", "pages")
#: Margin around the handwritten text of a page crop, as a fraction of the form width.
PAGE_MARGIN = 0.02
#: Issue kind of a row whose IAM segmentation is `err` (skipped unless `keep_err`).
ERR_KIND = "segmentation_err"

Box = tuple[int, int, int, int]  # x, y, w, h in form pixels


@dataclass
class IamRow:
    """One word or line: id, segmentation ok, box (x, y, w, h), text (spaces for
    `|`), and where it was read (file, 1-based line)."""

    id: str
    ok: bool
    box: Box
    text: str
    source: str
    line: int


@dataclass
class IamForm:
    """One form: its lines in order (id, ok, box, text)."""

    id: str
    lines: list[IamRow] = field(default_factory=list)


def _comment_free(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if line.strip() and not line.startswith("#"):
            yield n, line


def parse_ascii(path: Path, level: str) -> Iterator[IamRow | GtIssue]:
    """Rows of `ascii/words.txt` (`level` words) or `ascii/lines.txt` (lines)."""
    first_text = 8  # words: id result gray x y w h tag text; lines: ... comps x y w h text
    box_at = 3 if level == "words" else 4
    src = str(path)
    for n, line in _comment_free(path):
        parts = line.split(" ")
        if len(parts) <= first_text or parts[1] not in ("ok", "err"):
            why = "expected " + ("id ok|err gray x y w h tag text" if level == "words"
                                 else "id ok|err gray comps x y w h text")  # fmt: skip
            yield GtIssue("malformed", src, n, why)
            continue
        try:
            x, y, w, h = (int(v) for v in parts[box_at : box_at + 4])
        except ValueError:
            yield GtIssue("malformed", src, n, "bounding box is not 4 integers")
            continue
        text = " ".join(parts[first_text:]).replace("|", " ")
        yield IamRow(parts[0], parts[1] == "ok", (x, y, w, h), text, src, n)


def _union(boxes: list[Box]) -> Box | None:
    good = [b for b in boxes if b[2] > 0 and b[3] > 0 and b[0] >= 0 and b[1] >= 0]
    if not good:
        return None
    x0 = min(b[0] for b in good)
    y0 = min(b[1] for b in good)
    x1 = max(b[0] + b[2] for b in good)
    y1 = max(b[1] + b[3] for b in good)
    return x0, y0, x1 - x0, y1 - y0


def parse_xml(path: Path) -> tuple[IamForm, list[IamRow]] | GtIssue:
    """(form with its lines, its words) of one `xml/<form>.xml`."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        return GtIssue("malformed", str(path), 1, f"unreadable IAM XML ({e})")
    form = IamForm(root.get("id") or path.stem)
    words: list[IamRow] = []
    part = root.find("handwritten-part")
    for el in part.iter("line") if part is not None else ():
        ok = el.get("segmentation", "ok") == "ok"
        boxes: list[Box] = []
        for w in el.iter("word"):
            cmps = [_cmp_box(c) for c in w.iter("cmp")]
            wbox = _union([b for b in cmps if b is not None]) or (-1, -1, -1, -1)
            boxes.append(wbox)
            words.append(IamRow(w.get("id", ""), ok, wbox, w.get("text", ""), str(path), 0))
        box = _union(boxes) or (-1, -1, -1, -1)
        form.lines.append(IamRow(el.get("id", ""), ok, box, el.get("text", ""), str(path), 0))
    return form, words


def _cmp_box(el: ET.Element) -> Box | None:
    try:
        return tuple(int(el.get(k, "")) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]
    except ValueError:
        return None


def _image(root: Path, level: str, item_id: str) -> Path:
    parts = item_id.split("-")
    if level == "pages":
        return root / "forms" / f"{item_id}.png"
    return root / level / parts[0] / "-".join(parts[:2]) / f"{item_id}.png"


def _rows(root: Path, level: str) -> tuple[list[IamRow | GtIssue], list[IamForm]]:
    """(word or line rows, forms) from the ascii file of the level, else the XML."""
    ascii_file = root / "ascii" / ("words.txt" if level == "words" else "lines.txt")
    if ascii_file.is_file():
        rows = list(parse_ascii(ascii_file, "words" if level == "words" else "lines"))
        return rows, _forms_of([r for r in rows if isinstance(r, IamRow)], root)
    xml_dir = root / "xml"
    files = sorted(xml_dir.glob("*.xml")) if xml_dir.is_dir() else []
    if not files:
        raise InputError(
            f"{root}: not an IAM root (no {ascii_file.relative_to(root)} and no xml/*.xml)"
        )
    out: list[IamRow | GtIssue] = []
    forms: list[IamForm] = []
    for f in files:
        got = parse_xml(f)
        if isinstance(got, GtIssue):
            out.append(got)
            continue
        form, words = got
        forms.append(form)
        out += words if level == "words" else form.lines
    return out, forms


def _forms_of(lines: list[IamRow], root: Path) -> list[IamForm]:
    """Forms from line rows (grouped by form id, lines in id order), in the order of
    `ascii/forms.txt` when present, else of first appearance."""
    by_form: dict[str, IamForm] = {}
    for r in lines:
        fid = "-".join(r.id.split("-")[:2])
        by_form.setdefault(fid, IamForm(fid)).lines.append(r)
    for form in by_form.values():
        form.lines.sort(key=lambda r: r.id)
    forms_txt = root / "ascii" / "forms.txt"
    if forms_txt.is_file():
        order = [line.split(" ")[0] for _, line in _comment_free(forms_txt)]
        rank = {fid: i for i, fid in enumerate(order)}
        return sorted(by_form.values(), key=lambda f: rank.get(f.id, len(rank)))
    return list(by_form.values())


def iam_entries(root: str | Path, level: str, keep_err: bool = False) -> list[GtItem]:
    """The gt entries of an IAM root at `level` (`words`, `lines`, `pages`); see the
    module docstring. Page entries carry the crop box of the handwritten text."""
    root = Path(root)
    if level not in LEVELS:
        raise InputError(f"--level '{level}': use one of {', '.join(LEVELS)}")
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (give the IAM root)")
    need = "lines" if level == "pages" else level
    rows, forms = _rows(root, need)
    if level == "pages":
        issues: list[GtItem] = [r for r in rows if isinstance(r, GtIssue)]
        return issues + [_page_entry(root, f) for f in forms]
    out: list[GtItem] = []
    for r in rows:
        if isinstance(r, GtIssue):
            out.append(r)
        elif not r.ok and not keep_err:
            img = str(_image(root, level, r.id))
            out.append(GtIssue(ERR_KIND, r.source, r.line, f"{r.id}: IAM segmentation 'err'", img))
        else:
            out.append(
                GtEntry(str(_image(root, level, r.id)), r.text, "LAT", r.source, r.line, "en")
            )
    return out


def _page_entry(root: Path, form: IamForm) -> GtItem:
    image = str(_image(root, "pages", form.id))
    src = form.lines[0].source if form.lines else str(root)
    line = form.lines[0].line if form.lines else 0
    box = _union([r.box for r in form.lines])
    text = "\n".join(r.text for r in form.lines)
    if box is None:
        return GtIssue("malformed", src, line, f"{form.id}: no line with a bounding box", image)
    return GtEntry(image, text, "LAT", src, line, "en", crop=box)


def crop_image(data: bytes, box: Box, margin: float = PAGE_MARGIN) -> bytes | None:
    """PNG bytes of the `box` (x, y, w, h) region of an encoded image, grown by
    `margin` x the image width on every side and clipped to it; None when the image
    does not decode or the box lies outside it."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    h, w = img.shape[:2]
    pad = int(round(margin * w))
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(w, box[0] + box[2] + pad), min(h, box[1] + box[3] + pad)
    if x1 <= x0 or y1 <= y0:
        return None
    ok, buf = cv2.imencode(".png", img[y0:y1, x0:x1])
    return buf.tobytes() if ok else None
