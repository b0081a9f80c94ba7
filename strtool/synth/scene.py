"""Generated scene strings: numbers, prices, dates, times, phone numbers, percentages,
codes (room, gate, platform, model numbers such as `B12`, `A-7`, `12C`).

Formats follow local habits per language (decimal comma in fr/de/it, `€` after the
amount, `年月日` dates in zh/ja, `년 월 일` in ko, local currency signs). Arabic,
Hindi and Bengali strings use their native digits (Arabic-Indic ٠-٩, Devanagari ०-९,
Bengali ০-৯) with probability `native_prob`, else ASCII digits; Arabic strings with
native digits also use the Arabic decimal/thousands separators and percent sign.
Output is logical order; the caller NFC-normalises and checks the charset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

_T = TypeVar("_T")

#: First code point of each native digit block (digit d is chr(base + d)).
NATIVE_DIGITS: dict[str, int] = {"ar": 0x0660, "hi": 0x0966, "bn": 0x09E6}

#: Currency formats per language: (prefix, suffix) alternatives.
CURRENCY: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (("$", ""), ("£", ""), ("€", "")),
    "fr": (("", " €"), ("", "€")),
    "de": (("", " €"), ("", "€")),
    "it": (("€ ", ""), ("", " €")),
    "ar": (("", " ر.س"), ("", " د.إ"), ("", " ج.م"), ("", " ريال")),
    "hi": (("₹", ""), ("₹ ", ""), ("रु ", "")),
    "bn": (("৳", ""), ("", " টাকা"), ("₹", "")),
    "zh": (("¥", ""), ("", "元")),
    "ja": (("¥", ""), ("", "円")),
    "ko": (("₩", ""), ("", "원")),
}

#: (decimal separator, thousands separator) per language (ASCII-digit form).
SEPARATORS: dict[str, tuple[str, str]] = {
    "fr": (",", " "),
    "de": (",", "."),
    "it": (",", "."),
}

_AR_DECIMAL, _AR_THOUSANDS, _AR_PERCENT = "\u066b", "\u066c", "\u066a"


def _pick(rng: np.random.Generator, items: Sequence[_T]) -> _T:
    return items[int(rng.integers(len(items)))]


def _group(digits: str, sep: str) -> str:
    """Insert a thousands separator every three digits from the right."""
    head = digits
    parts: list[str] = []
    while len(head) > 3:
        parts.insert(0, head[-3:])
        head = head[:-3]
    return sep.join([head, *parts]) if sep else digits


def _number(lang: str, rng: np.random.Generator, decimals: bool) -> str:
    dec, thou = SEPARATORS.get(lang, (".", ","))
    n = str(int(rng.integers(1, 10 ** int(rng.integers(1, 7)))))
    body = _group(n, thou) if rng.random() < 0.5 else n
    if decimals:
        body += dec + f"{int(rng.integers(0, 100)):02d}"
    return body


def number(lang: str, rng: np.random.Generator) -> str:
    """An integer or decimal number, sometimes with thousands separators."""
    return _number(lang, rng, decimals=rng.random() < 0.3)


def price(lang: str, rng: np.random.Generator) -> str:
    """An amount with the local currency sign or word."""
    pre, suf = _pick(rng, CURRENCY.get(lang, CURRENCY["en"]))
    return f"{pre}{_number(lang, rng, decimals=rng.random() < 0.5)}{suf}"


def date(lang: str, rng: np.random.Generator) -> str:
    """A calendar date in a local numeric format."""
    y, m, d = int(rng.integers(1950, 2036)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    if lang in ("zh", "ja"):
        return f"{y}年{m}月{d}日"
    if lang == "ko":
        return f"{y}년 {m}월 {d}일"
    if lang == "en":
        return _pick(rng, (f"{m}/{d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}"))
    if lang == "de":
        return _pick(rng, (f"{d:02d}.{m:02d}.{y}", f"{d}.{m}.{y % 100:02d}"))
    return _pick(rng, (f"{d:02d}/{m:02d}/{y}", f"{d}-{m}-{y}", f"{y}-{m:02d}-{d:02d}"))


def time_of_day(lang: str, rng: np.random.Generator) -> str:
    """A clock time (24 h, or 12 h with AM/PM in English)."""
    h, mi = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    if lang == "en" and rng.random() < 0.5:
        return f"{(h % 12) or 12}:{mi:02d} {'AM' if h < 12 else 'PM'}"
    if lang in ("zh", "ja") and rng.random() < 0.3:
        return f"{h}時{mi:02d}分" if lang == "ja" else f"{h}点{mi:02d}分"
    sep = "h" if lang == "fr" and rng.random() < 0.5 else ":"
    return f"{h:02d}{sep}{mi:02d}"


def phone(lang: str, rng: np.random.Generator) -> str:
    """A phone number in a common grouping."""

    def digits(k: int) -> str:
        return "".join(str(int(x)) for x in rng.integers(0, 10, size=k))

    if lang == "en":
        return _pick(
            rng, (f"({digits(3)}) {digits(3)}-{digits(4)}", f"+44 {digits(4)} {digits(6)}")
        )
    if lang == "fr":
        return "0" + str(int(rng.integers(1, 10))) + " " + " ".join(digits(2) for _ in range(4))
    if lang in ("zh", "ja", "ko"):
        return f"{digits(3)}-{digits(4)}-{digits(4)}"
    return _pick(
        rng, (f"+{digits(2)} {digits(3)} {digits(3)} {digits(4)}", f"{digits(4)} {digits(6)}")
    )


def percent(lang: str, rng: np.random.Generator) -> str:
    """A percentage (a space before % in French)."""
    n = (
        _number(lang, rng, decimals=rng.random() < 0.3)
        if rng.random() < 0.2
        else str(int(rng.integers(0, 101)))
    )
    return f"{n} %" if lang == "fr" else f"{n}%"


def code(lang: str, rng: np.random.Generator) -> str:
    """A short code of capital Latin letters and digits (`B12`, `A-7`, `12C`, `No. 5`
    in English); digits only with a dash for scripts without Latin letters."""
    n = str(int(rng.integers(1, 10 ** int(rng.integers(1, 4)))))
    if lang not in ("en", "fr", "de", "it"):
        return f"{n}-{int(rng.integers(1, 100))}"
    letter = chr(ord("A") + int(rng.integers(26)))
    forms = [f"{letter}{n}", f"{letter}-{n}", f"{n}{letter}", f"{letter}{letter}{n}"]
    if lang == "en":
        forms.append(f"No. {n}")
    return _pick(rng, forms)


KINDS: tuple[Callable[[str, np.random.Generator], str], ...] = (
    number,
    code,
    price,
    date,
    time_of_day,
    phone,
    percent,
)


def to_native(text: str, lang: str) -> str:
    """ASCII digits of `text` replaced by the native digits of `lang` (Arabic also
    gets its own decimal separator, thousands separator and percent sign)."""
    base = NATIVE_DIGITS.get(lang)
    if base is None:
        return text
    out = "".join(chr(base + ord(c) - 48) if "0" <= c <= "9" else c for c in text)
    if lang == "ar":
        out = out.replace(".", _AR_DECIMAL).replace(",", _AR_THOUSANDS).replace("%", _AR_PERCENT)
        out = out.replace("ر" + _AR_DECIMAL + "س", "ر.س").replace("د" + _AR_DECIMAL + "إ", "د.إ")
        out = out.replace("ج" + _AR_DECIMAL + "م", "ج.م")
    return out


def scene_string(lang: str, rng: np.random.Generator, native_prob: float = 0.5) -> str:
    """One scene string of a random kind for `lang`, in native digits with
    probability `native_prob` where the script has its own digits."""
    text = _pick(rng, KINDS)(lang, rng)
    if lang in NATIVE_DIGITS and rng.random() < native_prob:
        text = to_native(text, lang)
    return text
