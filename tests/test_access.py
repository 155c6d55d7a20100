"""The role table (streamsrv.access) against the rules written out by hand.

Each role is placed in one corner of a small organization: account 1, its team 10 and that
team's agent 100; a second account 2 with team 20 and agent 200 lies outside every restricted
scope. The stream matrix is docs/streams.md's "who may subscribe" table; the row checks run the
SQL clauses on an in-memory SQLite copy of that organization.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, col, create_engine, select

from streamsrv import access
from streamsrv.access import Owner, Reach
from streamsrv.auth import Identity
from streamsrv.models import Account, Agent, Organization, Team
from streamsrv.stream_names import KINDS, StreamRef

HOME_ACCOUNT, HOME_TEAM, HOME_AGENT, TEAMMATE = 1, 10, 100, 101
FAR_ACCOUNT, FAR_TEAM, FAR_AGENT = 2, 20, 200

# May this role subscribe to a stream whose subject is in its own corner of the organization?
STREAM_TABLE = """
kind           admin manager service client_viewer recovery team_leader agent display
agent          yes   yes     yes     no            no       yes         yes   no
team           yes   yes     yes     yes           no       yes         no    no
coach          yes   yes     yes     no            no       yes         no    no
board:team     yes   yes     yes     yes           yes      yes         yes   yes
board:account  yes   yes     yes     yes           yes      yes         yes   yes
recovery       yes   yes     yes     no            yes      no          no    no
account        yes   yes     yes     yes           no       no          no    no
"""


def parse_table() -> dict[tuple[str, str], bool]:
    header, *rows = [line.split() for line in STREAM_TABLE.strip().splitlines()]
    roles = header[1:]
    return {(role, row[0]): cell == "yes" for row in rows for role, cell in zip(roles, row[1:], strict=True)}


EXPECTED = parse_table()
ROLES = sorted({role for role, _ in EXPECTED})


def identity(role: str, *, restricted: bool = True) -> Identity:
    """A caller of ``role`` whose scope is the home corner (admins and keys: the home account)."""
    accounts = frozenset({HOME_ACCOUNT}) if restricted else frozenset()
    if role == "team_leader":
        return Identity(org_id=1, role=role, scopes=frozenset({"read"}), team_ids=frozenset({HOME_TEAM}))
    if role == "agent":
        return Identity(org_id=1, role=role, scopes=frozenset({"read"}), agent_id=HOME_AGENT)
    if role == "display":
        return Identity(
            org_id=1,
            role=role,
            scopes=frozenset({"streams"}),
            display_id=5,
            streams=frozenset(named_streams()),
        )
    return Identity(org_id=1, role=role, scopes=frozenset({"read"}), account_ids=accounts)


def named_streams() -> list[str]:
    return [f"board:team:{HOME_TEAM}", f"board:account:{HOME_ACCOUNT}"]


def reach_of(who: Identity) -> Reach:
    """What resolve_reach finds for the home corner (checked against the database below)."""
    if who.role == "team_leader":
        return Reach(frozenset({HOME_ACCOUNT}), frozenset({HOME_TEAM}))
    if who.role == "agent":
        return Reach(frozenset({HOME_ACCOUNT}), frozenset({HOME_TEAM}), HOME_AGENT)
    return Reach(who.account_ids, who.team_ids, who.agent_id)


def subject(kind: str, home: bool) -> tuple[StreamRef, Owner]:
    account, team, agent = (
        (HOME_ACCOUNT, HOME_TEAM, HOME_AGENT) if home else (FAR_ACCOUNT, FAR_TEAM, FAR_AGENT)
    )
    level = access.KIND_LEVEL[kind]
    subject_id = {access.Level.ACCOUNT: account, access.Level.TEAM: team, access.Level.AGENT: agent}[level]
    owner = Owner(
        account_id=account,
        team_id=team if level >= access.Level.TEAM else None,
        agent_id=agent if level is access.Level.AGENT else None,
    )
    return StreamRef(name=f"{kind}:{subject_id}", kind=kind, id=subject_id), owner


def may(who: Identity, kind: str, home: bool = True) -> bool:
    ref, owner = subject(kind, home)
    return access.may_subscribe(who, reach_of(who), ref, owner)


def test_the_table_covers_every_role_and_stream_kind() -> None:
    assert {kind for _, kind in EXPECTED} == set(KINDS)
    assert set(ROLES) == set(access.RULES)


@pytest.mark.parametrize("role", ROLES)
def test_stream_kinds_in_the_home_corner(role: str) -> None:
    who = identity(role)
    for kind in KINDS:
        assert may(who, kind) is EXPECTED[role, kind], (role, kind)


@pytest.mark.parametrize("role", ROLES)
def test_nothing_outside_the_scope(role: str) -> None:
    who = identity(role)
    assert not any(may(who, kind, home=False) for kind in KINDS)


@pytest.mark.parametrize("role", ["admin", "service"])
def test_unrestricted_admins_and_keys_reach_the_whole_organization(role: str) -> None:
    who = identity(role, restricted=False)
    assert access.org_wide(who)
    assert all(may(who, kind, home=False) for kind in KINDS)


def test_an_agent_follows_only_its_own_agent_stream() -> None:
    who = identity("agent")
    colleague = StreamRef(name=f"agent:{TEAMMATE}", kind="agent", id=TEAMMATE)
    owner = Owner(HOME_ACCOUNT, HOME_TEAM, TEAMMATE)
    assert not access.may_subscribe(who, reach_of(who), colleague, owner)


def test_a_token_narrows_to_the_streams_it_names() -> None:
    manager = identity("manager")
    token = Identity(**{**manager.__dict__, "streams": frozenset({f"team:{HOME_TEAM}"})})
    assert may(token, "team") and not may(token, "account") and not may(token, "agent")
    display = identity("display")
    other_board = StreamRef(name=f"board:team:{TEAMMATE}", kind="board:team", id=TEAMMATE)
    assert not access.may_subscribe(display, reach_of(display), other_board, Owner(HOME_ACCOUNT, TEAMMATE))


def test_live_feed_follows_the_roles_own_level() -> None:
    kinds = {role: rule.live for role, rule in access.RULES.items()}
    assert kinds == {
        "admin": "account",
        "manager": "account",
        "client_viewer": "account",
        "recovery": "recovery",
        "team_leader": "team",
        "agent": "agent",
        "service": None,
        "display": None,
    }


def test_only_account_scopes_see_an_account_itself() -> None:
    seen = {role: access.sees_account(identity(role), HOME_ACCOUNT) for role in ROLES}
    assert seen == {
        "admin": True,
        "manager": True,
        "service": True,
        "client_viewer": True,
        "recovery": True,
        "team_leader": False,
        "agent": False,
        "display": False,
    }
    assert not access.sees_account(identity("manager"), FAR_ACCOUNT)
    assert access.ACCOUNT_ROLES == {"admin", "manager", "service", "client_viewer", "recovery"}


# --- the SQL side ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Organization(id=1, name="Org"))
        s.add(Organization(id=2, name="Elsewhere"))
        for account_id, team_id, agents in (
            (HOME_ACCOUNT, HOME_TEAM, (HOME_AGENT, TEAMMATE)),
            (FAR_ACCOUNT, FAR_TEAM, (FAR_AGENT,)),
        ):
            s.add(Account(id=account_id, org_id=1, name=f"A{account_id}"))
            s.add(Team(id=team_id, org_id=1, account_id=account_id, name=f"T{team_id}"))
            for agent_id in agents:
                s.add(
                    Agent(id=agent_id, org_id=1, account_id=account_id, team_id=team_id, name=f"G{agent_id}")
                )
        s.add(Account(id=3, org_id=2, name="Other org"))
        s.commit()
        yield s
    engine.dispose()


def visible(session: Session, who: Identity) -> tuple[set[int], set[int], set[int]]:
    def ids(model: type[Account] | type[Team] | type[Agent], clause: object) -> set[int]:
        stmt = select(model.id).where(model.org_id == who.org_id)
        if clause is not None:
            stmt = stmt.where(clause)  # type: ignore[arg-type]
        return {i for i in session.exec(stmt.order_by(col(model.id))).all() if i is not None}

    return (
        ids(Account, access.accounts_clause(who)),
        ids(Team, access.teams_clause(who)),
        ids(Agent, access.agents_clause(who)),
    )


HOME_ROWS = ({HOME_ACCOUNT}, {HOME_TEAM}, {HOME_AGENT, TEAMMATE})
ALL_ROWS = ({HOME_ACCOUNT, FAR_ACCOUNT}, {HOME_TEAM, FAR_TEAM}, {HOME_AGENT, TEAMMATE, FAR_AGENT})


@pytest.mark.parametrize(
    ("role", "restricted", "expected"),
    [
        ("admin", False, ALL_ROWS),
        ("service", False, ALL_ROWS),
        ("admin", True, HOME_ROWS),
        ("service", True, HOME_ROWS),
        ("manager", True, HOME_ROWS),
        ("client_viewer", True, HOME_ROWS),
        ("recovery", True, HOME_ROWS),
        # Upward: the account holding its team; downward: every agent of the team.
        ("team_leader", True, HOME_ROWS),
        # Upward: its own team and account; of the agents, only itself.
        ("agent", True, ({HOME_ACCOUNT}, {HOME_TEAM}, {HOME_AGENT})),
        ("display", True, (set(), set(), set())),
    ],
)
def test_row_clauses(session: Session, role: str, restricted: bool, expected: tuple[set[int], ...]) -> None:
    assert visible(session, identity(role, restricted=restricted)) == expected


def test_an_empty_scope_reads_nothing(session: Session) -> None:
    for who in (
        Identity(org_id=1, role="team_leader", scopes=frozenset({"read"})),
        Identity(org_id=1, role="agent", scopes=frozenset({"read"})),
        Identity(org_id=1, role="no such role", scopes=frozenset({"read"})),
    ):
        assert visible(session, who) == (set(), set(), set())
        assert access.live_streams(session, who) == []


@pytest.mark.parametrize("role", ROLES)
def test_resolve_reach_matches_the_home_corner(session: Session, role: str) -> None:
    who = identity(role)
    assert access.resolve_reach(session, who) == reach_of(who)


@pytest.mark.parametrize(
    ("role", "restricted", "streams"),
    [
        ("admin", False, ["account:1", "account:2"]),
        ("admin", True, ["account:1"]),
        ("manager", True, ["account:1"]),
        ("client_viewer", True, ["account:1"]),
        ("recovery", True, ["recovery:1"]),
        ("team_leader", True, ["team:10"]),
        ("agent", True, ["agent:100"]),
        ("service", False, []),
        ("display", True, []),
    ],
)
def test_live_streams(session: Session, role: str, restricted: bool, streams: list[str]) -> None:
    assert access.live_streams(session, identity(role, restricted=restricted)) == streams
