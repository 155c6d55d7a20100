"""The admin sections a user may open: one list, for the ``/admin`` index and the page header.

Each section names the API rule (a guard of ``streamsrv.org``) its changes go through, so a
section is offered exactly when the API would let this user make those changes: administrators
reach every section (the organization-wide ones, users and API keys, need an administrator not
restricted to accounts); managers and team leaders reach displays, for their own boards. Other
sections (account settings, teams, agents) are administrators' work in the API today, so they
are not offered to managers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streamsrv.auth import Identity, user_identity
from streamsrv.errors import ApiError
from streamsrv.models import User
from streamsrv.org.common import require_org_admin, require_writer
from streamsrv.org.displays import require_display_manager


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    path: str
    description: str
    guard: Callable[[Identity], None]


SECTIONS: tuple[Section, ...] = (
    Section(
        "accounts",
        "Accounts",
        "/admin/accounts",
        "Survey settings, rewards, improvement areas and coaching alerts of each account.",
        require_writer,
    ),
    Section("teams", "Teams", "/admin/teams", "The teams of each account.", require_writer),
    Section("agents", "Agents", "/admin/agents", "Agents, their teams and profiles.", require_writer),
    Section("users", "Users", "/admin/users", "Who logs in, with which role and scope.", require_org_admin),
    Section(
        "api-keys", "API keys", "/admin/api-keys", "Keys for integrations, shown once.", require_org_admin
    ),
    Section(
        "displays",
        "Displays",
        "/admin/displays",
        "Wallboard screens: their TV addresses, and revoking them.",
        require_display_manager,
    ),
    Section(
        "integrations",
        "Helpdesk integrations",
        "/admin/integrations",
        "Helpdesks sending solved tickets, and their unrecognised agents.",
        require_writer,
    ),
)

BY_KEY = {section.key: section for section in SECTIONS}


def allows(section: Section, identity: Identity) -> bool:
    try:
        section.guard(identity)
    except ApiError:
        return False
    return True


def may_open(user: User, key: str) -> bool:
    """Whether ``user`` may open the section ``key`` (a key of ``SECTIONS``)."""
    return allows(BY_KEY[key], user_identity(user))


def sections_for(user: User | None) -> list[Section]:
    """The sections ``user`` may open, in the order of the index page (none when logged out)."""
    if user is None:
        return []
    identity = user_identity(user)
    return [section for section in SECTIONS if allows(section, identity)]
