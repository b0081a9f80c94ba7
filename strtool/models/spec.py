"""`ModelSpec`: what every architecture builder receives besides its own options.

One builder signature for every family: `builder(spec: ModelSpec, **options) -> nn.Module`.
Each family reads the fields it needs and ignores the others:

- CTC recognisers (CRNN, SVTR): `channels`, `img_size`, `num_classes`.
- mCLIP: `channels`, `prompt_tokens` (the special-token vocabulary of its text tower,
  stored in its checkpoint so that new languages never change existing weight shapes).
- Spotter: `channels`, `img_size`, `bank` (K, D).
- Refiner: `bank`, `level_channels` (the Spotter's feature levels), `max_len`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class ModelSpec:
    """Input geometry and the data-dependent sizes of a model."""

    channels: int = 3
    img_size: tuple[int, int] = (32, 100)
    num_classes: int = 0
    bank: Tensor | None = None
    level_channels: tuple[int, ...] = ()
    prompt_tokens: tuple[str, ...] = ()
    max_len: int = 25

    def need_bank(self, arch: str) -> Tensor:
        """The bank, or `ValueError` naming the architecture that needs one."""
        if self.bank is None:
            raise ValueError(f"{arch} needs a prototype bank (ModelSpec.bank)")
        return self.bank
