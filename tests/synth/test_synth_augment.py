"""Augmentations for unseen fonts: shear keeps all ink, stroke change goes the right way,
tracking never touches Arabic/Indic shaping, render-large-then-downscale."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strtool.paths import fonts_dir
from strtool.synth.augment import compose
from strtool.synth.config import AugmentConfig, RenderConfig, SynthConfig
from strtool.synth.fonts import FontFace
from strtool.synth.geometry import change_stroke, shear_matrix, stroke, warp
from strtool.synth.render import TRACKING_LANGS, render_mask
from strtool.synth.words import downscale_draw, prepare_words, spacing_draw

LATIN = FontFace(fonts_dir() / "noto-sans" / "NotoSans-Regular.ttf")
ARABIC = FontFace(fonts_dir() / "noto-sans-arabic" / "NotoSansArabic-Regular.ttf")
DEVA = FontFace(fonts_dir() / "noto-sans-devanagari" / "NotoSansDevanagari-Regular.ttf")
BENGALI = FontFace(fonts_dir() / "noto-sans-bengali" / "NotoSansBengali-Regular.ttf")


def _only(**probs: float) -> AugmentConfig:
    """Every augmentation off except the named ones, at the given probabilities."""
    cfg = AugmentConfig.off()
    for name, p in probs.items():
        getattr(cfg, name).prob = p
    return cfg


# ---------------------------------------------------------------------------- shear
@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(8, 60),
    w=st.integers(8, 200),
    lo=st.floats(0, 40),
    span=st.floats(0, 5),
    left=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_shear_keeps_all_ink_inside_the_canvas(
    h: int, w: int, lo: float, span: float, left: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    mask = (rng.random((h, w)) < 0.3).astype(np.uint8) * 255
    mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = 255  # ink on every border
    cfg = _only(shear=1.0)
    cfg.shear.degrees = [lo, lo + span]
    cfg.shear.left_share = 1.0 if left else 0.0
    out = warp(mask, np.random.default_rng(seed), cfg)
    # a shear keeps areas: all ink mass is still there (resampling moves it a little)
    # (as Python ints: uint64 sums wrap around when subtracted inside approx)
    assert int(out.sum()) == pytest.approx(int(mask.sum()), rel=0.03)
    assert out.shape[0] in (h, h + 1)
    slant = math.tan(math.radians(lo)) * h
    assert out.shape[1] >= w + slant - 2


def test_shear_leans_right_or_left() -> None:
    m = shear_matrix(15.0, 40)
    top = m @ np.array([0.0, 0.0, 1.0])
    bottom = m @ np.array([0.0, 40.0, 1.0])
    assert top[0] > bottom[0] == 0.0  # the top moves right: italic-like
    assert (shear_matrix(-15.0, 40) @ np.array([0.0, 0.0, 1.0]))[0] < 0.0


def test_shear_in_the_whole_chain_keeps_the_text() -> None:
    mask = render_mask("Hamburgefonts", LATIN, 40, "en")
    cfg = _only(shear=1.0)
    cfg.shear.degrees = [25, 25]
    render = RenderConfig(margin=[0.0, 0.0])
    img = compose(mask, np.random.default_rng(0), cfg, render, 32)
    plain = compose(mask, np.random.default_rng(0), _only(), render, 32)
    assert img.shape[1] > plain.shape[1]  # wider: the slant, not a cut


# --------------------------------------------------------------------------- stroke
@pytest.mark.parametrize("delta", [0.4, 1.0, 1.7, 2.5])
def test_stroke_change_moves_ink_area_the_right_way(delta: float) -> None:
    mask = render_mask("Stroke width", LATIN, 48, "en")
    base = float(mask.sum())
    assert float(change_stroke(mask, delta).sum()) > base
    assert float(change_stroke(mask, -min(delta, 1.0)).sum()) < base
    bigger, smaller = change_stroke(mask, delta + 0.5), change_stroke(mask, -0.4)
    assert float(bigger.sum()) > float(change_stroke(mask, delta).sum())
    assert float(smaller.sum()) > float(change_stroke(mask, -1.0).sum())


def test_stroke_augmentation_respects_sign_and_skips_destructive_erosion() -> None:
    mask = render_mask("Bold and light", LATIN, 40, "en")
    cfg = _only(stroke=1.0)
    cfg.stroke.width = [0.03, 0.04]
    assert stroke(mask, np.random.default_rng(1), cfg).sum() > mask.sum()
    cfg.stroke.width = [-0.012, -0.008]
    assert stroke(mask, np.random.default_rng(1), cfg).sum() < mask.sum()
    thin = np.zeros((40, 40), np.uint8)
    thin[20, 5:35] = 255  # a hairline: eroding it would erase it
    cfg.stroke.width = [-0.2, -0.2]
    assert np.array_equal(stroke(thin, np.random.default_rng(1), cfg), thin)


# -------------------------------------------------------------------------- spacing
ARABIC_TEXT = "العربية مستشفى"
HINDI_TEXT = "क्षत्रिय हिन्दी"
BENGALI_TEXT = "রাষ্ট্র ক্ষমা"


@pytest.mark.parametrize(
    ("face", "lang", "text"),
    [(ARABIC, "ar", ARABIC_TEXT), (DEVA, "hi", HINDI_TEXT), (BENGALI, "bn", BENGALI_TEXT)],
)
def test_spacing_leaves_arabic_and_indic_shaping_untouched(
    face: FontFace, lang: str, text: str
) -> None:
    assert lang not in TRACKING_LANGS
    plain = render_mask(text, face, 36, lang)
    for em in (-0.03, 0.1, 0.3):
        assert np.array_equal(render_mask(text, face, 36, lang, spacing=em), plain)


def test_spacing_widens_latin_by_the_tracking() -> None:
    text = "spacing"
    plain = render_mask(text, LATIN, 40, "en")
    spaced = render_mask(text, LATIN, 40, "en", spacing=0.25)
    assert spaced.shape[0] == plain.shape[0]
    expected = (len(text) - 1) * 0.25 * 40
    assert spaced.shape[1] - plain.shape[1] == pytest.approx(expected, abs=3)
    assert int(spaced.sum()) == pytest.approx(int(plain.sum()), rel=0.05)  # same glyphs


def test_spacing_prob_does_not_change_arabic_or_hindi_samples(tmp_path) -> None:
    """The words job draws the same numbers whatever the language, so an Arabic or
    Hindi sample is byte-identical with tracking always on or always off."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("\u0645\u0631\u062d\u0628\u0627\n", encoding="utf-8")
    hindi = tmp_path / "h.txt"
    hindi.write_text("\u0939\u093f\u0928\u094d\u0926\u0940\n", encoding="utf-8")
    latin = tmp_path / "l.txt"
    latin.write_text("spacing\n", encoding="utf-8")
    for lang, path, face, same in (("ar", corpus, ARABIC, True), ("hi", hindi, DEVA, True),
                                   ("en", latin, LATIN, False)):  # fmt: skip
        images = []
        for prob in (0.0, 1.0):
            cfg = SynthConfig()
            cfg.augment.spacing.prob = prob
            cfg.augment.spacing.em = [0.3, 0.3]
            job, _ = prepare_words(lang, cfg, [face.path], seed=5, corpus_files=[path])
            images.append([job.make(i).image for i in range(6)])
        assert (images[0] == images[1]) is same, lang


# ------------------------------------------------------------------------ downscale
def test_downscale_draws() -> None:
    cfg = _only()
    rng = np.random.default_rng(0)
    assert downscale_draw(rng, cfg) == (1.0, False)
    cfg.downscale.prob, cfg.downscale.factor = 1.0, [2.0, 3.0]
    factors = [downscale_draw(rng, cfg)[0] for _ in range(50)]
    assert all(2.0 <= f <= 3.0 for f in factors)
    assert spacing_draw(rng, cfg) == 0.0


def test_downscaled_render_has_the_stored_height_and_the_same_layout() -> None:
    render = RenderConfig(margin=[0.1, 0.1])
    big = render_mask("Camera", LATIN, 90, "en")
    small = render_mask("Camera", LATIN, 30, "en")
    a = compose(big, np.random.default_rng(0), _only(), render, 32, shrink=3.0)
    b = compose(small, np.random.default_rng(0), _only(), render, 32)
    assert a.shape[0] == b.shape[0] == 32
    assert abs(a.shape[1] - b.shape[1]) <= 3
    c = compose(big, np.random.default_rng(0), _only(), render, 32, shrink=3.0, linear=True)
    assert c.shape == a.shape and not np.array_equal(a, c)  # aliasing differs
