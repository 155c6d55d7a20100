"""Which passwords may be set: long enough, not common, not a pattern, not the user's own name.

One rule for every place a password is set (the users API, ``streamsrv admin create-org``), so
the answer is the same everywhere: ``password_problem`` returns what is wrong, in words for the
person choosing it, or None. Length alone is a poor guard: ``Password2024!`` and ``qwertyuiop``
are long enough and among the first guesses of any attacker. So a password is also refused when
it is, or is built around, one of a few hundred of the most used passwords (lowercased, with
look-alike digits and symbols read as letters, and with digits and symbols around it removed),
when it is one character or a short pattern repeated or a straight run like ``abcdefghij``, and
when it contains the user's email address, the part before the ``@``, or their name.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

MIN_LENGTH = 10
MAX_LENGTH = 1024
# A name or address part shorter than this is too common inside ordinary words to refuse.
MIN_PERSONAL_PART = 4
# A unit this short, repeated, is a pattern (``abcabcabcabc``, ``1212121212``).
MAX_PATTERN_UNIT = 4

TOO_SHORT = f"must be at least {MIN_LENGTH} characters long"
TOO_LONG = f"must be at most {MAX_LENGTH} characters long"
COMMON = "is one of the most commonly used passwords (or built around one); choose another"
PATTERN = "must not be one character or a short pattern repeated, or a run like 1234567890 or abcdefghij"
PERSONAL = "must not contain the user's email address or name"

_READ = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_AROUND = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_TRAILING = re.compile(r"[\W\d_]+$")
_PARTS = re.compile(r"[^\w]+|_")
# Straight runs, forwards or backwards: counting, the alphabet, keyboard rows and columns.
_RUNS = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("streamsrv.security").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _is_common(lowered: str) -> bool:
    # "Summer2024!" is "summer" with digits around it; "P@ssw0rd1" and "$ecret99!" spell common
    # words once what trails them is cut and look-alikes are read as letters.
    readable = _TRAILING.sub("", lowered).translate(_READ)
    candidates = {lowered, _AROUND.sub("", lowered), lowered.translate(_READ), _AROUND.sub("", readable)}
    common = common_passwords()
    return any(candidate in common for candidate in candidates if candidate)


def _is_pattern(lowered: str) -> bool:
    for size in range(1, MAX_PATTERN_UNIT + 1):
        if len(lowered) > size and (lowered[:size] * (len(lowered) // size + 1)).startswith(lowered):
            return True
    return any(lowered in run or lowered in run[::-1] for run in _RUNS)


def _personal_parts(email: str, name: str) -> set[str]:
    email = email.strip().lower()
    local = email.split("@", 1)[0]
    parts = {email, local, name.strip().lower()}
    for text in (local, name.lower()):
        parts.update(_PARTS.split(text))
    return {part for part in parts if len(part) >= MIN_PERSONAL_PART}


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """What is wrong with ``password`` for the user with this email and name, or None."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    lowered = password.lower()
    if _is_pattern(lowered):
        return PATTERN
    if _is_common(lowered):
        return COMMON
    readable = lowered.translate(_READ)
    if any(part in lowered or part in readable for part in _personal_parts(email, name)):
        return PERSONAL
    return None
