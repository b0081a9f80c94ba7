"""Which installed Debian font files `build_fonts.py` subsets: the shipped core set and
the full pool.

Only families listed in shared FONTS.md (allowed, redistributable). `TABLE` has one row
per family and package (a row may continue on indented lines), fields separated by `|`:

    name | package | folder | pattern | core | groups | design | options

- `folder` is under /usr/share/fonts; `pattern` holds `{}`, filled with each word of
  `core` to name the faces shipped in `strtool/fonts` (`-`: none; `~` stands for a
  space) and with `*` for the glob of the full pool;
- options: `rename=NEW~NAME` (the licence reserves the name), `role=heldout`,
  `index=N` (face of a .ttc), `pool=glob,glob` (instead of the pattern; `pool==`: the
  core files only, the other styles being in another package's row), `exclude=glob,..`.

`core` is the set shipped in the package within its size budget (many Latin styles,
which are small once subset; weights and widths of Noto Arabic/Devanagari/Bengali;
few CJK faces, which are large). The pool (`build_fonts.py --pool DIR`) is every style
of every family that is installed, except variable fonts (their instances are installed
as static files) and the excluded files (small caps, which would draw lower-case labels
as capitals; symbol/initials faces).

`role=heldout` marks the families held out of training (a few per script group, italics
among the Latin ones): they are shipped and built like the others, but
`strtool.synth.fonts.shipped_fonts()` leaves them out unless asked (`role="heldout"`),
so accuracy can be measured on designs a model never saw. `HELDOUT` lists them.

A family whose licence reserves its name (RFN in FONTS.md, ParaType, or "with Reserved
Font Name" in the font's copyright) gets a new name: the subset is a modified version
and must not carry the reserved name. The allowed name inside the face's own family
name is replaced ("Quicksand Light" -> "StrSubset QS Light"); `build_fonts.py` checks
that the new name contains none of the reserved words it finds.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

FONTS_ROOT = "/usr/share/fonts"
ROLES = ("train", "heldout")

TABLE = """
# ---- Latin: many designs, and their weights, widths and italics ---------------------
Noto Sans | fonts-noto-core | truetype/noto | NotoSans-{}.ttf | Regular Bold Italic BoldItalic |
    LAT | sans | pool==
Noto Sans | fonts-noto-extra | truetype/noto | NotoSans-{}.ttf | Thin Light LightItalic Medium
    SemiBoldItalic Black BlackItalic ExtraLight Condensed CondensedBold CondensedItalic
    SemiCondensedMedium ExtraCondensed ExtraCondensedBlack SemiCondensedLightItalic | LAT | sans
Noto Serif | fonts-noto-core | truetype/noto | NotoSerif-{}.ttf | Regular Bold Italic BoldItalic
    | LAT | serif | pool==
Noto Serif | fonts-noto-extra | truetype/noto | NotoSerif-{}.ttf | Light Black SemiBoldItalic
    CondensedMedium ExtraCondensedBold LightItalic | LAT | serif
Noto Sans Mono | fonts-noto-extra | truetype/noto | NotoSansMono-{}.ttf | Light Medium SemiBold
    Condensed | LAT | mono
DejaVu Sans | fonts-dejavu-core | truetype/dejavu | {} | DejaVuSans.ttf DejaVuSans-Bold.ttf |
    LAT,ARA | sans | pool=DejaVuSans.ttf,DejaVuSans-Bold.ttf
DejaVu Sans | fonts-dejavu-extra | truetype/dejavu | DejaVuSans{}.ttf | -Oblique -BoldOblique
    -ExtraLight Condensed Condensed-Bold Condensed-Oblique | LAT | sans |
    pool=DejaVuSans-*.ttf,DejaVuSansCondensed*.ttf exclude=DejaVuSans-Bold.ttf
DejaVu Serif | fonts-dejavu-core | truetype/dejavu | {} | DejaVuSerif.ttf DejaVuSerif-Bold.ttf |
    LAT | serif | pool=DejaVuSerif.ttf,DejaVuSerif-Bold.ttf
