"""Settings of `strtool synth lines` (`line:`) and `strtool synth pages` (`page:`), two
sections of `SynthConfig` (defaults here, listed in `configs/synth/default.yaml`; the
presets `synth/lines` and `synth/page` are what those commands use without
`--config`). Units: characters are code points; `em` is the font size; angles in
degrees; `margin` a fraction of the page width; probabilities per sample (per line
for `indent_prob`).
"""

from __future__ import annotations

from dataclasses import dataclass

from strtool.config_fields import in_range, one_of, ordered_pair, probability

#: Font styles of `page.style`.
PAGE_STYLES: tuple[str, ...] = ("mixed", "print", "handwriting")


@dataclass
class LineConfig:
    """Text of one line (`synth lines`, and each line of a page)."""

    #: Target length in code points, drawn uniformly
    chars: list[float] = ordered_pair(15, 80, lo=1, hi=400)
    number_prob: float = probability(0.12)  # a token is a scene string (number, date, price, ...)
    punct_prob: float = probability(0.15)  # a comma/colon/... after a token; a final stop
    final_prob: float = probability(0.5)  # the line ends with a full stop, ? or !
    sentence_case_prob: float = probability(0.6)  # cased scripts: first letter upper case
    upper_prob: float = probability(0.05)  # cased scripts: the whole line upper case


@dataclass
class PageConfig:
    """Layout of a page (`synth pages`): lines, spacing, indentation, skew, warp,
    paper, font style."""

    #: Lines per page, drawn uniformly (integers)
    lines: list[float] = ordered_pair(3, 8, lo=1, hi=64)
    #: Wrap width, in average characters
    chars_per_line: list[float] = ordered_pair(25, 60, lo=4, hi=400)
    #: Baseline to baseline, in em (per page)
    line_spacing: list[float] = ordered_pair(1.15, 1.8, lo=1.0, hi=4.0)
    line_jitter: float = in_range(0.08, 0, 2)  # extra spacing per line, uniform in [0, x] em
    indent_prob: float = probability(0.3)  # a paragraph's first line indented
    indent: list[float] = ordered_pair(1.0, 4.0, lo=0, hi=20)  # em
    #: Fill of the last line, share of the width
    last_line: list[float] = ordered_pair(0.3, 1.0, lo=0, hi=1, lo_open=True)
    #: Page margin per side, share of the width
    margin: list[float] = ordered_pair(0.02, 0.08, lo=0, hi=0.4)
    skew_prob: float = probability(0.7)
    skew: list[float] = ordered_pair(-2.0, 2.0, lo=-15, hi=15)  # whole-page rotation
    warp_prob: float = probability(0.5)
    #: Sinusoidal bend, amplitude in line heights
    warp: list[float] = ordered_pair(0.05, 0.35, lo=0, hi=2)
    paper_prob: float = probability(0.7)  # paper-like background, else the augment backgrounds
    style: str = one_of(*PAGE_STYLES)  # mixed | print | handwriting (`PAGE_STYLES`)
    handwriting_share: float = probability(0.5)  # mixed: pages drawn with a handwriting face
    #: Handwriting: per-line rotation magnitude
    wobble: list[float] = ordered_pair(0.0, 1.2, lo=0, hi=10)
    #: Handwriting: per-line x offset magnitude, em
    drift: list[float] = ordered_pair(0.0, 0.6, lo=0, hi=5)
