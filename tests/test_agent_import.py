"""Parsing and planning a CSV import of agents (streamsrv.org.agent_import), without I/O."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsrv.org import agent_import as ai

SYSTEMS = ("zendesk", "freshdesk")
SNAP = ai.Snapshot(
    account_id=1,
    teams={10: "Tier 1", 11: "Tier 2"},
    agents=[
        ai.ExistingAgent(7, 1, 10, "Dana Scully", "dana@example.com", None, {"zendesk": "100"}),
        ai.ExistingAgent(8, 2, 20, "Walter Skinner", "walter@example.com", None, {}),
    ],
)


def rows(text: str) -> list[ai.Row]:
    return ai.parse(text.encode(), SYSTEMS)


def test_plan_creates_updates_and_leaves_unchanged() -> None:
    plan = ai.plan(
        rows(
            "name,team,email,zendesk_id\n"
            "Fox Mulder,tier 2,fox@example.com,\n"
            "Dana Katherine Scully,Tier 2,,100\n"
            "Dana Scully,Tier 1,dana@example.com,100\n"
        ),
        SNAP,
    )
    actions = [(p.line, p.action) for p in plan.lines]
    assert actions == [(2, "create"), (3, "update"), (4, "error")]
    assert plan.lines[0].changes == {
        "team_id": 11,
        "name": "Fox Mulder",
        "external_ids": {},
        "email": "fox@example.com",
    }
    assert plan.lines[1].agent_id == 7
    assert plan.lines[1].changes == {"name": "Dana Katherine Scully", "team_id": 11}
    assert "line 3" in plan.lines[2].errors["zendesk_id"]
    same = ai.plan(rows("name,team,email\nDana Scully,Tier 1,DANA@example.com\n"), SNAP)
    assert [(p.action, p.agent_id) for p in same.lines] == [("unchanged", 7)]


def test_errors_name_the_line_and_column() -> None:
    plan = ai.plan(
        rows(
            "name;team;email;photo_url\n"
            "Ok Person;Tier 1;ok@example.com;\n"
            "Bad Mail;Tier 1;not-an-email;\n"
            ";Tier 1;;\n"
            f"{'x' * 201};Tier 1;;\n"
            "Nobody;Tier 9;;\n"
            "Twice;Tier 1;ok@example.com;\n"
            "Linky;Tier 1;;javascript:alert(1)\n"
            "Other;Tier 1;walter@example.com;\n"
        ),
        SNAP,
    )
    errors = {p.line: p.errors for p in plan.errors}
    assert set(errors) == {3, 4, 5, 6, 7, 8, 9}
    assert "email" in errors[3]
    assert errors[4]["name"] == "required"
    assert "200" in errors[5]["name"]
    assert "Tier 9" in errors[6]["team"]
    assert "line 2" in errors[7]["email"]
    assert "photo_url" in errors[8]
    assert "another account" in errors[9]["line"]
    assert plan.lines[0].action == "create"


def test_bom_semicolons_and_formula_cells_are_data() -> None:
    [row] = ai.parse('\ufeffName;Team\n=HYPERLINK("x");Tier 1\n'.encode(), SYSTEMS)
    assert row.name == '=HYPERLINK("x")'
    assert row.errors == {}


def test_file_level_limits() -> None:
    with pytest.raises(ai.ImportFileError, match="UTF-8"):
        ai.parse("name,team\nJos\xe9,Tier 1\n".encode("latin-1"), SYSTEMS)
    with pytest.raises(ai.ImportFileError, match="unknown column"):
        rows("name,team,salary\nA,Tier 1,3\n")
    with pytest.raises(ai.ImportFileError, match="lacks"):
        rows("name,email\nA,a@example.com\n")
    with pytest.raises(ai.ImportFileError, match="more than"):
        rows("name,team\n" + "A,Tier 1\n" * (ai.MAX_ROWS + 1))
    with pytest.raises(ai.ImportFileError, match="larger"):
        ai.parse(b"name,team\n" + b"A" * ai.MAX_BYTES, SYSTEMS)
    with pytest.raises(ai.ImportFileError, match="no agents"):
        rows("name,team\n\n")


def test_the_fingerprint_changes_when_the_agents_change() -> None:
    parsed = rows("name,team,email\nDana Scully,Tier 1,dana@example.com\n")
    first = ai.plan(parsed, SNAP)
    assert ai.plan(parsed, SNAP).fingerprint == first.fingerprint
    moved = ai.Snapshot(
        1,
        SNAP.teams,
        [ai.ExistingAgent(7, 1, 11, "Dana Scully", "dana@example.com", None, {"zendesk": "100"})],
    )
    assert ai.plan(parsed, moved).fingerprint != first.fingerprint


def test_the_sample_file_parses_without_errors() -> None:
    plan = ai.plan(ai.parse(ai.sample(SYSTEMS).encode(), SYSTEMS), SNAP)
    assert [p.action for p in plan.lines] == ["create", "create"]


cell = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cell, cell, cell, cell), min_size=1, max_size=20), st.sampled_from([",", ";"]))
def test_any_cells_parse_or_fail_cleanly(cells: list[tuple[str, str, str, str]], sep: str) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep)
    writer.writerow(["name", "team", "email", "zendesk_id"])
    writer.writerows(cells)
    try:
        parsed = ai.parse(buffer.getvalue().encode(), SYSTEMS)
    except ai.ImportFileError:
        return
    plan = ai.plan(parsed, SNAP)
    for line in plan.lines:
        assert (line.action == "error") == bool(line.errors)
        if line.action == "create":
            assert line.changes["team_id"] in SNAP.teams
