"""A tiny IAM-shaped database (same layout, ascii formats and XML schema as the IAM
Handwriting Database, with our own generated images) for the `--format iam` tests.

Two forms: `a01-000u` (3 lines; line 01 and word 01-00 segmented `err`) and `b02-011`
(2 lines). Every word is a grey box on a white form, so crops can be checked. The
ascii files carry IAM's `#` header comments; `words.txt` has one malformed row.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import cv2
import numpy as np

# form -> lines -> (line ok, [(word, tag, word ok)])
FORMS: dict[str, list[tuple[bool, list[tuple[str, str, bool]]]]] = {
    "a01-000u": [
        (True, [("A", "AT", True), ("MOVE", "NN", True), ("to", "TO", True)]),
        (False, [("stop", "VB", False), ("Mr.", "NPT", True), ("Gaitskell", "NP", True)]),
        (True, [("from", "IN", True), (",", ",", True), ("nominating", "VBG", True)]),
    ],
    "b02-011": [
        (True, [('"', '"', True), ("Labour", "NN", True), ("life", "NN", True)]),
        (True, [("peers", "NNS", True), ("&", "CC", True), ("more", "AP", True)]),
    ],
}
WORD_W, WORD_H, GAP, LINE_STEP, X0, Y0 = 60, 30, 20, 60, 100, 300
FORM_W, FORM_H = 600, 600

HEADER = "#--- IAM-shaped fixture ---\n#\n# format: see the IAM README\n#\n"


def line_text(words: list[tuple[str, str, bool]]) -> str:
    return " ".join(w for w, _, _ in words)


def page_text(form: str) -> str:
    return "\n".join(line_text(ws) for _, ws in FORMS[form])


def word_box(li: int, wi: int) -> tuple[int, int, int, int]:
    return X0 + wi * (WORD_W + GAP), Y0 + li * LINE_STEP, WORD_W, WORD_H


def _png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def make_iam(root: Path, with_ascii: bool = True, with_xml: bool = True) -> Path:
    """Write the fixture under `root` and return it."""
    words_rows, lines_rows, forms_rows = [HEADER], [HEADER], [HEADER]
    for form, lines in FORMS.items():
        page = np.full((FORM_H, FORM_W), 255, np.uint8)
        xml_lines = []
        for li, (line_ok, words) in enumerate(lines):
            lid = f"{form}-{li:02d}"
            xml_words = []
            for wi, (word, tag, ok) in enumerate(words):
                x, y, w, h = word_box(li, wi)
                page[y : y + h, x : x + w] = 40 + 20 * wi + 5 * li
                wid = f"{lid}-{wi:02d}"
                _png(root / "words" / form.split("-")[0] / form / f"{wid}.png",
                     page[y : y + h, x : x + w])  # fmt: skip
                res = "ok" if ok else "err"
                words_rows.append(f"{wid} {res} 154 {x} {y} {w} {h} {tag} {word}\n")
                xml_words.append(
                    f'   <word id="{wid}" tag={quoteattr(tag)} text={quoteattr(word)}>\n'
                    f'    <cmp x="{x}" y="{y}" width="{w}" height="{h}"/>\n   </word>\n'
                )
            x, y = X0, Y0 + li * LINE_STEP
            w = len(words) * (WORD_W + GAP) - GAP
            _png(root / "lines" / form.split("-")[0] / form / f"{lid}.png",
                 page[y : y + WORD_H, x : x + w])  # fmt: skip
            res = "ok" if line_ok else "err"
            bars = "|".join(word for word, _, _ in words)
            lines_rows.append(f"{lid} {res} 154 {len(words)} {x} {y} {w} {WORD_H} {bars}\n")
            xml_lines.append(
                f'  <line id="{lid}" text={quoteattr(line_text(words))} segmentation="{res}">\n'
                + "".join(xml_words)
                + "  </line>\n"
            )
        _png(root / "forms" / f"{form}.png", page)
        n = len(lines)
        forms_rows.append(f"{form} 000 2 prt {n} {n} {3 * n} {3 * n}\n")
        if with_xml:
            (root / "xml").mkdir(parents=True, exist_ok=True)
            (root / "xml" / f"{form}.xml").write_text(
                '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                f'<form id="{form}" writer-id="000" height="{FORM_H}" width="{FORM_W}">\n'
                ' <machine-printed-part>\n  <machine-print-line text="printed prompt"/>\n'
                " </machine-printed-part>\n <handwritten-part>\n"
                + "".join(xml_lines)
                + " </handwritten-part>\n</form>\n",
                encoding="iso-8859-1",
            )
    words_rows.append("garbage row\n")
    if with_ascii:
        (root / "ascii").mkdir(parents=True, exist_ok=True)
        (root / "ascii" / "words.txt").write_text("".join(words_rows), encoding="utf-8")
        (root / "ascii" / "lines.txt").write_text("".join(lines_rows), encoding="utf-8")
        (root / "ascii" / "forms.txt").write_text("".join(forms_rows), encoding="utf-8")
    return root
