"""Prototype bank: planning rows, export/reload round trip, extension is bitwise stable."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from strtool.errors import InputError
from strtool.models import ModelSpec
from strtool.models.mclip import mclip_tiny as _mclip_tiny
from strtool.mstr.bank import build_bank, load_bank, plan_entries
from strtool.text.charset import Charset

torch.set_num_threads(1)


def cs(lang: str, script: str, letters: str, digits: str = "", marks: str = "") -> Charset:
    cats = {"letters": tuple(letters), "diacritics": tuple(marks), "digits": tuple(digits),
            "punctuation": (), "common": ()}  # fmt: skip
    return Charset(lang=lang, script=script, categories=cats)


EN = cs("en", "Latin", "abc", "01")
FR = cs("fr", "Latin", "abcé", "01")
HI = cs("hi", "Devanagari", "कख", "01", "ा")


def test_plan_merges_languages_of_one_group() -> None:
    rows = plan_entries([EN, FR, HI])
    keys = [(e.group, e.char) for e in rows]
    assert len(keys) == len(set(keys)) == 5 + 1 + 5
    a = rows[0]
    assert (a.char, a.langs, a.prompt_lang, a.subtype) == ("a", ("en", "fr"), "LAT", "letter")
    assert a.prompt == "<lang=LAT> <type=letter> <char=a>"
    mark = next(e for e in rows if e.char == "ा")
    assert mark.subtype == "diacritic" and mark.script == "Devanagari" and mark.group == "HIN"
    digit_groups = sorted(e.group for e in rows if e.char == "0")
    assert digit_groups == ["HIN", "LAT"]  # Common chars: one row per group


def test_plan_per_language() -> None:
    rows = plan_entries([EN, FR], per_language=True)
    assert len(rows) == 5 + 6
    assert {e.prompt_lang for e in rows if e.char == "a"} == {"en", "fr"}


def test_round_trip_and_row_lookup(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _mclip_tiny(ModelSpec(1))
    bank, n_new = build_bank(model, [EN, HI], checkpoint_sha256="ab" * 32)
    assert n_new == len(bank) == 10
    assert torch.allclose(bank.embeddings.norm(dim=1), torch.ones(len(bank)), atol=1e-5)
    pt, js = bank.save(tmp_path / "bank.pt")
    assert pt.is_file() and js.is_file()
    again = load_bank(pt)
    assert torch.equal(again.embeddings, bank.embeddings)
    assert again.entries == bank.entries
    assert again.meta["checkpoint_sha256"] == "ab" * 32
    assert again.meta["prompt_template"] == "<lang={lang}> <type={type}> <char={char}>"
    zero_hi = again.row_of("0", "hi")
    assert again.entries[zero_hi].group == "HIN"
    assert again.entries[again.row_of("0", "en")].group == "LAT"
    assert again.row_of("z") is None


def test_extend_keeps_existing_rows_bitwise(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _mclip_tiny(ModelSpec(1))
    base, _ = build_bank(model, [EN], checkpoint_sha256="cd" * 32)
    base.save(tmp_path / "b.pt")
    loaded = load_bank(tmp_path / "b.pt")
    ext, n_new = build_bank(model, [FR, HI], checkpoint_sha256="cd" * 32, extend=loaded)
    assert n_new == 1 + 5  # é + the Devanagari rows
    k = len(base)
    assert torch.equal(ext.embeddings[:k], base.embeddings)
    assert [e.char for e in ext.entries[:k]] == [e.char for e in base.entries]
    assert ext.entries[0].langs == ("en", "fr")
    assert ext.meta["langs"] == ["en", "fr", "hi"]
    # group-token prompts: a fresh export of en+fr+hi gives the same rows for en chars
    fresh, _ = build_bank(model, [EN, FR, HI])
    assert torch.allclose(fresh.embeddings[:k], base.embeddings, atol=1e-6)


def test_extend_refuses_other_checkpoint_or_mode(tmp_path: Path) -> None:
    model = _mclip_tiny(ModelSpec(1))
    base, _ = build_bank(model, [EN], checkpoint_sha256="cd" * 32)
    with pytest.raises(InputError, match="another mCLIP checkpoint"):
        build_bank(model, [FR], checkpoint_sha256="ef" * 32, extend=base)
    with pytest.raises(InputError, match="per_language"):
        build_bank(model, [FR], per_language=True, checkpoint_sha256="cd" * 32, extend=base)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_bank(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"junk")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="not a readable bank"):
        load_bank(tmp_path / "bad.pt")
