"""An account's look on customer pages and emails: brand colour (checked to stay readable as
text and buttons on white) and logo."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, select

from streamsrv.models import Account, AccountLogo

HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# WCAG 2 AA for normal text.
MIN_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(color: str) -> float:
    return 1.05 / (luminance(color) + 0.05)


def check_brand_color(value: str) -> str:
    """``#rrggbb`` in lower case, or ValueError saying what is wrong."""
    if not HEX_COLOR.fullmatch(value):
        raise ValueError("must be a colour like #1a73e8")
    ratio = contrast_with_white(value)
    if ratio < MIN_CONTRAST:
        raise ValueError(
            f"is too light on white (contrast {ratio:.1f}:1, at least {MIN_CONTRAST}:1 is needed to stay readable)"
        )
    return value.lower()


# --- Logos and the accent colour on customer pages ----------------------------------------------


def logo_path(account_id: int, version: int) -> str:
    return f"/media/accounts/{account_id}/logo?v={version}"


def logo_version(session: Session, account_id: int) -> int | None:
    # The version column only: the image bytes stay in the database.
    return session.exec(select(AccountLogo.version).where(AccountLogo.account_id == account_id)).first()


def logo_url(session: Session, account: Account | int, base_url: str = "") -> str | None:
    """The account's uploaded logo, or None; ``base_url`` makes it absolute (for emails)."""
    account_id = account if isinstance(account, int) else account.id
    if account_id is None:
        return None
    version = logo_version(session, account_id)
    return None if version is None else base_url + logo_path(account_id, version)


def store_logo(
    session: Session, account: Account, content_type: str, data: bytes, now: datetime
) -> AccountLogo:
    """Create or replace the account's logo; a replacement gets the next version."""
    assert account.id is not None
    logo = session.get(AccountLogo, account.id)
    if logo is None:
        logo = AccountLogo(account_id=account.id, org_id=account.org_id, content_type=content_type, data=data)
    else:
        logo.content_type = content_type
        logo.data = data
        logo.version += 1
    logo.updated_at = now
    session.add(logo)
    session.flush()
    return logo


def delete_logo(session: Session, account: Account) -> bool:
    logo = session.get(AccountLogo, account.id)
    if logo is None:
        return False
    session.delete(logo)
    session.flush()
    return True


def brand_stylesheet(color: str | None) -> str | None:
    """The URL of the stylesheet that sets the accent colour, if the account has a valid one.

    Pages may not carry inline styles (the CSP forbids them), so the colour travels in the URL
    of a tiny stylesheet whose text is built from the path's six hex digits and nothing else.
    """
    if color is None or not HEX_COLOR.fullmatch(color):
        return None
    return f"/media/brand/{color[1:].lower()}.css"


def brand_css(hex_digits: str) -> str | None:
    if not HEX_COLOR.fullmatch("#" + hex_digits):
        return None
    color = "#" + hex_digits.lower()
    return f":root {{ --brand: {color}; --focus: 0 0 0 3px {color}73; }}\n"
