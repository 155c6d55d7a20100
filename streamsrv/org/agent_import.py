"""Importing agents from a CSV file: parsing and planning, free of I/O.

The file has a header line naming its columns (any order, case-insensitive):

``name``, ``team`` (required), ``email``, ``photo_url`` and one ``<helpdesk>_id`` column per
helpdesk (``zendesk_id``, ``freshdesk_id``, ...). Cells are separated by ``,`` or ``;`` (the
header line decides), the file is UTF-8 with or without a byte-order mark.

Each line becomes one planned change against a ``Snapshot`` of the organization's agents and the
account's teams: ``create`` a new agent, ``update`` the agent it matches (by email first, else by
a helpdesk id) or leave it ``unchanged``; or it is an ``error`` with one message per column.
An empty ``email``, ``photo_url`` or helpdesk cell leaves what is stored. Cells are data: a cell
starting with ``=``, ``+``, ``-`` or ``@`` is stored as typed and never evaluated.

The plan's ``fingerprint`` lets the apply step check that what it writes is exactly what the
dry run showed: a different file, or any change to the agents or teams it touches since the dry
run, gives another fingerprint.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from streamsrv.org.schemas import Email, ExternalId, HttpUrl, Name

MAX_BYTES = 512 * 1024
MAX_ROWS = 2000
REQUIRED = ("name", "team")
OPTIONAL = ("email", "photo_url")
SEPARATORS = (",", ";")
BOM = "\ufeff"

Action = Literal["create", "update", "unchanged", "error"]

_NAME: TypeAdapter[str] = TypeAdapter(Name)
_EMAIL: TypeAdapter[str] = TypeAdapter(Email)
_URL: TypeAdapter[str | None] = TypeAdapter(HttpUrl | None)
_EXTERNAL: TypeAdapter[str] = TypeAdapter(ExternalId)


class ImportFileError(ValueError):
    """The file as a whole cannot be read: too large, not UTF-8, no header, too many rows."""


def helpdesk_column(system: str) -> str:
    return f"{system}_id"


def columns(systems: Sequence[str]) -> tuple[str, ...]:
    return (*REQUIRED, *OPTIONAL, *(helpdesk_column(s) for s in systems))


@dataclass(frozen=True)
class Row:
    """One data line, its cells checked one by one (``errors``: column -> message)."""

    line: int
    name: str
    team: str
    email: str | None = None
    photo_url: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # The email cell as typed, so a dry run can show what was refused (``email`` is None then).
    email_cell: str = ""


@dataclass(frozen=True)
class ExistingAgent:
    id: int
    account_id: int
    team_id: int
    name: str
    email: str | None
    photo_url: str | None
    external_ids: dict[str, str]


@dataclass(frozen=True)
class Snapshot:
    """What the plan is made against: the account's teams and the organization's agents."""

    account_id: int
    teams: dict[int, str]
    agents: Sequence[ExistingAgent]


@dataclass(frozen=True)
class PlanLine:
    line: int
    action: Action
    row: Row
    agent_id: int | None = None
    # For create: the new agent's fields; for update: only the fields that change.
    changes: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    lines: list[PlanLine]
    fingerprint: str

    @property
    def errors(self) -> list[PlanLine]:
        return [p for p in self.lines if p.action == "error"]

    def count(self, action: Action) -> int:
        return sum(1 for p in self.lines if p.action == action)


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"the file is larger than {MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFileError("the file is not UTF-8 text; save it as CSV UTF-8") from None
    return text.removeprefix(BOM)


def _separator(header: str) -> str:
    # The header holds only column names: whichever separator it uses is the file's.
    return max(SEPARATORS, key=header.count)


def _message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    text = str(first.get("msg", "invalid"))
    return text.removeprefix("Value error, ")


def _check(adapter: TypeAdapter[Any], value: str, column: str, errors: dict[str, str]) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        errors[column] = _message(exc)
        return None


def parse(data: bytes, systems: Sequence[str]) -> list[Row]:
    """The file's data lines, numbered as a spreadsheet shows them (the header is line 1)."""
    text = decode(data)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ImportFileError("the file is empty: the first line must name the columns")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(lines[0]))
    header = [cell.strip().lower() for cell in next(reader)]
    known = columns(systems)
    unknown = [c for c in header if c and c not in known]
    if unknown:
        raise ImportFileError(
            f"unknown column(s) {', '.join(repr(c) for c in unknown)}; the columns are {', '.join(known)}"
        )
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(f"the header line lacks the column(s) {', '.join(missing)}")
    if len(set(header)) != len(header):
        raise ImportFileError("a column is named twice in the header line")
    rows: list[Row] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(f"the file has more than {MAX_ROWS} lines of agents; split it")
        rows.append(_row(line, header, cells, systems))
    if not rows:
        raise ImportFileError("the file has a header line but no agents")
    return rows


def _row(line: int, header: list[str], cells: list[str], systems: Sequence[str]) -> Row:
    errors: dict[str, str] = {}
    if len(cells) > len(header):
        errors["line"] = (
            f"{len(cells)} cells for {len(header)} columns (a separator inside a cell needs quotes)"
        )
    values = {column: (cells[i] if i < len(cells) else "") for i, column in enumerate(header)}
    name = values.get("name", "").strip()
    checked_name = _check(_NAME, name, "name", errors) if name else None
    if not name:
        errors["name"] = "required"
    team = values.get("team", "").strip()
    if not team:
        errors["team"] = "required"
    email_cell = values.get("email", "").strip()
    email = _check(_EMAIL, email_cell, "email", errors) if email_cell else None
    url_cell = values.get("photo_url", "").strip()
    photo_url = _check(_URL, url_cell, "photo_url", errors) if url_cell else None
    external: dict[str, str] = {}
    for system in systems:
        column = helpdesk_column(system)
        cell = values.get(column, "").strip()
        if cell:
            value = _check(_EXTERNAL, cell, column, errors)
            if value is not None:
                external[system] = value
    return Row(
        line=line,
        name=checked_name or name,
        team=team,
        email=email,
        photo_url=photo_url,
        external_ids=external,
        errors=errors,
        email_cell=email_cell,
    )


