"""mCLIP: a dual encoder aligning character crops with character prompts (stage 1 of
the two-stage mSTR recogniser).

- Image encoder: a light ResNet (BasicBlocks 32-64-128-256, strides 1-2-2-2) over
  character crops (N, C, H, W) -> global average pool -> Linear -> (N, D), L2-normalised.
- Text encoder: a 2-layer pre-norm Transformer over a prompt
  `<lang=hi> <type=diacritic> <char=ा>` tokenised WITHOUT a learned vocabulary of
  characters: token ids below S are the model's S special tokens (PAD, CLS, one
  `<lang=xx>` per language, one `<lang=GRP>` per MLT script group, one `<type=t>` per
  subtype; the list is stored with the model, see `PromptVocab`);
  an id `S + cp` is the code point `cp`, embedded as the sum of three learned
  tables for its Unicode plane (cp >> 16), row ((cp >> 8) & 255) and cell (cp & 255).
  Every code point therefore has an embedding and new characters (or languages of an
  already known script) need no new vocabulary. The outputs of the code-point tokens
  (which attend to the language and subtype tokens) are averaged -> LayerNorm ->
  Linear -> (M, D), L2-normalised. (Pooling the CLS output instead made all prompts
  start at cosine 0.996, and with the ArcFace term both towers collapsed to one point.)
- Similarity: cosine times a learnable temperature `exp(logit_scale)`, clamped to
  [1, 100] as in CLIP (Radford et al., 2021).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.models.spec import ModelSpec
from strtool.text.langs import GROUPS, LANGS

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

SUBTYPES: tuple[str, ...] = ("letter", "diacritic", "digit", "punctuation", "common")
#: Charset category name -> subtype.
CATEGORY_SUBTYPE: dict[str, str] = {
    "letters": "letter",
    "diacritics": "diacritic",
    "digits": "digit",
    "punctuation": "punctuation",
    "common": "common",
}
LANG_TOKENS: tuple[str, ...] = tuple(LANGS) + tuple(GROUPS)
PAD, CLS = 0, 1
MAX_CODEPOINTS = 4  # an entry is one code point; allow short clusters
PROMPT_TEMPLATE = "<lang={lang}> <type={type}> <char={char}>"
MAX_LOGIT_SCALE = math.log(100.0)


def default_prompt_tokens(langs: Sequence[str] = LANG_TOKENS) -> tuple[str, ...]:
    """The special tokens of a new text tower: PAD, CLS, `<lang=?>`, one `<lang=x>` per
    language code and group known today, one `<type=t>` per subtype. A checkpoint stores
    its own list, so languages added later never change its weight shapes."""
    return (
        ("<pad>", "<cls>", "<lang=?>")
        + tuple(f"<lang={x}>" for x in langs)
        + tuple(f"<type={t}>" for t in SUBTYPES)
    )


class PromptVocab:
    """Special tokens -> ids 0..S-1; code point `cp` -> id `S + cp`."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = tuple(tokens)
        if self.tokens[:3] != ("<pad>", "<cls>", "<lang=?>"):
            raise ValueError("prompt tokens must start with <pad>, <cls>, <lang=?>")
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.num_special = len(self.tokens)

    def tokenize(self, items: Sequence[tuple[str, str, str]]) -> Tensor:
        """Token ids (M, 3 + MAX_CODEPOINTS) of prompts `(char, lang_token, subtype)`.

        `lang_token` is a language code (`hi`) or a group name (`LAT`); ones without a
        token map to `<lang=?>`, unknown subtypes to `common`. Characters longer than
        `MAX_CODEPOINTS` code points are truncated (never happens for charset entries)."""
        out = torch.full((len(items), 3 + MAX_CODEPOINTS), PAD, dtype=torch.long)
        unknown_type = self.ids.get("<type=common>", self.ids["<lang=?>"])
        for i, (char, lang, subtype) in enumerate(items):
            out[i, 0] = CLS
            out[i, 1] = self.ids.get(f"<lang={lang}>", self.ids["<lang=?>"])
            out[i, 2] = self.ids.get(f"<type={subtype}>", unknown_type)
            for j, ch in enumerate(char[:MAX_CODEPOINTS]):
                out[i, 3 + j] = self.num_special + ord(ch)
        return out


DEFAULT_VOCAB = PromptVocab(default_prompt_tokens())


def prompt_text(char: str, lang: str, subtype: str) -> str:
    """The human-readable prompt (`PROMPT_TEMPLATE`) for metadata and logs."""
    return PROMPT_TEMPLATE.format(lang=lang, type=subtype, char=char)


def tokenize_prompts(
    items: Sequence[tuple[str, str, str]], vocab: PromptVocab = DEFAULT_VOCAB
) -> Tensor:
    """`vocab.tokenize(items)` (the default vocabulary of a new model)."""
    return vocab.tokenize(items)


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv-BN with identity (or 1x1 projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int | tuple[int, int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short: nn.Module = nn.Identity()
        if stride not in (1, (1, 1)) or cin != cout:
            self.short = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )
        self.out_channels = cout

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.short(x))