DejaVu Serif | fonts-dejavu-extra | truetype/dejavu | DejaVuSerif{}.ttf | -Italic -BoldItalic
    Condensed Condensed-Italic | LAT | serif |
    pool=DejaVuSerif-*Italic.ttf,DejaVuSerifCondensed*.ttf
DejaVu Sans Mono | fonts-dejavu-core | truetype/dejavu | {} | DejaVuSansMono.ttf
    DejaVuSansMono-Bold.ttf | LAT | mono | pool=DejaVuSansMono.ttf,DejaVuSansMono-Bold.ttf
DejaVu Sans Mono | fonts-dejavu-extra | truetype/dejavu | DejaVuSansMono{}.ttf | -Oblique | LAT
    | mono | pool=DejaVuSansMono-*Oblique.ttf
Open Sans | fonts-open-sans | truetype/open-sans | OpenSans-{}.ttf | Regular Italic Light
    LightItalic Semibold SemiboldItalic Bold BoldItalic ExtraBold ExtraBoldItalic CondLight
    CondLightItalic CondBold | LAT | sans
Lato | fonts-lato | truetype/lato | Lato-{}.ttf | Regular Bold Italic Light BlackItalic | LAT |
    sans | rename=StrSubset~LT
Roboto | fonts-roboto-unhinted | truetype/roboto/unhinted/RobotoTTF | Roboto-{}.ttf | Regular
    Italic Thin Light LightItalic Medium MediumItalic Bold BoldItalic Black BlackItalic | LAT |
    sans
Roboto Condensed | fonts-roboto-unhinted | truetype/roboto/unhinted | RobotoCondensed-{}.ttf |
    Regular Bold Italic BoldItalic Light LightItalic Medium | LAT | condensed
Roboto Slab | fonts-roboto-slab | opentype/roboto/slab | RobotoSlab-{}.otf | Regular Bold Light
    Thin | LAT | slab
Cantarell | fonts-cantarell | opentype/cantarell | Cantarell-{}.otf | Regular Bold Thin Light
    ExtraBold | LAT | sans
Inter | fonts-inter | opentype/inter | Inter-{}.otf | Regular Italic Light Bold BlackItalic |
    LAT | sans | pool=Inter-*.otf,InterDisplay-*.otf
Cabin | fonts-cabin | opentype/cabin | Cabin-{}.otf | Regular Italic Medium SemiBoldItalic Bold
    | LAT | humanist | rename=StrSubset~CB
Karla | fonts-karla | truetype/karla | Karla-{}.otf | Regular Bold Italic ExtraLight LightItalic
    ExtraBoldItalic | LAT | grotesque
Manrope | fonts-manrope | truetype/manrope | Manrope-{}.ttf | Regular ExtraLight Medium
    ExtraBold | LAT | geometric
B612 | fonts-b612 | opentype/b612 | B612{}.otf | -Regular -Bold -Italic Mono-Regular
    Mono-BoldItalic | LAT | sans
PT Sans | fonts-paratype | truetype/paratype | PT{}.ttf | S55F S56F S75F S76F N57F C75F | LAT |
    sans | rename=StrSubset~PTS pool=PTS*.ttf,PTN*.ttf,PTC*.ttf
PT Serif | fonts-paratype | truetype/paratype | PT{}.ttf | F55F F56F F75F Z56F | LAT | serif |
    rename=StrSubset~PTF pool=PTF*.ttf,PTZ*.ttf
PT Mono | fonts-paratype | truetype/paratype | PT{}.ttf | M55F | LAT | mono |
    rename=StrSubset~PTM pool=PTM*.ttf
Go | fonts-go | fonts-go | Go-{}.ttf | Regular Italic Medium Bold-Italic Mono Mono-Bold
    Mono-Italic | LAT | sans | exclude=Go-Smallcaps*
Comfortaa | fonts-comfortaa | truetype/comfortaa | Comfortaa-{}.ttf | Regular Light Bold | LAT |
    rounded | rename=StrSubset~CF
Quicksand | fonts-quicksand | truetype/quicksand | Quicksand-{}.ttf | Regular Bold Light Medium
    | LAT | rounded | rename=StrSubset~QS
Dosis | fonts-dosis | opentype/dosis | Dosis-{}.otf | Book ExtraLight Medium ExtraBold | LAT |
    rounded-condensed | rename=StrSubset~DO
