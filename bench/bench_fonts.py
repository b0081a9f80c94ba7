"""Throughput of the font coverage checker: a 3,755-Han charset (GB2312 level 1)
checked against every shipped CHI face, cold (shaping) and warm (cache).

    python bench/bench_fonts.py
"""

from __future__ import annotations

import time

from strtool.synth.coverage import check_entries
from strtool.synth.fonts import FontChecker, shipped_fonts


def gb2312_level1() -> list[str]:
    """The 3,755 most common Simplified Chinese characters (GB2312 level 1)."""
    out = []
    for row in range(0xB0, 0xD8):
        for col in range(0xA1, 0xFF):
            try:
                out.append(bytes([row, col]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def main() -> None:
    chars = gb2312_level1()
    for face in shipped_fonts(["CHI"]):
        t0 = time.perf_counter()
        checker = FontChecker(face)
        t1 = time.perf_counter()
        row = check_entries(checker, chars, "zh", "Han")
        t2 = time.perf_counter()
        check_entries(checker, chars, "zh", "Han")
        t3 = time.perf_counter()
        print(
            f"{face.name:28s} {row.covered}/{row.total} covered  open {1e3 * (t1 - t0):.1f} ms  "
            f"cold {1e3 * (t2 - t1):.1f} ms ({len(chars) / (t2 - t1):,.0f} chars/s)  "
            f"cached {1e3 * (t3 - t2):.1f} ms"
        )


if __name__ == "__main__":
    main()
