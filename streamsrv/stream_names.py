"""Stream names, built and parsed in one place.

Every producer of events names its target streams with the builders here, and the subscription
check parses what a client asks for with :func:`parse`, so a name can never be written one way
and checked another. The names are part of the public stream protocol:

``agent:{id}``, ``team:{id}``, ``coach:{team_id}``, ``recovery:{account_id}``,
``account:{id}``, ``board:team:{id}`` and ``board:account:{id}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AGENT = "agent"
TEAM = "team"
COACH = "coach"
RECOVERY = "recovery"
ACCOUNT = "account"
BOARD_TEAM = "board:team"
BOARD_ACCOUNT = "board:account"
KINDS = (AGENT, TEAM, COACH, RECOVERY, ACCOUNT, BOARD_TEAM, BOARD_ACCOUNT)
BOARD_KINDS = (BOARD_TEAM, BOARD_ACCOUNT)
# Streams whose subject is a team (their owner is resolved through the team row).
TEAM_KINDS = (TEAM, COACH, BOARD_TEAM)

BoardScope = Literal["team", "account"]

# fullmatch, not match with "$": "$" also matches before a trailing newline.
_NAME = re.compile(r"(agent|team|coach|recovery|account|board:team|board:account):([1-9][0-9]{0,17})")


@dataclass(frozen=True)
class StreamRef:
    """A parsed stream name."""

    name: str
    kind: str
    id: int

    @property
    def is_board(self) -> bool:
        return self.kind in BOARD_KINDS


def parse(name: str) -> StreamRef | None:
    """The stream ``name`` designates, or None when it is not a stream name."""
    m = _NAME.fullmatch(name)
    if m is None:
        return None
    return StreamRef(name=name, kind=m.group(1), id=int(m.group(2)))


def of(kind: str, subject_id: int) -> str:
    """The stream of ``kind`` (one of ``KINDS``) about ``subject_id``."""
    return f"{kind}:{subject_id}"


def agent(agent_id: int) -> str:
    return f"{AGENT}:{agent_id}"


def team(team_id: int) -> str:
    return f"{TEAM}:{team_id}"


def coach(team_id: int) -> str:
    return f"{COACH}:{team_id}"


def recovery(account_id: int) -> str:
    return f"{RECOVERY}:{account_id}"


def account(account_id: int) -> str:
    return f"{ACCOUNT}:{account_id}"


def board(scope: BoardScope, target_id: int) -> str:
    return f"board:{scope}:{target_id}"


def boards(team_id: int, account_id: int) -> list[str]:
    """The floor boards that show an agent of this team and account."""
    return [board("team", team_id), board("account", account_id)]


def feedback(account_id: int, team_id: int, agent_id: int) -> list[str]:
    """Where a response is announced: its agent, the agent's team and the account."""
    return [agent(agent_id), team(team_id), account(account_id)]
