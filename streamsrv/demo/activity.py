"""What people did with the demo's history: QA reviews, coaching notes, shout-outs, recovery work.

Written after the responses, through the same service functions the API and the pages call, as
the demo's manager, team leader, recovery specialist and agent, each at a moment in the history
(``now`` is that moment). Deterministic for a given random generator and history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from streamsrv.auth import Identity, user_identity
from streamsrv.coaching.notes import add_note
from streamsrv.coaching.shoutouts import post_shoutout
from streamsrv.config import Settings
from streamsrv.models import (
    FOLLOWUP_SOURCE,
    Account,
    CaseStatus,
    QaTemplate,
    RecoveryCase,
    Response,
    Role,
    User,
)
from streamsrv.qa.evaluations import evaluate, reply
from streamsrv.qa.schemas import EvaluationIn, ReplyIn, TemplateIn
from streamsrv.qa.templates import create_template
from streamsrv.recovery import service as recovery
from streamsrv.recovery.schemas import ContactIn
from streamsrv.security.tokens import Signer
from streamsrv.survey.responses import submit_by_token

# The scorecard each account gets when it has none (criterion ids c1..c6 in this order).
SCORECARD: dict[str, Any] = {
    "name": "Contact quality",
    "sections": [
        {
            "name": "Opening",
            "weight": 1,
            "criteria": [
                {"name": "Greeted and introduced themselves", "kind": "yes_no"},
                {"name": "Verified the customer's identity", "kind": "yes_no", "auto_fail": True},
            ],
        },
        {
            "name": "Resolution",
            "weight": 3,
            "criteria": [
                {"name": "Solved the problem", "kind": "scale_1_5", "weight": 2},
                {"name": "Explained the next steps", "kind": "yes_no"},
            ],
        },
        {
            "name": "Tone",
            "weight": 2,
            "criteria": [
                {"name": "Empathy", "kind": "scale_1_5"},
                {"name": "Clear, jargon-free language", "kind": "scale_1_5"},
            ],
        },
    ],
}
# Evaluations per agent: one last month, most agents one this month too.
EVALUATIONS_LAST_MONTH = 1
EVALUATION_THIS_MONTH_CHANCE = 0.6
QA_COMMENTS = {
    True: [
        "Warm opening and a clean resolution. Keep doing exactly this.",
        "Great control of the call; the summary at the end was spot on.",
        "Textbook verification and a friendly close.",
    ],
    False: [
        "Solved it, but the next steps were left vague: confirm them before closing.",
        "Identity check was skipped; please verify before any account change.",
        "Long holds without an update. Tell the customer what you are checking.",
    ],
}
NOTES = [
    "Listened to this one together: slow down when reading the tariff options.",
    "Good recovery after a rough start. Try offering the callback earlier.",
    "Customer waited on hold twice; let's practise the knowledge-base search shortcuts.",
    "Mentioned the outage page but not the expected fix time. Add it next time.",
]
SHOUTOUTS = [
    "Five stars and a lovely comment - well done!",
    "This is what great service sounds like. Thank you!",
    "A customer went out of their way to thank you today.",
    "Brilliant save on a tricky one. Proud of the team!",
]
NOTES_SHARE = 0.35
SHOUTOUTS_PER_ACCOUNT = 8
# Recovery cases older than this were worked (claimed, contacted, resolved); newer ones wait.
RECOVERY_BACKLOG = timedelta(days=3)
FOLLOWUPS_ANSWERED = 2


@dataclass(frozen=True)
class People:
    manager: Identity
    team_leader: Identity
    recovery: Identity
    agent: Identity

    @classmethod
    def of(cls, session: Session, org_id: int) -> People:
        users = {u.role: u for u in session.exec(select(User).where(User.org_id == org_id))}

        def who(role: Role) -> Identity:
            return user_identity(users[role])

        return cls(who(Role.manager), who(Role.team_leader), who(Role.recovery), who(Role.agent))


def scorecards(session: Session, people: People, org_id: int, now: datetime) -> dict[int, QaTemplate]:
    """Each account's newest scorecard; one is created (by the manager) where there is none."""
    found: dict[int, QaTemplate] = {}
    accounts = session.exec(select(Account).where(Account.org_id == org_id).order_by(col(Account.id))).all()
    for account in accounts:
        assert account.id is not None
        template = session.exec(
            select(QaTemplate).where(QaTemplate.account_id == account.id).order_by(col(QaTemplate.id).desc())
        ).first()
        if template is None:
            created = create_template(
                session, people.manager, account.id, TemplateIn.model_validate(SCORECARD), now
            )
            template = session.get(QaTemplate, created["id"])
        assert template is not None
        found[account.id] = template
    return found


