"""The prototype bank: frozen mCLIP text embeddings of every character of the chosen
languages, the fixed classifier of the Spotter and the vocabulary of the Refiner.

Rows. By default one row per (script group, character): a character shared by several
languages of one group (Latin `a` in en and fr) is ONE row whose prompt uses the group
token (`<lang=LAT> <type=letter> <char=a>`), so its embedding does not depend on which
languages are in the bank. Characters of script Common shared by several groups
(digits, ASCII punctuation) get one row per group. `per_language=True` makes one row per
(language, character) with the language token. Row order is charset order, languages in
the given order; `extend` appends rows and never changes existing ones.

Files. `BANK.pt` holds `{"embeddings": FloatTensor (K, D)}` (torch.save) and `BANK.json`
the metadata: `rows` (char, script, group, langs, subtype, prompt), `checkpoint_sha256`,
`prompt_template`, `per_language`, `dim`, `langs`. Both are written atomically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from strtool.errors import InputError
from strtool.models.mclip import (
    CATEGORY_SUBTYPE,
    MCLIP,
    PROMPT_TEMPLATE,
    prompt_text,
)
from strtool.outputs import Kind, atomic_file, atomic_write_text
from strtool.text.langs import lang_group
from strtool.text.script import char_script


class CharsetLike(Protocol):
    """What a bank needs of a charset (`strtool.text.charset.Charset`, read-only)."""

    @property
    def lang(self) -> str: ...

    @property
    def script(self) -> str: ...

    @property
    def chars(self) -> tuple[str, ...]: ...

    def category_of(self, ch: str) -> str | None: ...


@dataclass(frozen=True)
class BankEntry:
    """One bank row. `prompt_lang` is the `<lang=...>` token of its prompt."""

    char: str
    script: str | None
    group: str
    langs: tuple[str, ...]
    subtype: str
    prompt_lang: str

    @property
    def prompt(self) -> str:
        return prompt_text(self.char, self.prompt_lang, self.subtype)

    def key(self, per_language: bool) -> tuple[str, str]:
        return (self.prompt_lang, self.char) if per_language else (self.group, self.char)


@dataclass
class PrototypeBank:
    """`embeddings` (K, D) float32 unit rows; `entries[k]` describes row k."""

    embeddings: Tensor
    entries: list[BankEntry]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.embeddings.shape[0] != len(self.entries):
            raise InputError(
                f"bank: {self.embeddings.shape[0]} embeddings for {len(self.entries)} rows"
            )
        self._by_char: dict[str, list[int]] = {}
        for k, e in enumerate(self.entries):
            self._by_char.setdefault(e.char, []).append(k)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def chars(self) -> list[str]:
        return [e.char for e in self.entries]

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def has(self, char: str) -> bool:
        return char in self._by_char

    def row_of(self, char: str, lang: str | None = None) -> int | None:
        """Row of `char` for a sample of language `lang`: the row of that language
        (per-language banks) or of its group, else the first row of `char`; None if
        the character is not in the bank."""
        rows = self._by_char.get(char)
        if not rows:
            return None
        if lang is not None and len(rows) > 1:
            try:
                group = lang_group(lang)
            except Exception:  # noqa: BLE001 - unknown tag: fall back to the first row
                group = None
            for k in rows:
                e = self.entries[k]
                if e.prompt_lang == lang or (group is not None and e.group == group):
                    return k
        return rows[0]

    def to_payload(self) -> dict[str, Any]:
        """Plain dict for checkpoints (a model carries its bank)."""
        return {"embeddings": self.embeddings.clone(), "meta": self.metadata()}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PrototypeBank:
        meta = dict(payload["meta"])
        rows = meta.pop("rows")
        entries = [_entry_from_dict(r) for r in rows]
        return cls(payload["embeddings"].float(), entries, meta)

    def metadata(self) -> dict[str, Any]:
        rows = [{**asdict(e), "langs": list(e.langs), "prompt": e.prompt} for e in self.entries]
        return {**self.meta, "dim": self.dim, "size": len(self), "rows": rows}

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write `path` (.pt) and its `.json` sidecar atomically; return both paths."""
        path = Path(path)
        meta_path = path.with_suffix(".json")
        with atomic_file(path) as f:
            torch.save({"embeddings": self.embeddings.contiguous()}, f)
        atomic_write_text(meta_path, json.dumps(self.metadata(), ensure_ascii=False, indent=1))
        return path, meta_path


def _entry_from_dict(r: dict[str, Any]) -> BankEntry:
    return BankEntry(
        r["char"], r.get("script"), r["group"], tuple(r["langs"]), r["subtype"], r["prompt_lang"]
    )


def load_bank(path: str | Path) -> PrototypeBank:
    """Read `path` (.pt) and its `.json` sidecar; bad or missing files -> `InputError`."""
    path = Path(path)
    meta_path = path.with_suffix(".json")
    for p in (path, meta_path):
        if not p.is_file():
            raise InputError(f"bank file not found: {p}")
    try:
        emb = torch.load(path, map_location="cpu", weights_only=True)["embeddings"]
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return PrototypeBank.from_payload({"embeddings": emb, "meta": meta})
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - any decoding failure is a bad bank
        raise InputError(f"{path}: not a readable bank ({type(e).__name__}: {e})") from None


