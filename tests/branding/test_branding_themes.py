"""The fenced theme loader and the shipped themes (STYLE "Templates and themes")."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template, render_template_string
from jinja2 import TemplateNotFound
from markupsafe import escape

from app.branding import themes
from app.branding.contrast import AA_GRAPHICS, AA_TEXT, contrast_ratio
from app.branding.service import BrandView, accent_is_usable, primary_is_usable

SHIPPED = ("default", "classic", "midnight")
CLASSES = (
    "page", "header", "brand-logo", "brand-name", "card", "invoice-meta", "badge", "badge--paid", "badge--open",
    "badge--past-due", "badge--void", "badge--uncollectible", "lines", "totals", "totals__due", "form-field",
    "form-field__error", "btn", "btn--primary", "btn--secondary", "alert", "alert--error", "alert--success",
    "receipt", "footer", "support", "visually-hidden",
    "layout--header-band", "layout--header-plain", "layout--align-center", "layout--lines-striped",
    # the portal's markup (app/templates/portal): aliases and extras
    "num", "invoice-facts", "invoice-facts__due", "totals__total", "form-field--checkbox", "form-field__input",
    "methods__option", "receipt-stamp", "skip-link", "footer__note", "support__title", "challenge__actions",
)


def _brand(**overrides: Any) -> BrandView:
    theme = themes.load_theme(overrides.get("theme", "classic"))
    fields: dict[str, Any] = {
        "theme": theme.name, "display_name": "Acme <b>GmbH</b>", "primary_color": "#1f2a44",
        "accent_color": "#9a4a1c", "on_primary": "#ffffff", "logo_data_uri": None, "support_email": None,
        "support_phone": None, "support_url": None, "css_variables": dict(theme.tokens),
        "layout": dict(theme.layout),
    }
    return BrandView(**{**fields, **overrides})


# ---- the shipped themes ------------------------------------------------------

def test_the_shipped_themes_are_available() -> None:
    assert set(SHIPPED) <= set(themes.available_themes())
    assert themes.available_themes() == sorted(themes.available_themes())


@pytest.mark.parametrize("name", SHIPPED)
def test_each_theme_parses_with_the_required_tokens(name: str) -> None:
    theme = themes.load_theme(name)
    assert theme.name == name and theme.label and theme.description
    assert set(themes.REQUIRED_TOKENS) <= set(theme.tokens)
    for token in themes.COLOR_TOKENS:
        assert re.fullmatch(r"#[0-9a-f]{6}", theme.tokens[token]), token
    assert set(theme.layout) == set(themes.LAYOUT_OPTIONS)
    with pytest.raises(TypeError):
        theme.tokens["--bg"] = "#000000"  # type: ignore[index]
    # Printed into a <style> element, escaped or not, a token reads the same.
    assert all(str(escape(value)) == value for value in theme.tokens.values())


@pytest.mark.parametrize("name", SHIPPED)
def test_each_theme_is_readable_by_its_own_rules(name: str) -> None:
    t = themes.load_theme(name).tokens
    for fg in ("--text", "--muted", "--link"):
        for bg in ("--bg", "--surface", "--surface-2", "--input-bg"):
            assert contrast_ratio(t[fg], t[bg]) >= AA_TEXT, (fg, bg)
    for status in ("danger", "success", "warning", "info", "neutral"):
        assert contrast_ratio(t[f"--{status}"], t[f"--{status}-bg"]) >= AA_TEXT, status
    assert contrast_ratio(t["--border-strong"], t["--input-bg"]) >= AA_GRAPHICS  # input outlines
    theme = themes.load_theme(name)
    assert primary_is_usable(t["--primary"]) and accent_is_usable(t["--accent"], theme)


def test_the_themes_are_distinct() -> None:
    loaded = [themes.load_theme(n) for n in SHIPPED]
    assert len({(t.tokens["--bg"], t.tokens["--primary"], t.tokens["--font-heading"]) for t in loaded}) == 3
    assert "serif" in themes.load_theme("classic").tokens["--font-heading"].split(",")[-1]
    midnight = themes.load_theme("midnight").tokens
    assert contrast_ratio(midnight["--bg"], "#000000") < 2 and contrast_ratio(midnight["--text"], "#ffffff") < 2


SHARED_CSS = Path(__file__).resolve().parents[2] / "app" / "static" / "portal.css"


def _css(name: str) -> str:
    """What a page with this theme loads: the shared components, then the theme."""
    path = themes.static_file(name, "theme.css")
    assert path is not None
    return SHARED_CSS.read_text(encoding="utf-8") + "\n" + path.read_text(encoding="utf-8")


def _without_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_stylesheet_is_self_contained_and_complete(name: str) -> None:
    css = _without_comments(_css(name))
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert "//" not in css  # no protocol-relative or absolute references either
    for cls in CLASSES:
        assert re.search(r"\." + re.escape(cls) + r"(?![\w-])", css), cls
    assert '[role="alert"]' in css
    for token in themes.REQUIRED_TOKENS:
        assert f"var({token})" in css, token


def test_the_shared_stylesheet_documents_its_class_names() -> None:
    header = SHARED_CSS.read_text(encoding="utf-8").split("*/", 2)[1]
    for cls in CLASSES:
        assert "." + cls in header, cls


# ---- fencing -----------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "../etc", "default/../../app", "/etc", "/etc/passwd", "..", ".", "", "Default", "default\n", " default",
    "default/", "x" * 65, "nope", "themes", "-default", "def ault", "%2e%2e", None, 5, "classic\x00",
])
def test_unknown_or_invalid_names_fall_back_to_default(name: Any) -> None:
    assert themes.load_theme(name).name == "default"
    assert not themes.theme_exists(name)


def test_valid_names_load_their_theme() -> None:
    assert themes.load_theme("classic").name == "classic"
    assert themes.load_theme("midnight").layout["lines"] == "striped"


@pytest.mark.parametrize(("theme", "filename"), [
    ("default", "../theme.toml"),
    ("default", "../../classic/static/theme.css"),
    ("default", "a/../../theme.toml"),
    ("default", "/etc/passwd"),
    ("default", "//etc/passwd"),
    ("default", ""),
    ("default", "."),
    ("default", "missing.css"),
    ("../default", "theme.css"),
    ("default/../classic", "theme.css"),
    ("/work", "theme.css"),
    ("nope", "theme.css"),
    ("Default", "theme.css"),
])
def test_static_file_refuses_anything_outside_the_theme_static_folder(theme: str, filename: str) -> None:
    assert themes.static_file(theme, filename) is None


def test_static_file_finds_the_stylesheet() -> None:
    path = themes.static_file("midnight", "theme.css")
    assert path is not None and path.is_file()
    assert path.resolve() == (themes.THEMES_DIR / "midnight" / "static" / "theme.css").resolve()


def test_themes_dir_is_the_repository_folder() -> None:
    assert Path(__file__).resolve().parents[2] / "themes" == themes.THEMES_DIR


@pytest.fixture()
def scratch_themes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private themes folder with a copy of the default theme."""
    shutil.copytree(themes.THEMES_DIR / "default", tmp_path / "default")
    monkeypatch.setattr(themes, "THEMES_DIR", tmp_path)
    return tmp_path


