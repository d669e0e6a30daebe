"""Merchant branding (SPEC §3 Branding): the API's read and update, and the
``BrandView`` that the hosted page, the PDF and the emails render with.

Branding belongs to the account and is shared by both modes; no row means
the default theme with the account's name.

Readability rule (WCAG 2.x, see ``contrast``). The merchant's colours are
stored as sent, but a colour is only *used* when:

- primary: it is a fill under text, so the better of white / near-black
  (``text_color_for``) must reach 4.5:1 on it (AA, normal text);
- accent: it is used for links' underlines, focus rings and rules, so it must
  reach 3:1 (AA, non-text contrast 1.4.11) against the theme's page
  background ``--bg`` and card surface ``--surface``.

A colour that fails falls back to the theme's own; the API shows what is
used under ``effective``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Account, Branding
from app.accounts.service import Caller
from app.branding import themes
from app.branding.contrast import AA_GRAPHICS, contrast_ratio, readable_on, text_color_for
from app.branding.schemas import BrandingUpdate, decode_data_uri, logo_data_uri


@dataclass(frozen=True)
class BrandView:
    """Everything a template needs to brand a page; all values already checked.

    ``primary_color`` / ``accent_color`` are the *effective* colours (after
    the readability fallback). ``css_variables`` are the theme's tokens with
    ``--primary``, ``--accent`` and ``--on-primary`` replaced; names and values
    are safe to emit in a ``<style>`` element (see ``css_text``).
    """

    theme: str
    display_name: str
    primary_color: str
    accent_color: str
    on_primary: str
    logo_data_uri: str | None
    support_email: str | None
    support_phone: str | None
    support_url: str | None
    css_variables: dict[str, str]
    layout: dict[str, str] = field(default_factory=dict)

    @property
    def css_text(self) -> str:
        """``:root{--bg:#fff;…}``, for a ``<style>`` element (or a CSP-hashed one)."""
        return ":root{" + themes.css_declarations(self.css_variables.items()) + "}"

    @property
    def body_class(self) -> str:
        """Layout classes for ``<body>`` from the theme's [layout]: ``layout--header-band …``."""
        return " ".join(f"layout--{option}-{value}" for option, value in sorted(self.layout.items()))


def primary_is_usable(color: str) -> bool:
    return readable_on(text_color_for(color), color)


def accent_is_usable(color: str, theme: themes.Theme) -> bool:
    return all(contrast_ratio(color, theme.tokens[bg]) >= AA_GRAPHICS for bg in ("--bg", "--surface"))


def effective_colors(theme: themes.Theme, primary: str | None, accent: str | None) -> tuple[str, str]:
    """(primary, accent) to use with ``theme``: the merchant's when readable, else the theme's."""
    use_primary = primary if primary is not None and primary_is_usable(primary) else theme.tokens["--primary"]
    use_accent = accent if accent is not None and accent_is_usable(accent, theme) else theme.tokens["--accent"]
    return use_primary, use_accent


def get_branding(session: Session, caller: Caller) -> Branding | None:
    """The caller's account's branding row, or None when never set."""
    return session.get(Branding, caller.account.id)


def update_branding(session: Session, caller: Caller, params: BrandingUpdate) -> Branding:
    """Merge the given fields into the account's branding (creating the row); null clears."""
    branding = get_branding(session, caller)
    if branding is None:
        branding = Branding(account_id=caller.account.id, theme=themes.DEFAULT_THEME)
        session.add(branding)
    fields = params.model_fields_set
    if "theme" in fields:
        branding.theme = params.theme or themes.DEFAULT_THEME
    for name in ("display_name", "primary_color", "accent_color", "support_email", "support_phone", "support_url"):
        if name in fields:
            setattr(branding, name, getattr(params, name))
    if "logo" in fields:
        if params.logo is None:
            branding.logo, branding.logo_mime = None, None
        else:
            # Already validated (schemas._logo); only the base64 layer is undone here.
            branding.logo_mime, branding.logo = decode_data_uri(params.logo)
    branding.updated = clock.now()
    session.flush()
    return branding


def serialize(caller: Caller, branding: Branding | None) -> dict[str, Any]:
    """The ``branding`` object for ``caller`` (SPEC §3), defaults filled in."""
    stored_theme = branding.theme if branding is not None else themes.DEFAULT_THEME
    primary = branding.primary_color if branding is not None else None
    accent = branding.accent_color if branding is not None else None
    use_primary, use_accent = effective_colors(themes.load_theme(stored_theme), primary, accent)
    return {
        "object": "branding",
        "livemode": caller.livemode,
        "theme": stored_theme,
        "display_name": display_name(caller.account, branding),
        "primary_color": primary,
        "accent_color": accent,
        "logo": _logo(branding),
        "support_email": branding.support_email if branding is not None else None,
        "support_phone": branding.support_phone if branding is not None else None,
        "support_url": branding.support_url if branding is not None else None,
        "effective": {"primary_color": use_primary, "accent_color": use_accent},
        "themes": themes.available_themes(),
    }


def stored_logo(branding: Branding | None) -> tuple[bytes, str] | None:
    """The merchant's logo as stored, its bytes and their type, or None when there is none."""
    # The type first: the hosted page defers the logo's bytes, read here only when there is one.
    if branding is None or not branding.logo_mime or not branding.logo:
        return None
    return branding.logo, branding.logo_mime


def _logo(branding: Branding | None) -> str | None:
    logo = stored_logo(branding)
    return logo_data_uri(*logo) if logo is not None else None


def display_name(account: Account, branding: Branding | None) -> str:
    """The name the merchant shows customers: the branding's display name, else the account's."""
    return (branding.display_name if branding is not None else None) or account.name


def brand_for(session: Session, account: Account) -> BrandView:
    """How ``account`` looks: its theme (the default if the stored one is gone), with
    its colours where readable, its logo and support details."""
    return brand_view(account, session.get(Branding, account.id))


def brand_view(account: Account, row: Branding | None) -> BrandView:
    """``brand_for`` with the account's branding row (None: never set) already read."""
    theme = themes.load_theme(row.theme if row is not None else themes.DEFAULT_THEME)
    primary, accent = effective_colors(theme, row.primary_color if row else None,
                                       row.accent_color if row else None)
    on_primary = text_color_for(primary)
    variables = {**theme.tokens, "--primary": primary, "--accent": accent, "--on-primary": on_primary}
    return BrandView(
        theme=theme.name,
        display_name=display_name(account, row),
        primary_color=primary,
        accent_color=accent,
        on_primary=on_primary,
        logo_data_uri=_logo(row),
        support_email=row.support_email if row is not None else None,
        support_phone=row.support_phone if row is not None else None,
        support_url=row.support_url if row is not None else None,
        css_variables=variables,
        layout=dict(theme.layout),
    )
