"""Who may subscribe to which stream (the table in docs/streams.md), decided server-side.

The rule itself is the role table in ``streamsrv.access``; this module finds where a stream's
subject sits (``resolve_owner``) and answers for a list of streams at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from streamsrv.access import Owner, Reach, may_subscribe, resolve_reach
from streamsrv.auth import Identity
from streamsrv.models import Account, Agent, Team
from streamsrv.stream_names import TEAM_KINDS, StreamRef

__all__ = ["Owner", "Reach", "may_subscribe", "refused", "resolve_owner", "resolve_reach"]


def resolve_owner(session: Session, org_id: int, ref: StreamRef) -> Owner | None:
    if ref.kind == "agent":
        agent = session.get(Agent, ref.id)
        if agent is None or agent.org_id != org_id:
            return None
        return Owner(account_id=agent.account_id, team_id=agent.team_id, agent_id=agent.id)
    if ref.kind in TEAM_KINDS:
        team = session.get(Team, ref.id)
        if team is None or team.org_id != org_id:
            return None
        return Owner(account_id=team.account_id, team_id=team.id)
    account = session.get(Account, ref.id)
    if account is None or account.org_id != org_id:
        return None
    return Owner(account_id=ref.id)


def refused(session: Session, identity: Identity, refs: Iterable[StreamRef]) -> list[str]:
    """The names of the streams ``identity`` may not subscribe to (missing ones included)."""
    reach = resolve_reach(session, identity)
    out = []
    for ref in refs:
        owner = resolve_owner(session, identity.org_id, ref)
        if owner is None or not may_subscribe(identity, reach, ref, owner):
            out.append(ref.name)
    return out
