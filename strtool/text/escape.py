"""Escaping of multi-line texts in one-line-per-sample files (tsv gt and predictions).

A tsv gt or prediction file holds one sample per line, so a line or page label that
contains line breaks is written with escapes:

- a line break is written as the two characters backslash + `n`;
- a tab as backslash + `t` (`strtool predict` and `eval --dump` write tabs so);
- a backslash is written as two backslashes.

Nothing else is escaped. `unescape_text` reverses it: `\\\\` -> one backslash, `\\n`
-> a line break, `\\t` -> a tab; a backslash before any other character (or at the
end) is kept as it is, so a file written by another tool with a lone `\\` in a label
reads unchanged.
`unescape_text(escape_text(s)) == s` for every string `s` (property-tested).

`strtool lmdb export` writes its `gt.txt` this way (its marker `.strtool.json` says
`"escapes": "backslash-n"`), `strtool make-lmdb` reads such a folder back unescaped
(or any tsv with `--escaped`), and `strtool eval --pred/--gt` unescapes both files
(`--no-escapes` reads texts verbatim).
"""

from __future__ import annotations

import regex

#: Name of this escaping, as stored in markers and metadata.
ESCAPES = "backslash-n"

_UNESCAPE = regex.compile(r"\\([\\nt])")
_CHAR = {"\\": "\\", "n": "\n", "t": "\t"}


def escape_text(text: str) -> str:
    """`text` with every backslash doubled, line breaks written `\\n`, tabs `\\t`."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def _one(m: regex.Match[str]) -> str:
    return _CHAR[m.group(1)]


def unescape_text(text: str) -> str:
    """The text `escape_text` was given: `\\\\` -> backslash, `\\n` -> line break,
    `\\t` -> tab, any other backslash kept."""
    if "\\" not in text:
        return text
    return str(_UNESCAPE.sub(_one, text))
