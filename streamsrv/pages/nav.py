"""The staff pages' header: which surfaces a user may open, and which account they are looking at.

``SURFACES`` is the one table of the staff pages: the header (templates/base.html) and the home
page list from it, and each entry admits exactly the roles the page's own guard admits (the
pages check again). A user whose scope holds several accounts gets an account switcher: the
choice is kept in a cookie, offered and honoured only for accounts in the user's scope, and the
dashboard, the live feed and the recovery queue open on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response

from streamsrv.access import ACCOUNT_ROLES, accounts_clause
from streamsrv.auth import user_identity
from streamsrv.coaching.access import COACH_ROLES
from streamsrv.ids import MAX_ID
from streamsrv.labels import role_label
from streamsrv.models import Account, Role, User
from streamsrv.pages import admin_sections
from streamsrv.qa.templates import REVIEWERS
from streamsrv.recovery.service import QUEUE_ROLES

# Who opens the dashboard (results, exports): streamsrv/pages/dashboard.py checks this set.
DASHBOARD_ROLES = frozenset({Role.admin, Role.manager, Role.client_viewer})

ACCOUNT_COOKIE = "streamsrv_account"
ACCOUNT_COOKIE_MAX_AGE = 60 * 60 * 24 * 180


@dataclass(frozen=True)
class Surface:
    key: str
    href: str
    title: str
    description: str
    admits: Callable[[User], bool]
    # Listed on the home page (the home page itself is not).
    on_home: bool = True


def _roles(roles: frozenset[str]) -> Callable[[User], bool]:
    return lambda user: user.role in roles


SURFACES: tuple[Surface, ...] = (
    Surface("home", "/", "Home", "Who you are and what you may see.", lambda user: True, on_home=False),
    Surface(
        "me",
        "/me",
        "My feedback",
        "Your own ratings, rewards and shout-outs as they arrive.",
        lambda user: user.role == Role.agent and user.agent_id is not None,
    ),
    Surface("coach", "/coach", "Coaching", "Your teams' feedback and alerts, live.", _roles(COACH_ROLES)),
    # QA reviews: reviewers score interactions; agents read and answer their own (streamsrv/pages/qa.py).
    Surface("qa", "/qa", "QA reviews", "Score an interaction against a QA scorecard.", _roles(REVIEWERS)),
    Surface(
        "qa_mine",
        "/qa/mine",
        "My QA reviews",
        "Your QA reviews: acknowledge or dispute them.",
        lambda user: user.role == Role.agent,
    ),
    # Every role has a live feed of its own scope (streamsrv.access.RULES ``live``).
    Surface("live", "/live", "Live", "Every response you may see, the moment it arrives.", lambda user: True),
    Surface(
        "recovery", "/recovery", "Recovery", "Negative responses to claim and resolve.", _roles(QUEUE_ROLES)
    ),
    Surface(
        "dashboard",
        "/dashboard",
        "Dashboard",
        "Results per account, team and agent; exports.",
        _roles(DASHBOARD_ROLES),
    ),
    # --- statements (issue 13): who reads statements (streamsrv/pages/statements.py READERS) ---
    Surface(
        "statements",
        "/statements",
        "Statements",
        "Monthly reward statements: adjust, close and export for payroll.",
        _roles(DASHBOARD_ROLES),
    ),
    # Every role reaches the boards of its scope (the index lists them; displays for admins).
    Surface(
        "wallboard",
        "/wallboard",
        "Wallboards",
        "Live leaderboards for the floor's screens.",
        lambda user: True,
    ),
    Surface(
        "admin",
        "/admin",
        "Admin",
        "Accounts, teams, agents, users, displays and helpdesk integrations.",
        # Offered when at least one admin section lets the user in (the /admin page's own rule).
        lambda user: bool(admin_sections.sections_for(user)),
    ),
)


def surfaces_for(user: User) -> list[Surface]:
    return [s for s in SURFACES if s.admits(user)]


def current_key(path: str) -> str | None:
    """The surface a path belongs to (``/wallboard/team/3`` is under Wallboards)."""
    best: Surface | None = None
    for surface in SURFACES:
        if surface.href == "/":
            if path == "/":
                return surface.key
            continue
        if path == surface.href or path.startswith(surface.href + "/"):
            if best is None or len(surface.href) > len(best.href):
                best = surface
    return best.key if best else None


@dataclass(frozen=True)
class AccountChoice:
    id: int
    name: str


def switchable_accounts(session: Session, user: User) -> list[AccountChoice]:
    """The accounts a user may switch between: those of an account-level scope (all of the
    organization's for an unrestricted administrator); empty for team leaders and agents."""
    if user.role not in ACCOUNT_ROLES:
        return []
    identity = user_identity(user)
    stmt = select(Account.id, Account.name).where(Account.org_id == identity.org_id)
    clause = accounts_clause(identity)
    if clause is not None:
        stmt = stmt.where(clause)
    rows = session.exec(stmt.order_by(col(Account.name), col(Account.id))).all()
    return [AccountChoice(i, n) for i, n in rows if i is not None]


def parse_account_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    return None


def chosen_account(request: Request, accounts: Sequence[AccountChoice]) -> AccountChoice | None:
    """The account the user switched to, if it is still one of theirs (a forged or stale cookie
    counts as no choice)."""
    wanted = parse_account_id(request.cookies.get(ACCOUNT_COOKIE))
    return next((a for a in accounts if a.id == wanted), None)


def remember_account(response: Response, account_id: int | None, secure: bool) -> None:
    if account_id is None:
        response.delete_cookie(ACCOUNT_COOKIE, path="/")
        return
    response.set_cookie(
        ACCOUNT_COOKIE,
        str(account_id),
        max_age=ACCOUNT_COOKIE_MAX_AGE,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


@dataclass(frozen=True)
class NavItem:
    href: str
    title: str
    current: bool


@dataclass(frozen=True)
class Header:
    """What base.html shows for a logged-in user."""

    items: list[NavItem]
    name: str
    role: str
    accounts: list[AccountChoice]
    account: AccountChoice | None
    path: str


def header(request: Request, user: User, accounts: list[AccountChoice]) -> Header:
    path = request.url.path
    current = current_key(path)
    return Header(
        items=[NavItem(s.href, s.title, s.key == current) for s in surfaces_for(user)],
        name=user.name or user.email,
        role=role_label(user.role),
        accounts=accounts if len(accounts) > 1 else [],
        account=chosen_account(request, accounts) if len(accounts) > 1 else None,
        path=path + (f"?{request.url.query}" if request.url.query else ""),
    )
