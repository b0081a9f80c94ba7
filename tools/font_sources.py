"""The shipped font set: which installed Debian font files `build_fonts.py` subsets.

Only families listed in shared FONTS.md (allowed, redistributable). Each entry:
(package, source file, script groups, design, new family name or None).

A new family name is given for every family whose licence reserves its name (RFN in
FONTS.md, ParaType, or "with Reserved Font Name" in the font's copyright): the subset
is a modified version and must not carry the reserved name. `build_fonts.py` checks
that the new name contains none of the reserved words it finds.
"""

from __future__ import annotations

from dataclasses import dataclass

FONTS_ROOT = "/usr/share/fonts"


@dataclass(frozen=True)
class Source:
    """One font file to subset and ship."""

    package: str
    path: str  # under /usr/share/fonts; "file.ttc#N" for a face of a collection
    groups: tuple[str, ...]
    design: str  # sans, serif, slab, mono, rounded, condensed, display, handwriting...
    rename: str | None = None  # new family name when the licence reserves the name


def _s(pkg: str, path: str, groups: str, design: str, rename: str | None = None) -> Source:
    return Source(pkg, f"{FONTS_ROOT}/{path}", tuple(groups.split(",")), design, rename)


_N = "truetype/noto"
_CJK = "opentype/noto"

