"""`FontFace`: one face of a font file (its own module, so the font checker, the
coverage report and font discovery can all name it without importing each other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: Font collection suffixes: their faces are addressed by index.
COLLECTIONS = (".ttc", ".otc")


@dataclass(frozen=True)
class FontFace:
    """One face of a font file.

    `path`: the font file; `index`: face number inside a collection (0 otherwise);
    `family`/`style`: typographic names from the name table (IDs 16/17, else 1/2);
    `groups`: MLT script groups the face is meant for (known for shipped fonts, empty
    for user fonts); `role`: `train` or `heldout` (from a manifest; `train` otherwise)."""

    path: Path
    index: int = 0
    family: str = ""
    style: str = ""
    groups: tuple[str, ...] = field(default=(), compare=False)
    role: str = field(default="train", compare=False)

    @property
    def name(self) -> str:
        """ "Family Style" (the style is left out when Regular)."""
        if not self.style or self.style.lower() == "regular":
            return self.family or self.path.stem
        return f"{self.family} {self.style}"

    @property
    def label(self) -> str:
        """File name, with `#index` for faces of a collection."""
        if self.path.suffix.lower() in COLLECTIONS:
            return f"{self.path.name}#{self.index}"
        return self.path.name
