"""``GET /api/v1/feedback.csv``: every response a filter covers, streamed as CSV.

Rows are read with ``yield_per`` (a server-side cursor on PostgreSQL) and written out in chunks
of a few hundred rows, so an export of a million responses holds one chunk in memory, not the
million. The generator runs in Starlette's thread pool and owns its own session, which closes
when the download ends or the client goes away.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from streamsrv.auth import Identity
from streamsrv.dashboard import blended
from streamsrv.labels import Vocabulary, vocabulary
from streamsrv.models import Account, Agent, Interaction, Response, Role, Team, utcnow
from streamsrv.period_filters import pinned
from streamsrv.periods import zone
from streamsrv.survey.listing import FeedbackFilters, filter_clauses
from streamsrv.timefmt import iso

Rating = Annotated[int, Field(ge=1, le=5)]
FETCH_ROWS = 1000
CHUNK_ROWS = 500
# A spreadsheet treats a cell starting with one of these as a formula ("CSV injection"). Some
# spreadsheets fold the fullwidth forms (as typed on CJK keyboards) to the ASCII ones first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

BLENDED_HEADER = "Blended score"
HEADER = (
    "id",
    "created_at",
    "updated_at",
    "account_id",
    "account",
    "team_id",
    "team",
    "agent_id",
    "agent",
    "channel",
    "external_id",
    "rating",
    "comment",
    "comment_hidden",
    "reward",
    "improvement_areas",
    "csat",
    "nps",
    "fcr",
    "source",
    "edit_count",
    # Added last so that readers by position keep working: the local time in the account's zone.
    "created_at_local",
    "time_zone",
    # People read ``channel``, ``reward`` and ``improvement_areas`` as labels ("In store",
    # "Gift card"); integrators match on these codes ("in_store", "gift_card").
    "channel_code",
    "reward_code",
    "improvement_area_codes",
    # The agent's blended scorecard over the export's period (docs/scorecard.md); empty while the
    # agent has fewer responses than the account's minimum.
    BLENDED_HEADER,
)


class ExportQuery(FeedbackFilters):
    """The filters of ``GET /api/v1/feedback`` without the paging: the export is the whole list."""


def sees_hidden_comments(identity: Identity) -> bool:
    """Managers and admins keep hidden comments in exports for audit; nobody else gets them."""
    return identity.role in (Role.admin, Role.manager)


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas: a leading quote makes the cell plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_statement(identity: Identity, query: ExportQuery) -> Any:
    # Plain columns, not ORM objects: nothing accumulates in an identity map while streaming.
    stmt = (
        select(
            col(Response.id),
            col(Response.created_at),
            col(Response.updated_at),
            col(Response.account_id),
            col(Account.name),
            col(Response.team_id),
            col(Team.name),
            col(Response.agent_id),
            col(Agent.name),
            col(Response.channel),
            col(Interaction.external_id),
            col(Response.rating),
            col(Response.comment),
            col(Response.comment_hidden),
            col(Response.reward),
            col(Response.improvement_areas),
            col(Response.csat),
            col(Response.nps),
            col(Response.fcr),
            col(Response.source),
            col(Response.edit_count),
            col(Account.time_zone),
        )
        .join(Interaction, col(Interaction.id) == col(Response.interaction_id))
        .join(Account, col(Account.id) == col(Response.account_id))
        .join(Team, col(Team.id) == col(Response.team_id))
        .join(Agent, col(Agent.id) == col(Response.agent_id))
        .where(*filter_clauses(identity, query))
    )
    return stmt.order_by(col(Response.created_at), col(Response.id)).execution_options(yield_per=FETCH_ROWS)


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def csv_row(
    row: Sequence[Any], show_hidden: bool, vocab: Vocabulary | None = None, blended_score: float | None = None
) -> list[Any]:
    """One CSV line from a row of ``export_statement`` (columns in ``HEADER`` order); ``vocab``
    holds the labels of the row's account, ``blended_score`` the agent's score for the period."""
    words = vocab or Vocabulary()
    (
        rid,
        created,
        updated,
        account_id,
        account,
        team_id,
        team,
        agent_id,
        agent,
        channel,
        external_id,
        rating,
        comment,
        hidden,
        reward,
        areas,
        csat,
        nps,
        fcr,
        source,
        edits,
        time_zone,
    ) = row
    tz = zone(time_zone)
    cells: list[Any] = [
        rid,
        iso(created),
        iso(updated),
        account_id,
        account,
        team_id,
        team,
        agent_id,
        agent,
        words.channel(channel),
        external_id,
        rating,
        comment if show_hidden or not hidden else "",
        _flag(hidden),
        words.reward(reward) if reward else "",
        ";".join(words.area_list(areas or ())),
        "" if csat is None else csat,
        "" if nps is None else nps,
        _flag(fcr),
        source,
        edits,
        created.astimezone(tz).isoformat(),
        tz.key,
        channel,
        reward or "",
        ";".join(areas or ()),
        "" if blended_score is None else blended_score,
    ]
    return [safe_cell(c) for c in cells]


def blended_terms(query: ExportQuery) -> list[Any]:
    """The filters a blended score in the export honours, besides the period: those the
    dashboard's breakdown has too (account, team, channel), so both show the same score."""
    terms: list[Any] = []
    if query.account_id is not None:
        terms.append(col(Response.account_id) == query.account_id)
    if query.team_id is not None:
        terms.append(col(Response.team_id) == query.team_id)
    if query.channel is not None:
        terms.append(col(Response.channel) == query.channel.value)
    return terms


def csv_chunks(engine: Engine, identity: Identity, query: ExportQuery) -> Iterator[bytes]:
    """The CSV as UTF-8 byte chunks: the header row first, then ``CHUNK_ROWS`` rows at a time."""
    show_hidden = sees_hidden_comments(identity)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    with Session(engine) as session:
        query = pinned(session, identity, query, utcnow())
        pending = 0
        words: dict[int, Vocabulary] = {}
        scores: dict[int, float | None] = {}
        terms = blended_terms(query)
        for row in session.exec(export_statement(identity, query)):
            account_id, agent_id = int(row[3]), int(row[7])
            if account_id not in words:
                words[account_id] = vocabulary(session.get(Account, account_id))
            if agent_id not in scores:
                # A second session: the export's own streams rows through a server-side cursor.
                with Session(engine) as scoring:
                    result = blended.score_agent(scoring, identity, agent_id, query.since, query.until, terms)
                scores[agent_id] = result.score
            writer.writerow(csv_row(row, show_hidden, words[account_id], scores[agent_id]))
            pending += 1
            if pending >= CHUNK_ROWS:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
                pending = 0
    yield buffer.getvalue().encode("utf-8")


def export_filename(now: datetime) -> str:
    return f"feedback-{now.strftime('%Y%m%d-%H%M%S')}.csv"
