"""CLL-STR compatibility: labels as tab-separated units, Arabic in visual order with
presentation forms. The helper below builds such labels independently of the code
under test (reversal + a shaping-free isolated-form table from unicodedata)."""

import unicodedata

import pytest
from conftest import png_bytes

from strtool.data.build import make_lmdb
from strtool.data.cll import cll_to_logical, reorder_line, unshape
from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import DataError


def _form_table() -> dict[str, str]:
    """Base letters (or lam-alef pairs) -> their isolated presentation form."""
    table: dict[str, str] = {}
    for cp in list(range(0xFB50, 0xFE00)) + list(range(0xFE70, 0xFF00)):
        dec = unicodedata.decomposition(chr(cp))
        if dec.startswith("<isolated>"):
            base = "".join(chr(int(h, 16)) for h in dec.split()[1:])
            table.setdefault(base, chr(cp))
    return table


FORMS = _form_table()


def to_cll(logical: str) -> str:
    """A CLL-style label: presentation forms (lam-alef as one ligature), visual order
    (whole line reversed, digit and Latin runs kept left to right), tabs between units."""
    units: list[str] = []
    i = 0
    while i < len(logical):
        pair = logical[i : i + 2]
        if pair in FORMS and len(pair) == 2:
            units.append(FORMS[pair])
            i += 2
        else:
            units.append(FORMS.get(logical[i], logical[i]))
            i += 1
    runs: list[list[str]] = []
    for u in units:
        ltr = u.isascii() and u.isalnum()
        if runs and runs[-1][0] == ltr:
            runs[-1][1].append(u)
        else:
            runs.append([ltr, [u]])
    visual: list[str] = []
    for ltr, seq in reversed(runs):
        visual.extend(seq if ltr else reversed(seq))
    return "\t".join(visual)


ARABIC = ["مرحبا", "السلام عليكم", "لا إله", "شارع 25", "متجر ABC للبيع", "سعر 3"]


def test_helper_makes_presentation_forms():
    s = to_cll("لا")
    assert s == "\ufefb" and unicodedata.bidirectional(s) == "AL"


@pytest.mark.parametrize("logical", ARABIC)
def test_arabic_back_to_logical(logical):
    cll = to_cll(logical)
    assert "\t" in cll or len(cll) == 1
    assert any(0xFB50 <= ord(c) <= 0xFEFF for c in cll)
    assert cll_to_logical(cll) == unicodedata.normalize("NFC", logical)


def test_lam_alef_ligature_expands_in_logical_order():
    assert cll_to_logical("\ufefb") == "\u0644\u0627"
    assert unshape("\ufef5") == unicodedata.normalize("NFKC", "\ufef5")


def test_only_presentation_forms_are_folded():
    # U+FB01 (fi ligature) and full-width digits are not Arabic forms: kept as is
    assert cll_to_logical("\ufb01\tx") == "\ufb01x"
    assert cll_to_logical("１２") == "１２"


@pytest.mark.parametrize("label", ["বাংলা", "हिन्दी", "क्षत्रिय"])
def test_indic_tabs_removed(label):
    units = [c for c in label]
    assert cll_to_logical("\t".join(units)) == label


def test_ltr_unchanged_and_reorder_self_inverse():
    assert cll_to_logical("hello 123") == "hello 123"
    for s in ARABIC + ["(مرحبا)", "3.14 شارع"]:
        assert reorder_line(reorder_line(s)) == s


def test_make_lmdb_compat_cll_from_lmdb(tmp_path):
    src = tmp_path / "cll"
    with LmdbWriter(src) as w:
        for lab in ARABIC:
            w.add(png_bytes(), to_cll(lab))
        w.add(png_bytes(), "\t".join("বাংলা"))
    res = make_lmdb(src, tmp_path / "out", compat="cll", lang="ar")
    assert res.format == "lmdb" and res.written == len(ARABIC) + 1
    labels = [s.label for s in LmdbReader(tmp_path / "out")]
    assert labels == ARABIC + ["বাংলা"]


def test_make_lmdb_compat_cll_from_tsv(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes())
    gt = tmp_path / "gt.txt"
    gt.write_text(f"a.png\t{to_cll('شارع 25')}\n", encoding="utf-8")
    with pytest.raises(DataError, match="1 malformed"):  # tabs in a tsv label
        make_lmdb(gt, tmp_path / "plain")
    res = make_lmdb(gt, tmp_path / "out", compat="cll", fmt="tsv")
    assert [s.label for s in LmdbReader(tmp_path / "out")] == ["شارع 25"]
    assert res.written == 1