def bank_problem(path: Path) -> str | None:
    """Why `path` is not a bank strtool wrote (`.pt` + `.json` sidecar that load), or None."""
    try:
        load_bank(path)
    except InputError as e:
        return str(e).split(": ", 1)[-1]
    return None


#: What `bank export --overwrite` may replace.
BANK_KIND = Kind("a prototype bank written by strtool", bank_problem)


def plan_entries(charsets: Iterable[CharsetLike], per_language: bool = False) -> list[BankEntry]:
    """Bank rows for `charsets` (in order), merging languages that share a row."""
    rows: dict[tuple[str, str], BankEntry] = {}
    for cs in charsets:
        group = lang_group(cs.lang)
        for ch in cs.chars:
            cat = cs.category_of(ch) or "common"
            subtype = CATEGORY_SUBTYPE.get(cat, "common")
            prompt_lang = cs.lang if per_language else group
            key = (prompt_lang, ch)
            old = rows.get(key)
            if old is None:
                rows[key] = BankEntry(
                    ch, char_script(ch[0]), group, (cs.lang,), subtype, prompt_lang
                )
            elif cs.lang not in old.langs:
                rows[key] = replace(old, langs=old.langs + (cs.lang,))
    return list(rows.values())


@torch.inference_mode()
def encode_entries(model: MCLIP, entries: Sequence[BankEntry], batch_size: int = 1024) -> Tensor:
    """Text-encoder embeddings (K, D) float32 of the entries' prompts (model in eval)."""
    model.eval()
    dev = next(model.parameters()).device
    out = [torch.empty(0, model.dim)]
    for i in range(0, len(entries), batch_size):
        chunk = entries[i : i + batch_size]
        ids = model.tokenize([(e.char, e.prompt_lang, e.subtype) for e in chunk])
        out.append(model.encode_text(ids.to(dev)).float().cpu())
    return torch.cat(out)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_bank(
    model: MCLIP,
    charsets: Sequence[CharsetLike],
    per_language: bool = False,
    checkpoint_sha256: str = "",
    extend: PrototypeBank | None = None,
) -> tuple[PrototypeBank, int]:
    """A bank for `charsets`, or `extend` plus the rows it lacks (existing rows are
    copied bitwise; only their `langs` metadata may grow). Returns (bank, new rows)."""
    planned = plan_entries(charsets, per_language)
    langs = [cs.lang for cs in charsets]
    if extend is None:
        meta: dict[str, Any] = {
            "checkpoint_sha256": checkpoint_sha256, "prompt_template": PROMPT_TEMPLATE,
            "per_language": per_language, "langs": langs,
        }  # fmt: skip
        return PrototypeBank(encode_entries(model, planned), planned, meta), len(planned)
    _check_extendable(extend, per_language, checkpoint_sha256)
    entries = list(extend.entries)
    index = {e.key(per_language): k for k, e in enumerate(entries)}
    new = []
    for e in planned:
        k = index.get(e.key(per_language))
        if k is None:
            new.append(e)
            continue
        old = entries[k]
        merged = old.langs + tuple(x for x in e.langs if x not in old.langs)
        entries[k] = replace(old, langs=merged)
    emb = torch.cat([extend.embeddings, encode_entries(model, new)])
    meta = dict(extend.meta)
    known = list(meta.get("langs", []))
    meta["langs"] = known + [x for x in langs if x not in known]
    return PrototypeBank(emb, entries + new, meta), len(new)


def _check_extendable(bank: PrototypeBank, per_language: bool, sha: str) -> None:
    if bool(bank.meta.get("per_language")) != per_language:
        raise InputError(
            f"bank is per_language={bank.meta.get('per_language')}; cannot extend with "
            f"per_language={per_language}"
        )
    if sha and bank.meta.get("checkpoint_sha256") and bank.meta["checkpoint_sha256"] != sha:
        raise InputError(
            "bank was exported from another mCLIP checkpoint "
            f"(sha256 {bank.meta['checkpoint_sha256'][:12]}..., this one {sha[:12]}...)"
        )


def load_mclip(path: str | Path) -> MCLIP:
    """The mCLIP model of a stage-1 checkpoint (eval mode, CPU)."""
    from strtool.engine.checkpoint import checkpoint_family, load_checkpoint
    from strtool.engine.config import config_from_dict
    from strtool.tasks.mclip import build_mclip

    ckpt = load_checkpoint(path)
    family = checkpoint_family(ckpt)
    if family != "mclip":
        raise InputError(f"{path}: not an mclip checkpoint (family: {family})")
    model = build_mclip(config_from_dict(ckpt["config"]), ckpt)
    model.load_state_dict(ckpt["model"])
    return model.eval()


def export_bank(
    checkpoint: str | Path,
    langs: str | Sequence[str] | None,
    per_language: bool = False,
    extend: str | Path | None = None,
) -> tuple[PrototypeBank, int]:
    """Bank of the charsets of `langs` (codes/groups, as `resolve_langs`) from an mCLIP
    checkpoint, or the bank file `extend` plus the missing rows. (bank, new rows)."""
    from strtool.text.charset import load_charsets

    model = load_mclip(checkpoint)
    base = load_bank(extend) if extend is not None else None
    if base is not None and "per_language" in base.meta:
        per_language = bool(base.meta["per_language"])
    charsets = load_charsets(langs if langs else None)
    return build_bank(model, charsets, per_language, file_sha256(checkpoint), base)
