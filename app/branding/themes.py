"""Themes for the hosted page, the PDF and the emails (STYLE "Templates and themes").

A theme is a folder ``themes/<name>/`` at the repository root holding, in order
of importance:

1. ``theme.toml`` — data: ``name`` (= the folder), ``label``, ``description``,
   ``[tokens]`` (CSS custom properties, ``--bg = "#ffffff"``) and ``[layout]``
   options (see ``LAYOUT_OPTIONS``);
2. ``static/`` — files served as they are (``static/theme.css``);
3. ``templates/`` — overrides of app templates, same relative names
   (``templates/portal/_header.html`` overrides ``portal/_header.html``).

Every lookup is fenced: a theme name must match ``NAME_RE`` and is joined to
``THEMES_DIR`` with ``werkzeug.security.safe_join``; file names are joined the
same way under the theme's own ``static/`` or ``templates/`` folder. Anything
that does not resolve inside the fence is "not found" (``None`` here, a 404 in
the views), never an error that says why. An unknown or invalid theme name
falls back to ``DEFAULT_THEME``.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flask import Flask
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, TemplateNotFound
from werkzeug.security import safe_join

log = logging.getLogger(__name__)

THEMES_DIR = Path(__file__).resolve().parents[2] / "themes"
DEFAULT_THEME = "default"
TEMPLATE_PREFIX = "themes"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # used with fullmatch: no trailing newline slips through

# Tokens every theme defines. The colour ones must be #rrggbb: the branding
# service computes contrast against them.
COLOR_TOKENS = ("--bg", "--surface", "--text", "--muted", "--border", "--primary", "--accent")
REQUIRED_TOKENS = (*COLOR_TOKENS, "--radius", "--font-body", "--font-heading", "--shadow")

# Layout options with their allowed values; the first is the default.
LAYOUT_OPTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "header": ("band", "plain"),        # band: header on --primary; plain: on --bg with a rule
    "align": ("start", "center"),       # header and receipt alignment
    "lines": ("ruled", "striped"),      # how the lines table separates rows
})

_TOKEN_NAME = re.compile(r"--[a-z][a-z0-9-]{0,63}")
_HEX = re.compile(r"#[0-9a-f]{6}")
# Token values end up inside a <style> element: nothing that can close a
# declaration, a rule or the element, nothing that loads, and nothing HTML
# escaping would change (no quotes or ampersands: unquoted font names are valid
# CSS), so a template may print them escaped or not and get the same CSS.
_UNSAFE_VALUE = re.compile(r"[;{}<>\\\x00-\x1f\x7f\"'&]|url\s*\(|@import|expression\s*\(|/\*", re.IGNORECASE)


class ThemeError(ValueError):
    """A theme folder exists but its theme.toml is not a valid theme."""


@dataclass(frozen=True)
class Theme:
    """One parsed ``theme.toml``. ``tokens`` and ``layout`` are read-only mappings."""

    name: str
    label: str
    description: str
    tokens: Mapping[str, str]
    layout: Mapping[str, str]


def is_valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None


def _theme_dir(name: object, root: Path | None = None) -> Path | None:
    """``<root>/<name>`` (root: ``THEMES_DIR``) when the name is valid and the folder has a theme.toml."""
    if not isinstance(name, str) or not is_valid_name(name):
        return None
    joined = safe_join(str(root or THEMES_DIR), name)
    if joined is None:
        return None
    path = Path(joined)
    return path if (path / "theme.toml").is_file() else None


def _fenced_file(base: Path, relative: str) -> Path | None:
    """``base/relative`` if it is a regular file that really lies under ``base``."""
    if not isinstance(relative, str) or not relative:
        return None
    joined = safe_join(str(base), relative)
    if joined is None:
        return None
    path = Path(joined)
    try:
        # Resolving also defeats a symlink that points out of the folder.
        inside = path.resolve(strict=True).is_relative_to(base.resolve(strict=True))
    except (OSError, RuntimeError):
        return None
    return path if inside and path.is_file() else None


def _parse(name: str, data: Mapping[str, Any]) -> Theme:
    if data.get("name") != name:
        raise ThemeError(f"theme.toml of {name!r} must say name = {name!r}")
    label, description = data.get("label"), data.get("description", "")
    if not isinstance(label, str) or not label or not isinstance(description, str):
        raise ThemeError(f"theme {name!r} needs a label and a text description")
    raw_tokens = data.get("tokens")
    if not isinstance(raw_tokens, dict):
        raise ThemeError(f"theme {name!r} has no [tokens] table")
    tokens: dict[str, str] = {}
    for key, value in raw_tokens.items():
        if not _TOKEN_NAME.fullmatch(key) or not isinstance(value, str) or not value.strip():
            raise ThemeError(f"theme {name!r}: token {key!r} must be a --custom-property with a text value")
        if _UNSAFE_VALUE.search(value):
            raise ThemeError(f"theme {name!r}: token {key} has a value that is not allowed")
        tokens[key] = value.strip()
    missing = [t for t in REQUIRED_TOKENS if t not in tokens]
    if missing:
        raise ThemeError(f"theme {name!r} lacks tokens {', '.join(missing)}")
    for key in COLOR_TOKENS:
        tokens[key] = tokens[key].lower()
        if not _HEX.fullmatch(tokens[key]):
            raise ThemeError(f"theme {name!r}: token {key} must be #rrggbb")
    raw_layout = data.get("layout", {})
    if not isinstance(raw_layout, dict):
        raise ThemeError(f"theme {name!r}: [layout] must be a table")
    layout: dict[str, str] = {}
    for option, allowed in LAYOUT_OPTIONS.items():
        value = raw_layout.get(option, allowed[0])
        if value not in allowed:
            raise ThemeError(f"theme {name!r}: layout.{option} must be one of {', '.join(allowed)}")
        layout[option] = value
    unknown = set(raw_layout) - set(LAYOUT_OPTIONS)
    if unknown:
        raise ThemeError(f"theme {name!r}: unknown layout options {', '.join(sorted(unknown))}")
    return Theme(name=name, label=label, description=description,
                 tokens=MappingProxyType(tokens), layout=MappingProxyType(layout))


@lru_cache(maxsize=128)
def _read(name: str, path: str, mtime_ns: int) -> Theme | None:
    # Keyed by mtime so an edited theme.toml is picked up without a restart;
    # a broken one is logged once per version, not on every request.
    try:
        with open(path, "rb") as fh:
            return _parse(name, tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError, ThemeError) as exc:
        log.error("theme %r is unusable: %s", name, exc)
        return None


def _load_exact(name: str) -> Theme | None:
    """The named theme, or None when it does not exist or is broken."""
    toml = _toml_path(THEMES_DIR, name)
    if toml is None:
        return None
    try:
        status = os.stat(toml)
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return _read(name, toml, status.st_mtime_ns)


@lru_cache(maxsize=256)
def _toml_path(root: Path, name: str) -> str | None:
    # Only the fence (name check and safe_join), no filesystem access: every
    # page asks for its theme, and the stat in _load_exact is all it needs.
    if not is_valid_name(name):
        return None
    return safe_join(str(root), name, "theme.toml")


def available_themes() -> list[str]:
    """Names of the usable themes under ``THEMES_DIR``, sorted."""
    if not THEMES_DIR.is_dir():
        return []
    names = sorted(p.name for p in THEMES_DIR.iterdir() if p.is_dir() and is_valid_name(p.name))
    return [name for name in names if _load_exact(name) is not None]


def theme_exists(name: object) -> bool:
    return isinstance(name, str) and _load_exact(name) is not None


def load_theme(name: object) -> Theme:
    """The theme called ``name``; an unknown, invalid or broken name gives the default theme.

    Raises ThemeError only when the default theme itself is missing or broken
    (a deployment error).
    """
    theme = _load_exact(name) if isinstance(name, str) else None
    if theme is not None:
        return theme
    default = _load_exact(DEFAULT_THEME)
    if default is None:
        raise ThemeError(f"the {DEFAULT_THEME!r} theme is missing or broken under {THEMES_DIR}")
    return default


def static_file(theme_name: str, filename: str) -> Path | None:
    """``themes/<theme>/static/<filename>`` if it exists inside that folder, else None.

    No fallback to the default theme: a view answers 404 for None.
    """
    directory = _theme_dir(theme_name)
    if directory is None:
        return None
    return _fenced_file(directory / "static", filename)


def template_name(theme_name: str, template: str) -> str:
    """``"themes/<theme>/<template>"`` when the theme overrides ``template``, else ``template``.

    Pass the result to ``render_template`` / ``{% include %}`` in an app where
    ``install`` ran. An override is looked up once per process (and themes
    folder): it is a template, which Jinja also keeps for the life of the process
    once loaded, and the fenced lookup costs more than the rest of a page's header.
    """
    if _overrides(THEMES_DIR, theme_name, template):
        return f"{TEMPLATE_PREFIX}/{theme_name}/{template}"
    return template


@lru_cache(maxsize=256)
def _overrides(root: Path, theme_name: str, template: str) -> bool:
    directory = _theme_dir(theme_name, root)
    return directory is not None and _fenced_file(directory / "templates", template) is not None


class ThemeTemplateLoader(BaseLoader):
    """Loads ``"<theme>/<template>"`` from ``<root>/<theme>/templates/<template>``.

    The theme name is checked against ``NAME_RE`` and joined with
    ``safe_join``; the rest goes through Jinja's own FileSystemLoader, which
    refuses ``..`` segments. Anything else is TemplateNotFound.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _loader(self, theme: str) -> FileSystemLoader | None:
        if not is_valid_name(theme):
            return None
        joined = safe_join(str(self.root), theme, "templates")
        if joined is None or not Path(joined).is_dir():
            return None
        return FileSystemLoader(joined)

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        theme, _, rest = template.partition("/")
        loader = self._loader(theme) if rest else None
        if loader is None:
            raise TemplateNotFound(template)
        return loader.get_source(environment, rest)

    def list_templates(self) -> list[str]:
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for entry in sorted(self.root.iterdir()):
            loader = self._loader(entry.name)
            if loader is not None:
                found += [f"{entry.name}/{name}" for name in loader.list_templates()]
        return found


def _app_loader(app: Flask) -> BaseLoader:
    existing = app.jinja_loader
    if existing is not None:
        return existing
    return FileSystemLoader(str(Path(app.root_path) / (app.template_folder or "templates")))


def install(app: Flask) -> None:
    """Make theme overrides loadable as ``themes/<name>/<template>`` in ``app``.

    ``app.jinja_loader`` becomes a ChoiceLoader: the app's own templates
    first, then the themes under the ``themes/`` prefix. Also registers
    ``theme_template(theme, template)`` (= ``template_name``) as a Jinja global.
    Calling it twice changes nothing.
    """
    if app.extensions.get("vinr_themes"):
        return
    app.jinja_loader = ChoiceLoader([
        _app_loader(app),
        PrefixLoader({TEMPLATE_PREFIX: ThemeTemplateLoader(THEMES_DIR)}),
    ])
    app.add_template_global(template_name, "theme_template")
    app.extensions["vinr_themes"] = True


def css_declarations(variables: Iterable[tuple[str, str]]) -> str:
    """``--a:1;--b:2`` from (name, value) pairs that passed the theme checks."""
    return ";".join(f"{name}:{value}" for name, value in variables)
