"""Who works at the demo organization: accounts, teams and agents with bios and hobbies.

Fictional people with names from many backgrounds, because real contact-center floors look
like that and the survey page should be tried with long, short and accented names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORG_NAME = "Northwind BPO"
# Public on purpose: it is printed in the banner and the README; demo data only.
DEMO_PASSWORD = "northwind-demo-2025"  # noqa: S105
EMAIL_DOMAIN = "demo.streamsrv.local"


@dataclass(frozen=True)
class AgentSpec:
    name: str
    bio: str
    hobbies: tuple[str, ...]


@dataclass(frozen=True)
class TeamSpec:
    name: str
    agents: tuple[AgentSpec, ...]


@dataclass(frozen=True)
class AccountSpec:
    name: str
    ask_csat: bool
    ask_nps: bool
    ask_fcr: bool
    promo_code: str | None
    teams: tuple[TeamSpec, ...]
    # IANA zone: "this month" and the monthly statements follow the client's own calendar.
    time_zone: str = "UTC"
    # None keeps the default catalogue from the model.
    rewards: list[dict[str, Any]] | None = field(default=None)


def _a(name: str, bio: str, *hobbies: str) -> AgentSpec:
    return AgentSpec(name=name, bio=bio, hobbies=hobbies)


AURORA = AccountSpec(
    name="Aurora Telecom",
    ask_csat=True,
    ask_nps=True,
    ask_fcr=True,
    promo_code="AURORA10",
    time_zone="America/New_York",
    teams=(
        TeamSpec(
            "Mobile Care",
            (
                _a(
                    "Maya Chen",
                    "Six years helping people move numbers without losing a photo.",
                    "bouldering",
                    "dumplings",
                ),
                _a(
                    "Oluwaseun Adeyemi",
                    "Turns roaming bills into good news, most days.",
                    "afrobeats",
                    "chess",
                ),
                _a(
                    "Lucía Fernández",
                    "Bilingual support lead; patient with every handset ever made.",
                    "salsa",
                    "ceramics",
                ),
                _a(
                    "Tom Becker",
                    "Former shop-floor engineer who still loves a SIM swap.",
                    "cycling",
                    "bread baking",
                ),
                _a(
                    "Priya Raman",
                    "Explains data plans like a good teacher: once, clearly.",
                    "carnatic music",
                    "running",
                ),
                _a(
                    "Jamal Washington",
                    "Night-shift regular; calm voice, quick fixes.",
                    "basketball",
                    "jazz records",
                ),
                _a("Aiko Tanaka", "Knows every eSIM quirk by heart.", "origami", "trail running"),
                _a(
                    "Sören Lindqvist",
                    "Patient with slow connections and the people stuck on them.",
                    "sailing",
                    "crosswords",
                ),
                _a(
                    "Fatima Zahra El Idrissi",
                    "Speaks four languages and uses all of them before lunch.",
                    "calligraphy",
                    "football",
                ),
                _a("Kofi Mensah", "Believes every call should end with a smile.", "drumming", "gardening"),
            ),
        ),
        TeamSpec(
            "Home Broadband",
            (
                _a(
                    "Hannah O'Brien",
                    "Fibre installs, router resets and the odd pep talk.",
                    "rugby",
                    "podcasts",
                ),
                _a("Rafael Souza", "Can find the weak spot in any home Wi-Fi.", "surfing", "barbecue"),
                _a(
                    "Mei-Ling Wu",
                    "Twelve years of broadband; still curious about every outage.",
                    "tea tasting",
                    "piano",
                ),
                _a("Dmitri Volkov", "Our go-to for tricky business lines.", "hockey", "astronomy"),
                _a(
                    "Grace Mwangi", "Keeps customers posted until the line is green again.", "choir", "hiking"
                ),
                _a(
                    "Arjun Mehta",
                    "Loves a good network diagram and a better explanation.",
                    "cricket",
                    "cooking",
                ),
                _a(
                    "Chloé Dubois",
                    "Turns a missed engineer visit into a plan that works.",
                    "painting",
                    "cinema",
                ),
                _a("Mateo Rossi", "Weekend gamer, weekday latency whisperer.", "video games", "espresso"),
                _a(
                    "Sarah Goldberg",
                    "Knows how much a working connection means when you work from home.",
                    "yoga",
                    "novels",
                ),
                _a("Nguyen Van An", "Quiet, thorough, and always checks twice.", "badminton", "photography"),
            ),
        ),
    ),
)

BRIGHTSIDE = AccountSpec(
    name="Brightside Energy",
    ask_csat=True,
    ask_nps=False,
    ask_fcr=False,
    promo_code=None,
    time_zone="Europe/London",
    rewards=[
        {"code": "high_five", "label": "High five", "emoji": "\U0001f64c", "value": 0},
        {"code": "thank_you_card", "label": "Thank-you card", "emoji": "\U0001f48c", "value": 2},
        {"code": "coffee", "label": "Coffee", "emoji": "\u2615", "value": 4},
        {"code": "team_lunch", "label": "Team lunch", "emoji": "\U0001f355", "value": 20},
    ],
    teams=(
        TeamSpec(
            "Billing & Payments",
            (
                _a(
                    "Emily Johnson", "Makes payment plans that people can actually keep.", "netball", "baking"
                ),
                _a("Ahmed Hassan", "Meter readings, refunds and reassurance.", "football", "poetry"),
                _a(
                    "Sofia Kowalski", "Finds the missing kilowatt-hour every time.", "board games", "swimming"
                ),
                _a("Diego Ramírez", "Turns estimated bills into accurate ones.", "guitar", "tacos"),
                _a(
                    "Ngozi Okafor",
                    "Ten years in energy; explains tariffs without jargon.",
                    "book club",
                    "dancing",
                ),
                _a("Liam Murphy", "Happy to talk direct debits all day long.", "hurling", "fishing"),
                _a("Yuki Sato", "Spots a billing error from across the room.", "manga", "tennis"),
                _a(
                    "Isabella Costa",
                    "Warm voice for hard conversations about debt.",
                    "volunteering",
                    "pilates",
                ),
                _a(
                    "Hamid Karimi",
                    "Makes sure nobody's heating is cut off by mistake.",
                    "backgammon",
                    "hiking",
                ),
                _a(
                    "Zoe Williams", "Newest on the team and already a favourite.", "roller derby", "thrifting"
                ),
            ),
        ),
        TeamSpec(
            "Smart Home Support",
            (
                _a(
                    "Ravi Patel",
                    "Smart meters, solar panels and heat pumps are his happy place.",
                    "cricket",
                    "electronics",
                ),
                _a(
                    "Ingrid Hansen",
                    "Helps people understand the graphs on their in-home display.",
                    "knitting",
                    "skiing",
                ),
                _a(
                    "Marcus Brown", "Gets thermostats talking to each other again.", "marathons", "soul music"
                ),
                _a(
                    "Amara Diallo",
                    "Walks customers through every step, never rushes.",
                    "photography",
                    "cooking",
                ),
                _a(
                    "Kenji Watanabe",
                    "Former electrician; knows what is behind the wall.",
                    "woodworking",
                    "ramen",
                ),
                _a("Olivia Smith", "Turns EV-charger puzzles into quick wins.", "road trips", "podcasts"),
                _a("Tariq Al-Farsi", "Keeps calm when the boiler doesn't.", "falconry books", "coffee"),
                _a(
                    "Elena Popescu", "Loves the moment a customer's app finally connects.", "violin", "hiking"
                ),
                _a("Jin-woo Park", "Firmware updates, patiently explained.", "e-sports", "baking"),
                _a(
                    "Aaliyah Thompson",
                    "Energy-saving tips delivered with a grin.",
                    "gardening",
                    "gospel choir",
                ),
            ),
        ),
    ),
)

ACCOUNTS: tuple[AccountSpec, ...] = (AURORA, BRIGHTSIDE)


def first_name(full_name: str) -> str:
    # "Nguyen Van An" is family-name first; everyone else here is given-name first.
    if full_name.startswith("Nguyen "):
        return full_name.split()[-1]
    return full_name.split()[0]