Yanone Kaffeesatz | fonts-yanone-kaffeesatz | opentype/yanone-kaffeesatz |
    YanoneKaffeesatz-{}.otf | Regular Bold ExtraLight | LAT | condensed-display
League Spartan | fonts-league-spartan | opentype/league-spartan | LeagueSpartan-{}.otf | Regular
    Bold ExtraLight Black | LAT | geometric
Play | fonts-play | truetype/play | Play-{}.ttf | Regular Bold | LAT | techno |
    rename=StrSubset~PL
Jura | fonts-jura | opentype/jura | Jura-{}.otf | Light Regular Bold | LAT | techno
EB Garamond | fonts-ebgaramond | opentype/ebgaramond | EBGaramond{}.otf | 12-Regular 12-Italic
    | LAT | oldstyle | rename=StrSubset~EBG
Linux Libertine | fonts-linuxlibertine | opentype/linux-libertine | LinLibertine_{}.otf | R RI
    RB | LAT | serif | rename=StrSubset~LL exclude=LinLibertine_I.otf,LinLibertine_M.otf
Linux Biolinum | fonts-linuxlibertine | opentype/linux-libertine | LinBiolinum_{}.otf | R RB |
    LAT | humanist | rename=StrSubset~LB exclude=LinBiolinum_K.otf
Vollkorn | fonts-vollkorn | truetype/vollkorn | Vollkorn-{}.ttf | Regular Bold Italic Black |
    LAT | serif
Gentium Plus | fonts-sil-gentiumplus | truetype/gentiumplus | Gentium{}.ttf | Plus-Regular
    Plus-Italic BookPlus-Bold | LAT | serif | rename=StrSubset~GP
Andika | fonts-sil-andika | truetype/andika | Andika-{}.ttf | Regular Bold Italic | LAT | sans |
    rename=StrSubset~AN
Caladea | fonts-crosextra-caladea | truetype/crosextra | Caladea-{}.ttf | Regular Bold Italic
    BoldItalic | LAT | serif
CMU | fonts-cmu | truetype/cmu | cmun{}.ttf | rm ti bx ss si sx tt bmr | LAT | serif |
    exclude=cmunui.ttf
Lobster Two | fonts-lobstertwo | opentype/lobstertwo | LobsterTwo-{}.otf | Regular Bold Italic |
    LAT | display-script | rename=StrSubset~LW
Dancing Script | fonts-dancingscript | opentype/dancingscript | DancingScript-{}.otf | Regular
    Bold | LAT | handwriting | rename=StrSubset~DS
Kaushan Script | fonts-kaushanscript | opentype/kaushanscript | KaushanScript-{}.otf | Regular |
    LAT | brush | rename=StrSubset~KS
Comic Neue | fonts-comic-neue | opentype/comic-neue | ComicNeue-{}.otf | Regular Bold Italic
    Light BoldItalic | LAT | casual
Cabin Sketch | fonts-cabinsketch | truetype/cabinsketch | CabinSketch-{}.ttf | Regular |
    LAT | sketch | rename=StrSubset~CS
Leckerli One | fonts-leckerli-one | truetype/leckerli-one | LeckerliOne-{}.ttf | Regular | LAT |
    display-script | rename=StrSubset~LO
Fira Code | fonts-firacode | truetype/firacode | FiraCode-{}.ttf | Regular Bold Light | LAT |
    mono | exclude=FiraCode-Retina.ttf
JetBrains Mono | fonts-jetbrains-mono | truetype/jetbrains-mono | JetBrainsMono-{}.ttf | Regular
    Italic Bold ExtraBoldItalic | LAT | mono
Anonymous Pro | fonts-anonymous-pro | truetype/anonymous-pro | {} | Anonymous~Pro.ttf
    Anonymous~Pro~B.ttf Anonymous~Pro~I.ttf | LAT | mono | pool=Anonymous~Pro*.ttf
    rename=StrSubset~ANP
Fantasque Sans Mono | fonts-fantasque-sans | truetype/fantasque-sans/Normal/TTF |
    FantasqueSansMono-{}.ttf | Regular Italic Bold | LAT | mono