SOURCES: tuple[Source, ...] = (
    # ---- Latin: many distinct designs, regular + bold -------------------------------
    _s("fonts-noto-core", f"{_N}/NotoSans-Regular.ttf", "LAT", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoSans-Bold.ttf", "LAT", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoSerif-Regular.ttf", "LAT", "serif"),
    _s("fonts-noto-core", f"{_N}/NotoSerif-Bold.ttf", "LAT", "serif"),
    _s("fonts-dejavu-core", "truetype/dejavu/DejaVuSans.ttf", "LAT,ARA", "sans"),
    _s("fonts-dejavu-core", "truetype/dejavu/DejaVuSans-Bold.ttf", "LAT,ARA", "sans"),
    _s("fonts-dejavu-core", "truetype/dejavu/DejaVuSerif.ttf", "LAT", "serif"),
    _s("fonts-dejavu-core", "truetype/dejavu/DejaVuSansMono.ttf", "LAT", "mono"),
    _s("fonts-lato", "truetype/lato/Lato-Regular.ttf", "LAT", "sans", "StrSubset LT"),
    _s("fonts-lato", "truetype/lato/Lato-Bold.ttf", "LAT", "sans", "StrSubset LT"),
    _s("fonts-open-sans", "truetype/open-sans/OpenSans-CondBold.ttf", "LAT", "condensed"),
    _s(
        "fonts-roboto-unhinted",
        "truetype/roboto/unhinted/RobotoCondensed-Regular.ttf",
        "LAT",
        "condensed",
    ),
    _s(
        "fonts-roboto-unhinted",
        "truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
        "LAT",
        "condensed",
    ),
    _s("fonts-roboto-slab", "opentype/roboto/slab/RobotoSlab-Regular.otf", "LAT", "slab"),
    _s("fonts-roboto-slab", "opentype/roboto/slab/RobotoSlab-Bold.otf", "LAT", "slab"),
    _s(
        "fonts-ebgaramond",
        "opentype/ebgaramond/EBGaramond12-Regular.otf",
        "LAT",
        "oldstyle",
        "StrSubset EBG",
    ),
    _s("fonts-comic-neue", "opentype/comic-neue/ComicNeue-Regular.otf", "LAT", "casual"),
    _s("fonts-comic-neue", "opentype/comic-neue/ComicNeue-Bold.otf", "LAT", "casual"),
    _s(
        "fonts-quicksand",
        "truetype/quicksand/Quicksand-Regular.ttf",
        "LAT",
        "rounded",
        "StrSubset QS",
    ),
    _s(
        "fonts-quicksand", "truetype/quicksand/Quicksand-Bold.ttf", "LAT", "rounded", "StrSubset QS"
    ),
    _s("fonts-go", "fonts-go/Go-Mono.ttf", "LAT", "mono"),
    _s("fonts-go", "fonts-go/Go-Mono-Bold.ttf", "LAT", "mono"),
    _s("fonts-cantarell", "opentype/cantarell/Cantarell-Regular.otf", "LAT", "sans"),
    _s("fonts-cantarell", "opentype/cantarell/Cantarell-Bold.otf", "LAT", "sans"),
    _s(
        "fonts-league-spartan",
        "opentype/league-spartan/LeagueSpartan-Regular.otf",
        "LAT",
        "geometric",
    ),
    _s(
        "fonts-league-spartan", "opentype/league-spartan/LeagueSpartan-Bold.otf", "LAT", "geometric"
    ),
    _s(
        "fonts-yanone-kaffeesatz",
        "opentype/yanone-kaffeesatz/YanoneKaffeesatz-Regular.otf",
        "LAT",
        "condensed-display",
    ),
    _s(
        "fonts-yanone-kaffeesatz",
        "opentype/yanone-kaffeesatz/YanoneKaffeesatz-Bold.otf",
        "LAT",
        "condensed-display",
    ),
    _s(
        "fonts-dancingscript",
        "opentype/dancingscript/DancingScript-Regular.otf",
        "LAT",
        "handwriting",
        "StrSubset DS",
    ),
    _s(
        "fonts-dancingscript",
        "opentype/dancingscript/DancingScript-Bold.otf",
        "LAT",
        "handwriting",
        "StrSubset DS",
    ),
    _s(
        "fonts-leckerli-one",
        "truetype/leckerli-one/LeckerliOne-Regular.ttf",
        "LAT",
        "display-script",
        "StrSubset LO",
    ),
    _s("fonts-vollkorn", "truetype/vollkorn/Vollkorn-Regular.ttf", "LAT", "serif"),
    _s("fonts-vollkorn", "truetype/vollkorn/Vollkorn-Bold.ttf", "LAT", "serif"),
    _s("fonts-jetbrains-mono", "truetype/jetbrains-mono/JetBrainsMono-Regular.ttf", "LAT", "mono"),
    _s("fonts-crosextra-caladea", "truetype/crosextra/Caladea-Regular.ttf", "LAT", "serif"),
    _s("fonts-crosextra-caladea", "truetype/crosextra/Caladea-Bold.ttf", "LAT", "serif"),
    _s("fonts-b612", "opentype/b612/B612-Regular.otf", "LAT", "sans"),
    _s("fonts-b612", "opentype/b612/B612-Bold.otf", "LAT", "sans"),
    _s("fonts-karla", "truetype/karla/Karla-Regular.otf", "LAT", "grotesque"),
    _s("fonts-karla", "truetype/karla/Karla-Bold.otf", "LAT", "grotesque"),
    # ---- Arabic ------------------------------------------------------------------------
    _s("fonts-noto-core", f"{_N}/NotoSansArabic-Regular.ttf", "ARA", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoSansArabic-Bold.ttf", "ARA", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoNaskhArabic-Regular.ttf", "ARA", "naskh"),
    _s("fonts-noto-core", f"{_N}/NotoNaskhArabic-Bold.ttf", "ARA", "naskh"),
    _s("fonts-noto-core", f"{_N}/NotoKufiArabic-Regular.ttf", "ARA", "kufi"),
    _s("fonts-noto-core", f"{_N}/NotoKufiArabic-Bold.ttf", "ARA", "kufi"),
    _s("fonts-hosny-amiri", "opentype/fonts-hosny-amiri/Amiri-Regular.ttf", "ARA", "naskh"),
    _s("fonts-hosny-amiri", "opentype/fonts-hosny-amiri/Amiri-Bold.ttf", "ARA", "naskh"),
    _s("fonts-lemonada", "opentype/lemonada/Lemonada-Regular.otf", "ARA", "rounded"),
    _s("fonts-lemonada", "opentype/lemonada/Lemonada-Bold.otf", "ARA", "rounded"),
    _s(
        "fonts-sil-harmattan",
        "truetype/harmattan/Harmattan-Regular.ttf",
        "ARA",
        "sans",
        "StrSubset HM",
    ),
    _s(
        "fonts-sil-harmattan",
        "truetype/harmattan/Harmattan-Bold.ttf",
        "ARA",
        "sans",
        "StrSubset HM",
    ),
    # ---- Bengali -----------------------------------------------------------------------
    _s("fonts-noto-core", f"{_N}/NotoSansBengali-Regular.ttf", "BEN", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoSansBengali-Bold.ttf", "BEN", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoSerifBengali-Regular.ttf", "BEN", "serif"),
    _s("fonts-noto-core", f"{_N}/NotoSerifBengali-Bold.ttf", "BEN", "serif"),
    _s("fonts-lohit-beng-bengali", "truetype/lohit-bengali/Lohit-Bengali.ttf", "BEN", "sans"),
    _s("fonts-lohit-beng-assamese", "truetype/lohit-assamese/Lohit-Assamese.ttf", "BEN", "sans"),
    # ---- Devanagari --------------------------------------------------------------------
    _s("fonts-noto-core", f"{_N}/NotoSansDevanagari-Regular.ttf", "HIN", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoSansDevanagari-Bold.ttf", "HIN", "sans"),
    _s("fonts-noto-core", f"{_N}/NotoSerifDevanagari-Regular.ttf", "HIN", "serif"),
    _s("fonts-noto-core", f"{_N}/NotoSerifDevanagari-Bold.ttf", "HIN", "serif"),
    _s("fonts-lohit-deva", "truetype/lohit-devanagari/Lohit-Devanagari.ttf", "HIN", "sans"),
    _s(
        "fonts-sil-annapurna",
        "truetype/annapurna/AnnapurnaSIL-Regular.ttf",
        "HIN",
        "serif",
        "StrSubset AP",
    ),
    _s(
        "fonts-sil-annapurna",
        "truetype/annapurna/AnnapurnaSIL-Bold.ttf",
        "HIN",
        "serif",
        "StrSubset AP",
    ),
    # ---- Chinese (Simplified) ----------------------------------------------------------
    _s("fonts-noto-cjk", f"{_CJK}/NotoSansCJK-Regular.ttc#2", "CHI", "sans"),
    _s("fonts-noto-cjk", f"{_CJK}/NotoSansCJK-Bold.ttc#2", "CHI", "sans"),
    _s("fonts-noto-cjk", f"{_CJK}/NotoSerifCJK-Regular.ttc#2", "CHI", "serif"),
    _s(
        "fonts-lxgw-wenkai",
        "truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
        "CHI",
        "kai",
        "StrSubset WK",
    ),
    _s("fonts-smiley-sans", "truetype/smiley-sans/SmileySans-Oblique.ttf", "CHI", "display"),
    # ---- Japanese ----------------------------------------------------------------------
    _s("fonts-noto-cjk", f"{_CJK}/NotoSansCJK-Regular.ttc#0", "JPN", "sans"),
    _s("fonts-noto-cjk", f"{_CJK}/NotoSansCJK-Bold.ttc#0", "JPN", "sans"),
    _s("fonts-noto-cjk", f"{_CJK}/NotoSerifCJK-Regular.ttc#0", "JPN", "serif"),
    _s("fonts-klee", "truetype/klee/KleeOne-Regular.ttf", "JPN", "handwriting"),
    _s("fonts-motoya-l-cedar", "truetype/motoya-l-cedar/MTLc3m.ttf", "JPN", "sans"),
    _s("fonts-motoya-l-maruberi", "truetype/motoya-l-maruberi/MTLmr3m.ttf", "JPN", "rounded"),
    _s(
        "fonts-sawarabi-mincho",
        "truetype/sawarabi-mincho/sawarabi-mincho-medium.ttf",
        "JPN",
        "serif",
        "StrSubset SM",
    ),
    _s("fonts-yusei-magic", "truetype/yusei-magic/YuseiMagic-Regular.ttf", "JPN", "display"),
    _s("fonts-dotgothic16", "truetype/dotgothic16/DotGothic16-Regular.ttf", "JPN", "pixel"),
    # ---- Korean ------------------------------------------------------------------------
    _s("fonts-noto-cjk", f"{_CJK}/NotoSansCJK-Regular.ttc#1", "KOR", "sans"),
    _s("fonts-noto-cjk", f"{_CJK}/NotoSansCJK-Bold.ttc#1", "KOR", "sans"),
    _s("fonts-noto-cjk", f"{_CJK}/NotoSerifCJK-Regular.ttc#1", "KOR", "serif"),
    _s("fonts-nanum", "truetype/nanum/NanumGothic.ttf", "KOR", "sans", "StrSubset NG"),
    _s("fonts-nanum", "truetype/nanum/NanumMyeongjo.ttf", "KOR", "serif", "StrSubset NM"),
    _s("fonts-nanum-extra", "truetype/nanum/NanumPen.ttf", "KOR", "handwriting", "StrSubset NP"),
    _s("fonts-woowa-bm", "truetype/woowa-bm/BMJUA_ttf.ttf", "KOR", "display", "StrSubset BJ"),
)

#: Packages to `apt-get install -y --no-install-recommends` before building.
PACKAGES: tuple[str, ...] = tuple(sorted({s.package for s in SOURCES}))