def _answers(template: QaTemplate, rating: int, rng: random.Random) -> dict[str, Any]:
    """Answers that mostly agree with what the customer said."""
    good = rating >= 4
    answers: dict[str, Any] = {}
    for section in template.sections:
        for criterion in section["criteria"]:
            if criterion["kind"] == "yes_no":
                chance = 0.97 if criterion.get("auto_fail") else (0.9 if good else 0.55)
                answers[criterion["id"]] = "yes" if rng.random() < chance else "no"
            else:
                base = 4 if good else 3
                answers[criterion["id"]] = max(1, min(5, base + rng.choice((-1, 0, 0, 1))))
    return answers


def _reviewer(people: People, response: Response) -> Identity:
    lead_teams = people.team_leader.team_ids
    return people.team_leader if response.team_id in lead_teams else people.manager


def qa_reviews(
    session: Session,
    people: People,
    templates: dict[int, QaTemplate],
    responses: list[Response],
    month_starts: dict[int, datetime],
    rng: random.Random,
    now: datetime,
) -> int:
    """Evaluations of answered contacts: each agent once last month, most once this month."""
    by_agent: dict[int, tuple[list[Response], list[Response]]] = {}
    for response in responses:
        earlier, later = by_agent.setdefault(response.agent_id, ([], []))
        (earlier if response.created_at < month_starts[response.account_id] else later).append(response)
    written = 0
    for agent_id in sorted(by_agent):
        earlier, later = by_agent[agent_id]
        picks = rng.sample(earlier, min(EVALUATIONS_LAST_MONTH, len(earlier)))
        if later and rng.random() < EVALUATION_THIS_MONTH_CHANCE:
            picks.append(rng.choice(later))
        for response in picks:
            template = templates[response.account_id]
            assert template.id is not None
            body = EvaluationIn(
                interaction_id=response.interaction_id,
                template_id=template.id,
                answers=_answers(template, response.rating, rng),
                comment=rng.choice(QA_COMMENTS[response.rating >= 4]),
            )
            when = min(response.created_at + timedelta(hours=rng.uniform(2, 48)), now)
            evaluated = evaluate(session, _reviewer(people, response), body, when)
            written += 1
            if people.agent.agent_id == agent_id:
                # Maya answers her reviews on /me.
                answer = ReplyIn(action="acknowledge", comment="Thanks, noted.")
                reply(
                    session, people.agent, int(evaluated["id"]), answer, min(when + timedelta(hours=3), now)
                )
    return written