def test_a_symlink_out_of_the_static_folder_is_not_served(scratch_themes: Path) -> None:
    secret = scratch_themes.parent / "secret.txt"
    secret.write_text("s3cret")
    (scratch_themes / "default" / "static" / "leak.txt").symlink_to(secret)
    assert themes.static_file("default", "leak.txt") is None
    assert themes.static_file("default", "theme.css") is not None


def test_a_broken_theme_is_not_offered_and_falls_back(scratch_themes: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = scratch_themes / "broken"
    broken.mkdir()
    (broken / "theme.toml").write_text('name = "broken"\nlabel = "Broken"\n[tokens]\n--bg = "#ffffff"\n')
    quoted = scratch_themes / "quoted"
    shutil.copytree(scratch_themes / "default", quoted)
    toml = (quoted / "theme.toml").read_text().replace('name = "default"', 'name = "quoted"')
    (quoted / "theme.toml").write_text(toml.replace('--radius = "10px"', "--radius = '10px \"x'"))
    sneaky = scratch_themes / "sneaky"
    shutil.copytree(scratch_themes / "default", sneaky)
    toml = (sneaky / "theme.toml").read_text().replace('name = "default"', 'name = "sneaky"')
    (sneaky / "theme.toml").write_text(toml.replace('--radius = "10px"',
                                                    '--radius = "0;background:url(https://evil.example/x)"'))
    (scratch_themes / "notoml").mkdir()
    assert themes.available_themes() == ["default"]
    assert themes.load_theme("broken").name == "default"
    assert themes.load_theme("sneaky").name == "default"
    assert "lacks tokens" in caplog.text and "not allowed" in caplog.text


def test_without_a_default_theme_loading_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(themes, "THEMES_DIR", tmp_path)
    with pytest.raises(themes.ThemeError):
        themes.load_theme("default")


# ---- template overrides ------------------------------------------------------

def test_template_name_finds_the_override() -> None:
    assert themes.template_name("classic", "portal/_header.html") == "themes/classic/portal/_header.html"
    assert themes.template_name("default", "portal/_header.html") == "portal/_header.html"
    assert themes.template_name("midnight", "portal/_header.html") == "portal/_header.html"
    assert themes.template_name("classic", "portal/invoice.html") == "portal/invoice.html"


@pytest.mark.parametrize(("theme", "template"), [
    ("../classic", "portal/_header.html"),
    ("classic/..", "portal/_header.html"),
    ("nope", "portal/_header.html"),
    ("classic", "../theme.toml"),
    ("classic", "../static/theme.css"),
    ("classic", "/etc/passwd"),
    ("classic", "portal/../../theme.toml"),
])
def test_template_name_never_points_outside_a_theme(theme: str, template: str) -> None:
    assert not themes.template_name(theme, template).startswith("themes/")


@pytest.fixture()
def themed_app(tmp_path: Path) -> Flask:
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "_header.html").write_text('<header class="header">{{ brand.display_name }}</header>')
    (tmp_path / "page.html").write_text('{% include theme_template(brand.theme, "portal/_header.html") %}')
    app = Flask("themed", template_folder=str(tmp_path))
    themes.install(app)
    themes.install(app)  # idempotent
    return app