class CharImageEncoder(nn.Module):
    """(N, C, H, W) character crops -> (N, D) unit embeddings."""

    def __init__(
        self, in_channels: int = 3, dim: int = 256, widths: Sequence[int] = (32, 64, 128, 256)
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(BasicBlock(cin, w, 1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.proj = nn.Linear(cin, dim)
        self.out_channels = dim

    def forward(self, x: Tensor) -> Tensor:
        y = self.blocks(self.stem(x)).mean(dim=(2, 3))
        return F.normalize(self.proj(y), dim=-1)


class CodepointEmbedding(nn.Module):
    """Embedding of token ids: specials from a table, code points as
    plane + row + cell embeddings (see module docstring). (M, L) -> (M, L, d)."""

    def __init__(self, width: int, num_special: int) -> None:
        super().__init__()
        self.num_special = num_special
        self.special = nn.Embedding(num_special, width)
        self.plane = nn.Embedding(17, width)
        self.row = nn.Embedding(256, width)
        self.cell = nn.Embedding(256, width)

    def forward(self, ids: Tensor) -> Tensor:
        is_cp = ids >= self.num_special
        cp = (ids - self.num_special).clamp(min=0, max=0x10FFFF)
        cp_emb = self.plane(cp >> 16) + self.row((cp >> 8) & 255) + self.cell(cp & 255)
        sp_emb = self.special(ids.clamp(max=self.num_special - 1))
        return torch.where(is_cp.unsqueeze(-1), cp_emb, sp_emb)


class CharTextEncoder(nn.Module):
    """(M, L) prompt token ids -> (M, D) unit embeddings (mean of the code-point token
    outputs)."""

    def __init__(
        self, num_special: int, dim: int = 256, width: int = 128, layers: int = 2, heads: int = 4
    ) -> None:
        super().__init__()
        self.num_special = num_special
        self.embed = CodepointEmbedding(width, num_special)
        self.pos = nn.Parameter(torch.zeros(1, 3 + MAX_CODEPOINTS, width))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            width, heads, 4 * width, dropout=0.0, activation="gelu", batch_first=True,
            norm_first=True,
        )  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim)
        self.out_channels = dim

    def forward(self, ids: Tensor) -> Tensor:
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        x = self.encoder(x, src_key_padding_mask=ids == PAD)
        is_cp = (ids >= self.num_special).unsqueeze(-1).to(x.dtype)
        pooled = (x * is_cp).sum(1) / is_cp.sum(1).clamp(min=1.0)
        return F.normalize(self.proj(self.norm(pooled)), dim=-1)


class MCLIP(nn.Module):
    """The dual encoder. `forward(images, prompt_ids) -> (img (N,D), txt (M,D), scale)`;
    `subtype_logits(img_emb) -> (N, len(SUBTYPES))` for the optional subtype loss."""

    def __init__(
        self,
        in_channels: int = 3,
        dim: int = 256,
        widths: Sequence[int] = (32, 64, 128, 256),
        text_width: int = 128,
        text_layers: int = 2,
        text_heads: int = 4,
        prompt_tokens: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.vocab = PromptVocab(prompt_tokens or default_prompt_tokens())
        self.image_encoder = CharImageEncoder(in_channels, dim, widths)
        self.text_encoder = CharTextEncoder(
            self.vocab.num_special, dim, text_width, text_layers, text_heads
        )
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.subtype_head = nn.Linear(dim, len(SUBTYPES))
        self.dim = self.out_channels = dim

    def scale(self) -> Tensor:
        """The temperature `exp(logit_scale)` clamped to [1, 100] (gradient kept inside)."""
        return self.logit_scale.clamp(0.0, MAX_LOGIT_SCALE).exp()

    def encode_image(self, images: Tensor) -> Tensor:
        return self.image_encoder(images)

    def encode_text(self, ids: Tensor) -> Tensor:
        return self.text_encoder(ids)

    def tokenize(self, items: Sequence[tuple[str, str, str]]) -> Tensor:
        """Prompt ids in this model's own vocabulary (see `PromptVocab.tokenize`)."""
        return self.vocab.tokenize(items)

    def subtype_logits(self, img_emb: Tensor) -> Tensor:
        return self.subtype_head(img_emb)

    def forward(self, images: Tensor, ids: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.encode_image(images), self.encode_text(ids), self.scale()


class MCLIPOptions(TypedDict, total=False):
    """Options of the mCLIP builders (a run config's `model.options`)."""

    dim: int
    widths: Sequence[int]
    text_width: int
    text_layers: int
    text_heads: int


def mclip(spec: ModelSpec, **overrides: Unpack[MCLIPOptions]) -> MCLIP:
    """Default mCLIP: D=256, image widths 32-64-128-256, text width 128 x 2 layers."""
    return MCLIP(spec.channels, prompt_tokens=spec.prompt_tokens, **overrides)


def mclip_tiny(spec: ModelSpec, **overrides: Unpack[MCLIPOptions]) -> MCLIP:
    """Test-size mCLIP: D=64, image widths 16-32-64, text width 64 x 1 layer."""
    kw: MCLIPOptions = {"dim": 64, "widths": (16, 32, 64), "text_width": 64, "text_layers": 1}
    kw.update(overrides)
    return MCLIP(spec.channels, prompt_tokens=spec.prompt_tokens, **kw)