IBM 3270 | fonts-3270 | truetype/3270 | {} | 3270-Regular.ttf 3270Condensed-Regular.ttf | LAT |
    terminal | pool=3270*-Regular.ttf
# held out of training: a humanist sans and a serif, with italics
Clear Sans | fonts-clear-sans | truetype/clear-sans | ClearSans-{}.ttf | Regular Italic Bold
    BoldItalic Light Medium MediumItalic Thin | LAT | sans | role=heldout
Charis SIL | fonts-sil-charis | truetype/charis | CharisSIL-{}.ttf | Regular Italic Bold
    BoldItalic | LAT | serif | rename=StrSubset~CH role=heldout
# ---- Arabic ------------------------------------------------------------------------
Noto Sans Arabic | fonts-noto-core | truetype/noto | NotoSansArabic-{}.ttf | Regular Bold | ARA
    | sans | pool==
Noto Sans Arabic | fonts-noto-extra | truetype/noto | NotoSansArabic-{}.ttf | Thin Light Medium
    ExtraBold Black Condensed CondensedBold ExtraCondensedLight SemiCondensedSemiBold | ARA |
    sans
Noto Naskh Arabic | fonts-noto-core | truetype/noto | NotoNaskhArabic-{}.ttf | Regular Bold |
    ARA | naskh | pool==
Noto Naskh Arabic | fonts-noto-extra | truetype/noto | NotoNaskhArabic-{}.ttf | Medium SemiBold
    | ARA | naskh
Noto Kufi Arabic | fonts-noto-core | truetype/noto | NotoKufiArabic-{}.ttf | Regular Bold | ARA
    | kufi | pool==
Noto Kufi Arabic | fonts-noto-extra | truetype/noto | NotoKufiArabic-{}.ttf | Light Black
    ExtraLight | ARA | kufi
Noto Nastaliq Urdu | fonts-noto-core | truetype/noto | NotoNastaliqUrdu-{}.ttf | Regular | ARA |
    nastaliq | pool==
Lemonada | fonts-lemonada | opentype/lemonada | Lemonada-{}.otf | Regular Bold Light SemiBold |
    ARA | rounded
Alkalami | fonts-sil-alkalami | truetype/alkalami | Alkalami-{}.ttf | - | ARA | kano |
    rename=StrSubset~AK
# held out of training: a classic naskh and a West-African-style sans
Amiri | fonts-hosny-amiri | opentype/fonts-hosny-amiri | Amiri-{}.ttf | Regular Bold Slanted
    BoldSlanted | ARA | naskh | role=heldout
Harmattan | fonts-sil-harmattan | truetype/harmattan | Harmattan-{}.ttf | Regular Bold | ARA |
    sans | rename=StrSubset~HM role=heldout
# ---- Bengali -----------------------------------------------------------------------
Noto Sans Bengali | fonts-noto-core | truetype/noto | NotoSansBengali-{}.ttf | Regular Bold |
    BEN | sans | pool==
Noto Sans Bengali | fonts-noto-extra | truetype/noto | NotoSansBengali-{}.ttf | Light Medium
    Black Condensed ExtraCondensed | BEN | sans
Lohit Bengali | fonts-lohit-beng-bengali | truetype/lohit-bengali | Lohit-{}.ttf | Bengali | BEN
    | sans
Lohit Assamese | fonts-lohit-beng-assamese | truetype/lohit-assamese | Lohit-{}.ttf | Assamese |
    BEN | sans
# held out of training: the serif design
Noto Serif Bengali | fonts-noto-core | truetype/noto | NotoSerifBengali-{}.ttf | Regular Bold |
    BEN | serif | role=heldout pool==
Noto Serif Bengali | fonts-noto-extra | truetype/noto | NotoSerifBengali-{}.ttf | Light Black |
    BEN | serif | role=heldout
# ---- Devanagari --------------------------------------------------------------------
Noto Sans Devanagari | fonts-noto-core | truetype/noto | NotoSansDevanagari-{}.ttf | Regular
    Bold | HIN | sans | pool==
