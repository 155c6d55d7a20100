"""Drawing one believable piece of customer feedback: rating, comment, reward, extra questions.

Shared by the historical backfill and the live traffic simulator, so the demo's history and its
live stream look alike. Ratings are skewed positive, as real post-contact surveys are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# 5: 70 %, 4: 18 %, 3: 6 %, 2: 3 %, 1: 3 %  -> mean about 4.5
RATING_WEIGHTS: dict[int, float] = {5: 0.70, 4: 0.18, 3: 0.06, 2: 0.03, 1: 0.03}

CHANNEL_WEIGHTS: dict[str, float] = {
    "phone": 0.34,
    "chat": 0.24,
    "email": 0.18,
    "sms": 0.07,
    "social": 0.07,
    "in_store": 0.06,
    "delivery": 0.04,
}

# "{name}" is the agent's first name; phrases without it stay anonymous.
COMMENTS: dict[int, list[str]] = {
    5: [
        "{name} was brilliant, sorted everything in one call.",
        "Absolutely fantastic service, thank you {name}!",
        "Quick, friendly and clear. Couldn't ask for more.",
        "{name} went above and beyond to help me today.",
        "Best support experience I've had in years.",
        "Really patient with me, explained every step. Thanks {name}.",
        "Problem solved in minutes. Great job!",
        "{name} made a stressful situation so much easier.",
        "Friendly, knowledgeable and fast. Five stars.",
        "I was expecting a long wait and a runaround. Instead {name} fixed it straight away.",
        "Lovely person, very helpful 😊",
        "Thank you {name}, you were a star!",
        "Exactly the help I needed, no fuss.",
        "{name} followed up like promised. Impressed.",
    ],
    4: [
        "Good service, {name} was helpful. Wait time was a bit long.",
        "Sorted in the end, thanks {name}.",
        "Helpful and polite, took a little longer than I hoped.",
        "Pretty good overall, would have liked a text confirmation.",
        "{name} knew the answer, just had to hold a couple of times.",
        "Nice experience, friendly agent.",
        "All fixed, thanks. The app could be easier though.",
    ],
    3: [
        "It's fixed but I had to explain it twice.",
        "{name} was nice but couldn't solve it fully.",
        "OK. Took too long to get through.",
        "Average. Got an answer, not sure it's the right one.",
        "Fine, but I was transferred three times.",
    ],
    2: [
        "Still not resolved after two calls.",
        "{name} didn't seem to understand my problem.",
        "Was promised a callback that never came.",
        "Too much waiting and no clear answer.",
    ],
    1: [
        "Terrible. Nobody could tell me what was going on.",
        "I was cut off twice and my issue is still open.",
        "Rude and unhelpful, I'll be looking elsewhere.",
        "Waited 45 minutes for nothing.",
    ],
}

# Areas a customer ticks after a poor contact, most likely first.
AREA_WEIGHTS: dict[str, float] = {
    "speed": 0.30,
    "resolution": 0.25,
    "clarity": 0.15,
    "knowledge": 0.12,
    "follow_up": 0.12,
    "courtesy": 0.06,
}

FIRST_NAMES = [
    "Alex",
    "Sam",
    "Jordan",
    "Chris",
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elif",
    "Farah",
    "George",
    "Hiro",
    "Ines",
    "Jack",
    "Kim",
    "Leila",
    "Marta",
    "Nikhil",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sean",
    "Tanya",
    "Umar",
    "Vera",
    "Wen",
    "Yara",
    "Zane",
    "Noor",
    "Ivan",
    "Bea",
    "Kwame",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Kim",
    "Okoro",
    "Novak",
    "Silva",
    "Brown",
    "Ali",
    "Jensen",
    "Moreau",
    "Schmidt",
    "Rossi",
    "Khan",
    "Ito",
    "Lopez",
    "Walsh",
    "Nowak",
    "Reyes",
    "Cohen",
    "Singh",
]


@dataclass(frozen=True)
class AccountProfile:
    """What the survey of one account asks and offers."""

    account_id: int
    name: str
    reward_codes: tuple[str, ...]
    area_codes: tuple[str, ...]
    ask_csat: bool
    ask_nps: bool
    ask_fcr: bool


@dataclass(frozen=True)
class AgentTarget:
    agent_id: int
    name: str
    first_name: str
    team_id: int
    account: AccountProfile


@dataclass
class DrawnFeedback:
    channel: str
    customer_name: str
    customer_email: str
    rating: int
    comment: str = ""
    reward: str | None = None
    improvement_areas: list[str] = field(default_factory=list)
    csat: int | None = None
    nps: int | None = None
    fcr: bool | None = None

    def response_fields(self) -> dict[str, Any]:
        """The body of ``POST /api/v1/responses/{token}`` (and the response half of ingest)."""
        body: dict[str, Any] = {"rating": self.rating, "comment": self.comment}
        if self.reward is not None:
            body["reward"] = self.reward
        if self.improvement_areas:
            body["improvement_areas"] = list(self.improvement_areas)
        for key in ("csat", "nps", "fcr"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def draw_rating(rng: random.Random) -> int:
    return int(_weighted(rng, RATING_WEIGHTS))


def draw_comment(rng: random.Random, rating: int, agent_first_name: str) -> str:
    # Some people only click the stars.
    if rng.random() < 0.15:
        return ""
    return rng.choice(COMMENTS[rating]).format(name=agent_first_name)


def draw_customer(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    # A unique address per contact: the same address twice within the account's suppression
    # period would (correctly) not get a second survey.
    email = f"{first}.{last}.{rng.getrandbits(32):08x}@example.com".lower()
    return f"{first} {last}", email


def _near(rng: random.Random, rating: int, low: int, high: int, scale: float) -> int:
    """An answer that agrees with the star rating, with a little noise."""
    value = round(low + (rating - 1) / 4 * (high - low) * scale + rng.uniform(-1, 1))
    return max(low, min(high, value))


def draw_feedback(rng: random.Random, target: AgentTarget) -> DrawnFeedback:
    account = target.account
    rating = draw_rating(rng)
    name, email = draw_customer(rng)
    drawn = DrawnFeedback(
        channel=str(_weighted(rng, CHANNEL_WEIGHTS)),
        customer_name=name,
        customer_email=email,
        rating=rating,
        comment=draw_comment(rng, rating, target.first_name),
    )
    if rating >= 4 and account.reward_codes and rng.random() < 0.55:
        drawn.reward = rng.choice(account.reward_codes)
    if rating <= 3 and account.area_codes and rng.random() < 0.85:
        weights = {c: AREA_WEIGHTS.get(c, 0.1) for c in account.area_codes}
        picked = {str(_weighted(rng, weights)) for _ in range(rng.randint(1, 2))}
        drawn.improvement_areas = sorted(picked)
    if account.ask_csat and rng.random() < 0.8:
        drawn.csat = _near(rng, rating, 1, 5, 1.0)
    if account.ask_nps and rng.random() < 0.7:
        drawn.nps = _near(rng, rating, 0, 10, 1.0)
    if account.ask_fcr and rng.random() < 0.75:
        drawn.fcr = rating >= 4 or rng.random() < 0.3
    return drawn
