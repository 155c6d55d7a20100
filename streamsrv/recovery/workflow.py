"""The recovery case life cycle as a pure state machine: open -> claimed -> resolved.

Every change a person asks for is checked here before anything is written, so the rules live in
one place and can be tested without a database. A refusal is a ``WorkflowError`` carrying a
machine-readable code; the API turns it into 409 (the case is not in a state that allows it).

Rules:
- anyone working the queue may claim an open case; a claimed case can only be released first;
- only the claimer gives a case back (release); managers and admins may release anyone's;
- recovery staff must claim a case before contacting the customer, resolving it or sending a
  follow-up; managers and admins may act on an unclaimed case (they clear backlogs);
- a resolved case is closed to everything except notes and the follow-up request, which is
  usually sent once the problem is fixed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from streamsrv.models import CaseStatus


class Action(enum.StrEnum):
    claim = "claim"
    release = "release"
    note = "note"
    contact = "contact"
    resolve = "resolve"
    followup = "followup"


class ContactOutcome(enum.StrEnum):
    reached = "reached"
    voicemail = "voicemail"
    no_answer = "no_answer"
    wrong_number = "wrong_number"
    other = "other"


@dataclass(frozen=True)
class Actor:
    user_id: int
    # Managers and admins supervise the queue: they may act without claiming.
    supervisor: bool


@dataclass(frozen=True)
class CaseState:
    status: str
    claimed_by: int | None


class WorkflowError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _not_resolved(state: CaseState, action: Action) -> None:
    if state.status == CaseStatus.resolved:
        raise WorkflowError("case_resolved", f"this case is resolved; it cannot be {_past(action)} any more")


def _past(action: Action) -> str:
    return {
        Action.claim: "claimed",
        Action.release: "released",
        Action.contact: "contacted",
        Action.resolve: "resolved again",
    }.get(action, "changed")


def _worker(state: CaseState, actor: Actor) -> None:
    """Staff must hold the case; supervisors may act on open cases and on anyone's claim."""
    if actor.supervisor:
        return
    if state.status == CaseStatus.open:
        raise WorkflowError("claim_required", "claim this case before working on it")
    if state.claimed_by != actor.user_id:
        raise WorkflowError("claimed_by_other", "another person has claimed this case")


def next_status(action: Action, state: CaseState, actor: Actor) -> str:
    """The status after ``action``, or ``WorkflowError`` if the action is not allowed now."""
    if action == Action.note:
        return state.status
    if action == Action.claim:
        _not_resolved(state, action)
        if state.status == CaseStatus.claimed:
            code = "already_yours" if state.claimed_by == actor.user_id else "already_claimed"
            raise WorkflowError(code, "this case is already claimed")
        return CaseStatus.claimed
    if action == Action.release:
        _not_resolved(state, action)
        if state.status != CaseStatus.claimed:
            raise WorkflowError("not_claimed", "this case is not claimed")
        if state.claimed_by != actor.user_id and not actor.supervisor:
            raise WorkflowError("claimed_by_other", "only the person who claimed this case can release it")
        return CaseStatus.open
    if action == Action.contact:
        _not_resolved(state, action)
        _worker(state, actor)
        return state.status
    if action == Action.resolve:
        _not_resolved(state, action)
        _worker(state, actor)
        return CaseStatus.resolved
    if action == Action.followup:
        if state.status != CaseStatus.resolved:
            _worker(state, actor)
        return state.status
    raise WorkflowError("unknown_action", f"unknown action {action}")