def _team_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def plan(rows: Iterable[Row], snapshot: Snapshot) -> Plan:
    teams = {_team_key(n): team_id for team_id, n in snapshot.teams.items()}
    by_email = {a.email: a for a in snapshot.agents if a.email}
    by_ref = {(s, v): a for a in snapshot.agents for s, v in a.external_ids.items()}
    seen_email: dict[str, int] = {}
    seen_ref: dict[tuple[str, str], int] = {}
    seen_agent: dict[int, int] = {}
    out: list[PlanLine] = []
    for row in rows:
        errors = dict(row.errors)
        team_id = teams.get(_team_key(row.team)) if row.team else None
        if row.team and team_id is None:
            errors["team"] = f"no team {row.team!r} in this account"
        if row.email:
            if row.email in seen_email:
                errors["email"] = f"duplicate: line {seen_email[row.email]} has this email"
            else:
                seen_email[row.email] = row.line
        for system, value in sorted(row.external_ids.items()):
            ref = (system, value)
            if ref in seen_ref:
                errors[helpdesk_column(system)] = f"duplicate: line {seen_ref[ref]} has this id"
            else:
                seen_ref[ref] = row.line
        match, match_errors = _match(row, by_email, by_ref)
        errors.update(match_errors)
        if match is not None and match.account_id != snapshot.account_id:
            errors["line"] = "matches an agent of another account"
        elif match is not None and match.id in seen_agent:
            errors["line"] = f"duplicate: line {seen_agent[match.id]} is about the same agent"
        elif match is not None:
            seen_agent[match.id] = row.line
        if errors:
            out.append(PlanLine(row.line, "error", row, match.id if match else None, errors=errors))
            continue
        assert team_id is not None
        if match is None:
            changes: dict[str, Any] = {"team_id": team_id, "name": row.name, "external_ids": row.external_ids}
            if row.email:
                changes["email"] = row.email
            if row.photo_url:
                changes["photo_url"] = row.photo_url
            out.append(PlanLine(row.line, "create", row, None, changes))
            continue
        changes = _changes(row, team_id, match)
        action: Action = "update" if changes else "unchanged"
        out.append(PlanLine(row.line, action, row, match.id, changes))
    return Plan(out, _fingerprint(out, snapshot))


def _match(
    row: Row, by_email: dict[str, ExistingAgent], by_ref: dict[tuple[str, str], ExistingAgent]
) -> tuple[ExistingAgent | None, dict[str, str]]:
    """The agent the line is about (by email, else by a helpdesk id), or the clash that forbids it."""
    errors: dict[str, str] = {}
    match = by_email.get(row.email) if row.email else None
    for system, value in sorted(row.external_ids.items()):
        other = by_ref.get((system, value))
        if other is None:
            continue
        if match is None:
            match = other
        elif other.id != match.id:
            errors[helpdesk_column(system)] = f"this id belongs to another agent ({other.name})"
    if match is not None and row.email and match.email and match.email != row.email:
        taken = by_email.get(row.email)
        if taken is not None and taken.id != match.id:
            errors["email"] = f"this email belongs to another agent ({taken.name})"
    return match, errors


def _changes(row: Row, team_id: int, agent: ExistingAgent) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if row.name != agent.name:
        changes["name"] = row.name
    if team_id != agent.team_id:
        changes["team_id"] = team_id
    if row.email and row.email != agent.email:
        changes["email"] = row.email
    if row.photo_url and row.photo_url != agent.photo_url:
        changes["photo_url"] = row.photo_url
    merged = {**agent.external_ids, **row.external_ids}
    if merged != agent.external_ids:
        changes["external_ids"] = merged
    return changes


def _fingerprint(lines: Sequence[PlanLine], snapshot: Snapshot) -> str:
    touched = {p.agent_id for p in lines if p.agent_id is not None}
    state = {
        "account": snapshot.account_id,
        "teams": sorted(snapshot.teams.items()),
        # Every agent an email or helpdesk id could match: a new one since the dry run changes
        # what a line would do.
        "agents": sorted(
            (a.id, a.account_id, a.team_id, a.name, a.email, a.photo_url, sorted(a.external_ids.items()))
            for a in snapshot.agents
            if a.id in touched or a.email or a.external_ids
        ),
        "lines": [
            (p.line, p.action, p.agent_id, sorted(p.changes.items(), key=lambda kv: kv[0])) for p in lines
        ],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def sample(systems: Sequence[str]) -> str:
    """A sample file: the header line and two agents."""
    shown = list(systems[:2])
    header = [*REQUIRED, *OPTIONAL, *(helpdesk_column(s) for s in shown)]
    first = ["Dana Scully", "Tier 1", "dana.scully@example.com", "https://example.com/dana.jpg"]
    second = ["Fox Mulder", "Tier 2", "fox.mulder@example.com", ""]
    first += [f"{1000 + i}" for i in range(len(shown))]
    second += ["" for _ in shown]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([header, first, second])
    return buffer.getvalue()
