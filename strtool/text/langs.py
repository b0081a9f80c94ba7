"""Languages and the seven script groups of the ICDAR MLT-2019 benchmark.

Wherever the CLI or a config takes languages, it accepts language codes and group
names mixed, comma separated: `en,fr`, `LAT,ARA`, `all`.
"""

from __future__ import annotations

from collections.abc import Iterable

from strtool.errors import UnknownLanguageError

#: Language code -> Unicode script name (as used by `strtool.text.script`).
LANG_SCRIPT: dict[str, str] = {
    "en": "Latin",
    "fr": "Latin",
    "de": "Latin",
    "it": "Latin",
    "ar": "Arabic",
    "bn": "Bengali",
    "hi": "Devanagari",
    "zh": "Han",
    "ja": "Japanese",
    "ko": "Hangul",
}

#: The seven MLT-2019 script classes and the languages each covers.
GROUPS: dict[str, tuple[str, ...]] = {
    "ARA": ("ar",),
    "BEN": ("bn",),
    "CHI": ("zh",),
    "HIN": ("hi",),
    "JPN": ("ja",),
    "KOR": ("ko",),
    "LAT": ("en", "fr", "de", "it"),
}

LANGS: tuple[str, ...] = tuple(LANG_SCRIPT)

#: MLT-2019 gt "Script" column values -> group (case-insensitive lookup).
MLT_SCRIPT_NAMES: dict[str, str] = {
    "arabic": "ARA",
    "bangla": "BEN",
    "bengali": "BEN",
    "chinese": "CHI",
    "hindi": "HIN",
    "devanagari": "HIN",
    "japanese": "JPN",
    "korean": "KOR",
    "latin": "LAT",
}


def lang_group(lang: str) -> str:
    """Group name of a language code (`fr` -> `LAT`)."""
    for g, langs in GROUPS.items():
        if lang in langs:
            return g
    raise UnknownLanguageError(
        f"unknown language '{lang}' (known: {', '.join(LANGS)}; groups: {', '.join(GROUPS)})"
    )


def resolve_langs(spec: str | Iterable[str] | None) -> list[str]:
    """Expand a spec of codes and group names to an ordered, de-duplicated list of
    language codes. `None`, `""` and `all` mean every language."""
    if spec is None:
        return list(LANGS)
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for raw in items:
        tok = raw.strip()
        if not tok:
            continue
        if tok.lower() == "all":
            new: Iterable[str] = LANGS
        elif tok.upper() in GROUPS:
            new = GROUPS[tok.upper()]
        elif tok.lower() in LANG_SCRIPT:
            new = (tok.lower(),)
        else:
            raise UnknownLanguageError(
                f"unknown language or group '{tok}' "
                f"(languages: {', '.join(LANGS)}; groups: {', '.join(GROUPS)}, all)"
            )
        out.extend(x for x in new if x not in out)
    return out or list(LANGS)


def resolve_group(name: str) -> str:
    """Normalise a group name or an MLT 'Script' value (`Bangla` -> `BEN`)."""
    key = name.strip()
    if key.upper() in GROUPS:
        return key.upper()
    if key.lower() in MLT_SCRIPT_NAMES:
        return MLT_SCRIPT_NAMES[key.lower()]
    if key.lower() in LANG_SCRIPT:
        return lang_group(key.lower())
    raise UnknownLanguageError(f"unknown script or group '{name}'")