Noto Sans Devanagari | fonts-noto-extra | truetype/noto | NotoSansDevanagari-{}.ttf | Thin Light
    Medium Black Condensed | HIN | sans
Noto Serif Devanagari | fonts-noto-core | truetype/noto | NotoSerifDevanagari-{}.ttf | Regular
    Bold | HIN | serif | pool==
Noto Serif Devanagari | fonts-noto-extra | truetype/noto | NotoSerifDevanagari-{}.ttf | Light
    Black | HIN | serif
Lohit Devanagari | fonts-lohit-deva | truetype/lohit-devanagari | Lohit-{}.ttf | Devanagari |
    HIN | sans
Lohit Marathi | fonts-lohit-deva-marathi | truetype/lohit-marathi | Lohit-{}.ttf | - | HIN |
    sans
Lohit Nepali | fonts-lohit-deva-nepali | truetype/lohit-nepali | Lohit-{}.ttf | - | HIN | sans
Aksharyogini2 | fonts-aksharyogini2 | truetype/fonts-aksharyogini2 | Aksharyogini2{}.ttf | - |
    HIN | display
# held out of training
Annapurna SIL | fonts-sil-annapurna | truetype/annapurna | AnnapurnaSIL-{}.ttf | Regular Bold |
    HIN | serif | rename=StrSubset~AP role=heldout
# ---- Chinese (Simplified) ----------------------------------------------------------
Noto Sans CJK SC | fonts-noto-cjk | opentype/noto | NotoSansCJK-{}.ttc | Regular Bold | CHI |
    sans | index=2 pool=NotoSansCJK-*.ttc
Noto Serif CJK SC | fonts-noto-cjk | opentype/noto | NotoSerifCJK-{}.ttc | Regular | CHI | serif
    | index=2 pool=NotoSerifCJK-*.ttc
LXGW WenKai | fonts-lxgw-wenkai | truetype/lxgw-wenkai | LXGWWenKai{}.ttf | -Regular | CHI | kai
    | rename=StrSubset~WK
# held out of training: an oblique condensed display design
Smiley Sans | fonts-smiley-sans | truetype/smiley-sans | SmileySans-{}.ttf | Oblique | CHI |
    display | role=heldout
# ---- Japanese ----------------------------------------------------------------------
Noto Sans CJK JP | fonts-noto-cjk | opentype/noto | NotoSansCJK-{}.ttc | Regular Bold | JPN |
    sans | index=0 pool=NotoSansCJK-*.ttc
Noto Serif CJK JP | fonts-noto-cjk | opentype/noto | NotoSerifCJK-{}.ttc | Regular | JPN | serif
    | index=0 pool=NotoSerifCJK-*.ttc
Klee One | fonts-klee | truetype/klee | KleeOne-{}.ttf | Regular | JPN | handwriting
Motoya L Cedar | fonts-motoya-l-cedar | truetype/motoya-l-cedar | {}.ttf | MTLc3m | JPN | sans
Motoya L Maruberi | fonts-motoya-l-maruberi | truetype/motoya-l-maruberi | {}.ttf | MTLmr3m |
    JPN | rounded
Yusei Magic | fonts-yusei-magic | truetype/yusei-magic | YuseiMagic-{}.ttf | Regular | JPN |
    display
DotGothic16 | fonts-dotgothic16 | truetype/dotgothic16 | DotGothic16-{}.ttf | Regular | JPN |
    pixel
HanaMin | fonts-hanazono | truetype/hanazono | HanaMin{}.ttf | - | JPN | serif |
    rename=StrSubset~HN pool=HanaMinA.ttf
SetoFont | fonts-seto | truetype/seto | setofont{}.ttf | - | JPN | handwriting |
    pool=setofont.ttf
Reggae One | fonts-reggae | truetype/reggae | ReggaeOne-{}.ttf | - | JPN | display
RocknRoll One | fonts-rocknroll | truetype/rocknroll | RocknRollOne-{}.ttf | - | JPN |
    rounded-display
# held out of training: a mincho design
Sawarabi Mincho | fonts-sawarabi-mincho | truetype/sawarabi-mincho | sawarabi-mincho-{}.ttf |
    medium | JPN | serif | rename=StrSubset~SM role=heldout
