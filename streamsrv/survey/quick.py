"""One-click ratings: the star a customer clicked in the email, recorded once a browser shows it.

A GET of ``/f/{token}?rating=N`` never records (mail scanners open every link); the page's
script posts the star to ``POST /f/{token}/rating`` once the page is visible, and the customer
goes on to the optional questions, which edit that same response.

Opening the same link again must not look like a change of mind: the same star on a stored
answer writes nothing. A different star edits the stored answer (``edit_count`` + 1), keeping
whatever of it still applies to the new star.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from streamsrv.survey.responses import Survey, ensure_editable, open_survey, save_survey
from streamsrv.survey.validation import ResponseIn, response_errors

# What an answer's field becomes when the new star no longer allows it.
CLEARED: dict[str, Any] = {"reward": None, "improvement_areas": [], "csat": None, "nps": None, "fcr": None}


@dataclass(frozen=True)
class QuickOutcome:
    survey: Survey
    created: bool
    changed: bool


def answer_with_rating(survey: Survey, rating: int) -> ResponseIn:
    """The stored answer with a new star, minus what that star or the account no longer allows."""
    stored = survey.response
    kept: dict[str, Any] = {"rating": rating}
    if stored is not None:
        kept.update(
            comment=stored.comment or None,
            reward=stored.reward,
            improvement_areas=list(stored.improvement_areas),
            csat=stored.csat,
            nps=stored.nps,
            fcr=stored.fcr,
        )
    data = ResponseIn.model_validate(kept)
    errors = response_errors(data, survey.rules)
    return data.model_copy(update={name: CLEARED[name] for name in errors if name in CLEARED})


def record_rating(session: Session, token: str, rating: int, now: datetime) -> QuickOutcome:
    survey = open_survey(session, token, now)
    ensure_editable(survey, now)
    if survey.response is not None and survey.response.rating == rating:
        return QuickOutcome(survey, created=False, changed=False)
    stored = save_survey(session, survey, answer_with_rating(survey, rating), source="survey", now=now)
    return QuickOutcome(survey, created=stored.created, changed=True)
