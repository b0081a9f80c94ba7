"""Settings of `strtool synth lines` (`line:`) and `strtool synth pages` (`page:`), two
sections of `SynthConfig` (defaults here, listed in `configs/synth/default.yaml`; the
presets `synth/lines` and `synth/page` are what those commands use without
`--config`). Units: characters are code points; `em` is the font size; angles in
degrees; `margin` a fraction of the page width; probabilities per sample (per line
for `indent_prob`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Font styles of `page.style`.
PAGE_STYLES: tuple[str, ...] = ("mixed", "print", "handwriting")


def _r(lo: float, hi: float) -> list[float]:
    return field(default_factory=lambda: [lo, hi])


@dataclass
class LineConfig:
    """Text of one line (`synth lines`, and each line of a page)."""

    chars: list[float] = _r(15, 80)  # target length in code points, drawn uniformly
    number_prob: float = 0.12  # a token is a scene string (number, date, price, ...)
    punct_prob: float = 0.15  # a comma/colon/... after a token; a final stop
    final_prob: float = 0.5  # the line ends with a full stop, ? or !
    sentence_case_prob: float = 0.6  # cased scripts: first letter upper case
    upper_prob: float = 0.05  # cased scripts: the whole line upper case


@dataclass
class PageConfig:
    """Layout of a page (`synth pages`): lines, spacing, indentation, skew, warp,
    paper, font style."""

    lines: list[float] = _r(3, 8)  # lines per page, drawn uniformly (integers)
    chars_per_line: list[float] = _r(25, 60)  # wrap width, in average characters
    line_spacing: list[float] = _r(1.15, 1.8)  # baseline to baseline, in em (per page)
    line_jitter: float = 0.08  # extra spacing per line, uniform in [0, x] em
    indent_prob: float = 0.3  # a paragraph's first line indented
    indent: list[float] = _r(1.0, 4.0)  # em
    last_line: list[float] = _r(0.3, 1.0)  # fill of the last line, share of the width
    margin: list[float] = _r(0.02, 0.08)  # page margin per side, share of the width
    skew_prob: float = 0.7
    skew: list[float] = _r(-2.0, 2.0)  # whole-page rotation
    warp_prob: float = 0.5
    warp: list[float] = _r(0.05, 0.35)  # sinusoidal bend, amplitude in line heights
    paper_prob: float = 0.7  # paper-like background, else the augment backgrounds
    style: str = "mixed"  # mixed | print | handwriting (`PAGE_STYLES`)
    handwriting_share: float = 0.5  # mixed: pages drawn with a handwriting face
    wobble: list[float] = _r(0.0, 1.2)  # handwriting: per-line rotation magnitude
    drift: list[float] = _r(0.0, 0.6)  # handwriting: per-line x offset magnitude, em


#: Validation rules of the two sections (merged into `strtool.synth.config.RULES`).
LAYOUT_RULES: dict[str, tuple[str, float | tuple[float, bool] | None, float | None]] = {
    "line.chars": ("range", 1, 400),
    "line.number_prob": ("prob", 0, 1),
    "line.punct_prob": ("prob", 0, 1),
    "line.final_prob": ("prob", 0, 1),
    "line.sentence_case_prob": ("prob", 0, 1),
    "line.upper_prob": ("prob", 0, 1),
    "page.lines": ("range", 1, 64),
    "page.chars_per_line": ("range", 4, 400),
    "page.line_spacing": ("range", 1.0, 4.0),
    "page.line_jitter": ("num", 0, 2),
    "page.indent_prob": ("prob", 0, 1),
    "page.indent": ("range", 0, 20),
    "page.last_line": ("range", (0, False), 1),
    "page.margin": ("range", 0, 0.4),
    "page.skew_prob": ("prob", 0, 1),
    "page.skew": ("range", -15, 15),
    "page.warp_prob": ("prob", 0, 1),
    "page.warp": ("range", 0, 2),
    "page.paper_prob": ("prob", 0, 1),
    "page.handwriting_share": ("prob", 0, 1),
    "page.wobble": ("range", 0, 10),
    "page.drift": ("range", 0, 5),
}

#: String settings and their allowed values.
LAYOUT_CHOICES: dict[str, tuple[str, ...]] = {"page.style": PAGE_STYLES}