# ---- Korean ------------------------------------------------------------------------
Noto Sans CJK KR | fonts-noto-cjk | opentype/noto | NotoSansCJK-{}.ttc | Regular Bold | KOR |
    sans | index=1 pool=NotoSansCJK-*.ttc
Noto Serif CJK KR | fonts-noto-cjk | opentype/noto | NotoSerifCJK-{}.ttc | Regular | KOR | serif
    | index=1 pool=NotoSerifCJK-*.ttc
Nanum Gothic | fonts-nanum | truetype/nanum | {} | NanumGothic.ttf | KOR | sans |
    rename=StrSubset~NG pool=NanumGothic.ttf,NanumGothicBold.ttf
Nanum Gothic | fonts-nanum-extra | truetype/nanum | NanumGothic{}.ttf | - | KOR | sans |
    rename=StrSubset~NG pool=NanumGothicLight.ttf,NanumGothicExtraBold.ttf
Nanum Pen | fonts-nanum-extra | truetype/nanum | {} | NanumPen.ttf | KOR | handwriting |
    rename=StrSubset~NP pool=NanumPen.ttf
Nanum Brush | fonts-nanum-extra | truetype/nanum | NanumBrush{}.ttf | - | KOR | brush |
    rename=StrSubset~NBR pool=NanumBrush.ttf
Nanum Barun Gothic | fonts-nanum | truetype/nanum | NanumBarunGothic{}.ttf | - | KOR | sans |
    rename=StrSubset~NBG pool=NanumBarunGothic*.ttf exclude=*YetHangul*
Nanum Square | fonts-nanum | truetype/nanum | NanumSquare{}.ttf | - | KOR | square |
    rename=StrSubset~NSQ pool=NanumSquare[BREL]*.ttf
Nanum Square Round | fonts-nanum | truetype/nanum | NanumSquareRound{}.ttf | - | KOR | rounded |
    rename=StrSubset~NSR pool=NanumSquareRound*.ttf
Nanum Barunpen | fonts-nanum-extra | truetype/nanum | NanumBarunpen{}.ttf | - | KOR |
    handwriting | rename=StrSubset~NBP pool=NanumBarunpen*.ttf
BM Jua | fonts-woowa-bm | truetype/woowa-bm | BMJUA{}.ttf | _ttf | KOR | display |
    rename=StrSubset~BJ
BM Hanna | fonts-woowa-bm | truetype/woowa-bm | BMHANNA{}.ttf | - | KOR | display |
    rename=StrSubset~BH pool=BMHANNAPro.ttf,BMHANNAAir_ttf.ttf
BM DoHyeon | fonts-woowa-bm | truetype/woowa-bm | BMDOHYEON{}.ttf | - | KOR | display |
    rename=StrSubset~BD
BM Yeonsung | fonts-woowa-bm | truetype/woowa-bm | BMYEONSUNG{}.ttf | - | KOR | display |
    rename=StrSubset~BY
BM Kirang Haerang | fonts-woowa-bm | truetype/woowa-bm | BMKIRANGHAERANG{}.ttf | - | KOR |
    display | rename=StrSubset~BK
# held out of training: a myeongjo (serif) design, Eco variants included
Nanum Myeongjo | fonts-nanum | truetype/nanum | {} | NanumMyeongjo.ttf | KOR | serif |
    rename=StrSubset~NM role=heldout
    pool=NanumMyeongjo.ttf,NanumMyeongjoBold.ttf,NanumMyeongjoExtraBold.ttf