def coaching(
    session: Session, people: People, responses: list[Response], rng: random.Random, now: datetime
) -> int:
    """Notes on some poor answers and shout-outs for some great ones, by the team's coach."""
    written = 0
    for response in responses:
        if response.rating <= 3 and rng.random() < NOTES_SHARE:
            assert response.id is not None
            when = min(response.created_at + timedelta(hours=rng.uniform(1, 30)), now)
            text = rng.choice(NOTES)
            add_note(
                session,
                _reviewer(people, response),
                response.agent_id,
                response.id,
                text,
                rng.random() < 0.5,
                when,
            )
            written += 1
    per_account: dict[int, list[Response]] = {}
    for response in responses:
        if response.rating == 5 and response.reward is not None and response.comment:
            per_account.setdefault(response.account_id, []).append(response)
    for account_id in sorted(per_account):
        candidates = per_account[account_id]
        for response in rng.sample(candidates, min(SHOUTOUTS_PER_ACCOUNT, len(candidates))):
            assert response.id is not None
            when = min(response.created_at + timedelta(minutes=rng.uniform(5, 240)), now)
            message = rng.choice(SHOUTOUTS)
            post_shoutout(session, _reviewer(people, response), response.agent_id, response.id, message, when)
            written += 1
    return written


def recovery_work(
    session: Session, people: People, settings: Settings, signer: Signer, rng: random.Random, now: datetime
) -> int:
    """Cases older than the backlog were worked by Rita: claimed, the customer reached, resolved;
    a couple got a follow-up survey that the customer answered. Newer cases wait in the queue."""
    cases = session.exec(
        select(RecoveryCase)
        .where(RecoveryCase.org_id == people.recovery.org_id, RecoveryCase.status == CaseStatus.open)
        .order_by(col(RecoveryCase.opened_at), col(RecoveryCase.id))
    ).all()
    worked = [c for c in cases if c.opened_at < now - RECOVERY_BACKLOG]
    followed_up = 0
    for case in worked:
        assert case.id is not None
        claimed = case.opened_at + timedelta(minutes=rng.randint(3, 90))
        recovery.claim(session, people.recovery, case.id, claimed)
        outcome = "reached" if rng.random() < 0.8 else "voicemail"
        contacted = claimed + timedelta(minutes=rng.randint(5, 60))
        recovery.record_contact(
            session, people.recovery, case.id, ContactIn.model_validate({"outcome": outcome}), contacted
        )
        resolved = contacted + timedelta(minutes=rng.randint(10, 240))
        recovery.resolve(session, people.recovery, case.id, rng.choice(RESOLUTIONS), resolved)
        if followed_up < FOLLOWUPS_ANSWERED and outcome == "reached":
            sent = recovery.send_followup(session, people.recovery, case.id, signer, settings, resolved)
            answer = {
                "rating": min(5, case.before_rating + 2 + followed_up),
                "comment": rng.choice(FOLLOWUP_COMMENTS),
            }
            submit_by_token(
                session, sent.token, answer, "survey", resolved + timedelta(hours=rng.uniform(1, 20))
            )
            followed_up += 1
    return len(worked)


RESOLUTIONS = [
    "Apologised, fixed the underlying issue and confirmed with the customer.",
    "Credited the account and booked an engineer visit.",
    "Explained the bill line by line; the customer is happy with the payment plan.",
]
FOLLOWUP_COMMENTS = [
    "Thanks for calling me back, it's sorted now.",
    "Much better - appreciated the follow-up.",
]


@dataclass(frozen=True)
class Activity:
    evaluations: int
    coaching: int
    cases_worked: int


def add_activity(
    session: Session,
    settings: Settings,
    signer: Signer,
    org_id: int,
    month_starts: dict[int, datetime],
    rng: random.Random,
    now: datetime,
) -> Activity:
    """``month_starts``: where the current month begins for each account (UTC)."""
    people = People.of(session, org_id)
    first = min(month_starts.values()) - timedelta(days=31)
    templates = scorecards(session, people, org_id, first)
    responses = list(
        session.exec(
            select(Response)
            .where(Response.org_id == org_id, Response.source != FOLLOWUP_SOURCE)
            .order_by(col(Response.created_at), col(Response.id))
        ).all()
    )
    evaluations = qa_reviews(session, people, templates, responses, month_starts, rng, now)
    notes = coaching(session, people, responses, rng, now)
    cases = recovery_work(session, people, settings, signer, rng, now)
    return Activity(evaluations=evaluations, coaching=notes, cases_worked=cases)
