from __future__ import annotations

import pytest

from app.branding.contrast import contrast_ratio, readable_on, relative_luminance, text_color_for


def test_black_on_white_is_21_and_the_ratio_is_symmetric() -> None:
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1.0)


@pytest.mark.parametrize(("color", "luminance"), [
    ("#ffffff", 1.0), ("#000000", 0.0), ("#ff0000", 0.2126), ("#00ff00", 0.7152), ("#0000ff", 0.0722),
    ("#808080", 0.2159),
])
def test_relative_luminance_matches_wcag(color: str, luminance: float) -> None:
    assert relative_luminance(color) == pytest.approx(luminance, abs=5e-4)


def test_known_greys_on_white() -> None:
    # #777777 is the classic "just fails AA" grey, #767676 the lightest that passes.
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.005)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.005)
    assert not readable_on("#777777", "#ffffff")
    assert readable_on("#767676", "#ffffff")


@pytest.mark.parametrize(("background", "text"), [
    ("#ffff00", "#111111"),  # yellow: white gives 1.07:1, near-black 17.6:1
    ("#000080", "#ffffff"),
    ("#1a56db", "#ffffff"),
    ("#ffffff", "#111111"),
    ("#777777", "#ffffff"),  # 4.48 beats 4.22, though neither reaches AA
])
def test_text_color_for_picks_the_higher_contrast(background: str, text: str) -> None:
    assert text_color_for(background) == text
    other = "#111111" if text == "#ffffff" else "#ffffff"
    assert contrast_ratio(text, background) >= contrast_ratio(other, background)


@pytest.mark.parametrize("bad", ["red", "#fff", "#12345g", "123456", "#1234567"])
def test_only_hex_colours_are_accepted(bad: str) -> None:
    with pytest.raises(ValueError):
        relative_luminance(bad)