"""


@dataclass(frozen=True)
class Source:
    """One font file (or one face of a collection) to subset."""

    package: str
    path: str  # absolute; "file.ttc#N" for a face of a collection
    groups: tuple[str, ...]
    design: str  # sans, serif, slab, mono, rounded, condensed, display, handwriting...
    rename: str | None = None  # new family name when the licence reserves the name
    family: str = ""  # the family as FONTS.md lists it
    role: str = "train"  # train | heldout


@dataclass(frozen=True)
class Family:
    """One row of `TABLE`: where a family's files are, which are shipped, the pool."""

    name: str
    package: str
    folder: str  # under FONTS_ROOT
    pool: tuple[str, ...]  # globs (in `folder`) of every style
    core: tuple[str, ...]  # file names shipped in strtool/fonts
    groups: tuple[str, ...]
    design: str
    rename: str | None = None
    role: str = "train"
    exclude: tuple[str, ...] = ()  # globs left out of the pool
    index: int | None = None  # face of a .ttc collection

    def _source(self, path: Path) -> Source:
        p = f"{path}#{self.index}" if self.index is not None else str(path)
        return Source(self.package, p, self.groups, self.design, self.rename, self.name,
                      self.role)  # fmt: skip

    def core_sources(self) -> list[Source]:
        """The shipped faces (whether installed or not)."""
        return [self._source(Path(FONTS_ROOT, self.folder, f)) for f in self.core]

    def pool_sources(self) -> list[Source]:
        """Every installed file matching `pool` and no `exclude` glob, except variable
        fonts (`Name[wght].ttf`)."""
        root = Path(FONTS_ROOT, self.folder)
        found = {p for g in self.pool for p in root.glob(g) if p.is_file() and not p.is_symlink()}
        keep = [
            p
            for p in found
            if "[" not in p.name and not any(fnmatch.fnmatch(p.name, x) for x in self.exclude)
        ]
        return [self._source(p) for p in sorted(keep)]


def _row(line: str) -> Family:
    name, package, folder, pattern, core, groups, design, *rest = (
        f.strip() for f in line.split("|")
    )
    pattern = pattern.replace("~", " ")
    files = () if core == "-" else tuple(pattern.format(w.replace("~", " ")) for w in core.split())
    opts = dict(o.split("=", 1) for o in (rest[0].split() if rest else []))
    unknown = set(opts) - {"rename", "role", "index", "pool", "exclude"}
    if unknown or opts.get("role", "train") not in ROLES:
        raise ValueError(f"font_sources: bad options in row {name!r}: {opts}")
    pool = opts.get("pool", "").replace("~", " ")
    if pool == "=":  # the core files only (the other styles come from another package)
        globs = files
    else:
        globs = tuple(pool.split(",")) if pool else (pattern.format("*"),)
    return Family(
        name, package, folder, globs, files, tuple(groups.split(",")), design,
        opts["rename"].replace("~", " ") if "rename" in opts else None,
        opts.get("role", "train"),
        tuple(x.replace("~", " ") for x in opts.get("exclude", "").split(",") if x),
        int(opts["index"]) if "index" in opts else None,
    )  # fmt: skip


def parse_table(text: str) -> tuple[Family, ...]:
    """Rows of `text` (comment lines start with #; indented lines continue a row)."""
    rows: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and rows:
            rows[-1] += " " + line.strip()
        else:
            rows.append(line.strip())
    return tuple(_row(r) for r in rows)


FAMILIES: tuple[Family, ...] = parse_table(TABLE)

#: Held-out family names per group, e.g. HELDOUT["LAT"] == ["Clear Sans", "Charis SIL"].
HELDOUT: dict[str, list[str]] = {}
for _fam in FAMILIES:
    for _g in _fam.groups if _fam.role == "heldout" else ():
        if _fam.name not in HELDOUT.setdefault(_g, []):
            HELDOUT[_g].append(_fam.name)


def core_sources() -> list[Source]:
    """The faces shipped in strtool/fonts, in table order."""
    return [s for f in FAMILIES for s in f.core_sources()]


def pool_sources() -> list[Source]:
    """Every installed style of every allowed family (each file once)."""
    seen: set[str] = set()
    out: list[Source] = []
    for fam in FAMILIES:
        for s in fam.pool_sources():
            if s.path not in seen:
                seen.add(s.path)
                out.append(s)
    return out


#: The shipped core faces.
SOURCES: tuple[Source, ...] = tuple(core_sources())

#: Packages to `apt-get install -y --no-install-recommends` before building the core set
#: (`PACKAGES`) or the full pool (`POOL_PACKAGES`).
PACKAGES: tuple[str, ...] = tuple(sorted({s.package for s in SOURCES}))
POOL_PACKAGES: tuple[str, ...] = tuple(sorted({f.package for f in FAMILIES}))