def test_install_serves_app_templates_and_theme_overrides(themed_app: Flask) -> None:
    with themed_app.app_context():
        default = render_template("page.html", brand=_brand(theme="default"))
        assert default == '<header class="header">Acme &lt;b&gt;GmbH&lt;/b&gt;</header>'
        classic = render_template("page.html", brand=_brand(theme="classic"))
        assert "header--letterhead" in classic
        assert '<span class="brand-name">Acme &lt;b&gt;GmbH&lt;/b&gt;</span>' in classic
        logo = "data:image/png;base64,iVBORw0KGgo="
        with_logo = render_template("page.html", brand=_brand(theme="classic", logo_data_uri=logo))
        assert f'<img class="brand-logo" src="{logo}" alt="Acme &lt;b&gt;GmbH&lt;/b&gt;">' in with_logo
        assert "brand-name" not in with_logo


@pytest.mark.parametrize("name", [
    "themes/classic/../default/theme.toml",
    "themes/classic/portal/../../theme.toml",
    "themes/classic/../../app/__init__.py",
    "themes/../app/__init__.py",
    "themes/Classic/portal/_header.html",
    "themes/classic",
    "themes//etc/passwd",
    "themes/classic//etc/passwd",
])
def test_the_template_loader_is_fenced(themed_app: Flask, name: str) -> None:
    with themed_app.app_context(), pytest.raises(TemplateNotFound):
        themed_app.jinja_env.get_template(name)


def test_the_override_is_listed(themed_app: Flask) -> None:
    with themed_app.app_context():
        assert "themes/classic/portal/_header.html" in themed_app.jinja_env.list_templates()
        assert render_template_string("{{ theme_template('nope', 'x.html') }}") == "x.html"


def test_overrides_are_looked_up_per_themes_folder(scratch_themes: Path) -> None:
    # Classic's override is remembered for the shipped folder, not for this one.
    assert themes.template_name("classic", "portal/_header.html") == "portal/_header.html"
    override = scratch_themes / "default" / "templates" / "portal"
    override.mkdir(parents=True)
    (override / "_header.html").write_text("<header></header>")
    assert themes.template_name("default", "portal/_header.html") == "themes/default/portal/_header.html"
