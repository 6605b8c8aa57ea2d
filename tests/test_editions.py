"""Statement editions: applicability, numbered paragraphs, numbers bound to figures, literal
numbers confirmed, approval frozen at a log position."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.domain.comparisons import change_of
from events.domain.editions import literal_numbers
from events.domain.errors import (
    EditionAlreadyOpened,
    InvalidValue,
    NotReadyToApprove,
    NothingToChange,
    ParagraphNumberTaken,
    UnknownEdition,
    UnknownParagraph,
)
from events.domain.fields import NATIONAL_PRIORITIES
from events.domain.figures import figure_stream
from service.handlers import editions
from service.handlers.figures import revise_figure

from .given import ANALYST, BASELINE, Y2021, a_figure, a_measure, an_edition, homicide_with_figures, types_of

E = "2022-02"
STREAM = f"edition-{E}"
P4 = (
    "Volumes from January 2021 to December 2021 saw {{value:homicide:2021-01/2021-12}} homicides, compared to "
    "{{baseline:homicide}} in the year ending June 2019 baseline, a {{percent:homicide:2021-01/2021-12}} "
    "{{direction:homicide:2021-01/2021-12}}"
)


def write(store, number, text, section="force-statement", **extra):
    return editions.write_paragraph(store, E, number, section=section, text=text, metadata=ANALYST, **extra)


def problems_of(store):
    return [str(p) for p in editions.check_edition(store, E)[1]]


# -- opening and details ---------------------------------------------------------------------------


def test_an_edition_opens_with_authors_lead_contact_and_the_three_sections(store):
    an_edition(store, assessed=False)
    (event,) = store.read_stream(STREAM)
    assert event.type == "EditionOpened"
    assert [s["section"] for s in event.data["sections"]] == ["force-statement", "pcc-statement", "kpi-scorecard"]
    assert event.data["authors"] == [{"name": "Harry Barton", "job_title": "Head of Strategy and Direction"}]
    assert event.data["lead_contact"] == {"name": "Stuart Gardner", "email": "", "phone": ""}
    with pytest.raises(EditionAlreadyOpened):
        an_edition(store, assessed=False)


def test_amending_details_needs_a_reason_and_records_only_what_changes(store):
    an_edition(store, assessed=False)
    with pytest.raises(InvalidValue, match="reason: expected a reason for amending the edition's title"):
        editions.amend_edition(store, E, reason="", metadata=ANALYST, title="New title")
    editions.amend_edition(store, E, reason="typo", metadata=ANALYST, title="New title", lead_contact={"name": "Stuart Gardner"})
    assert store.read_stream(STREAM)[-1].data["title"] == "New title"
    assert store.read_stream(STREAM)[-1].data["lead_contact"] is None  # unchanged, so not recorded
    with pytest.raises(NothingToChange):
        editions.amend_edition(store, E, reason="again", metadata=ANALYST, title="New title")


def test_commands_on_an_edition_never_opened_are_refused(store):
    with pytest.raises(UnknownEdition, match="open it first"):
        write(store, 1, "text")


# -- applicability (7A(b)) ----------------------------------------------------------------------


def test_each_national_priority_is_assessed_applicable_or_not_with_a_reason(store):
    an_edition(store, assessed=False)
    editions.assess_priority(store, E, "cyber-crime", False, "no force-level data", ANALYST)
    editions.assess_priority(store, E, "cyber-crime", True, "proxy from force systems", ANALYST)

    state, _ = editions.load_edition(store, E)
    assert state.applicability == {"cyber-crime": (True, "proxy from force systems")}
    with pytest.raises(InvalidValue, match="reason: expected the reason homicide is applicable"):
        editions.assess_priority(store, E, "homicide", True, "", ANALYST)
    with pytest.raises(InvalidValue, match="priority: expected one of homicide, .*, cyber-crime, found 'local'"):
        editions.assess_priority(store, E, "local", True, "a PCC plan KPI", ANALYST)
    with pytest.raises(NothingToChange):
        editions.assess_priority(store, E, "cyber-crime", True, "proxy from force systems", ANALYST)


def test_approval_is_refused_until_every_national_priority_is_assessed(store):
    an_edition(store, assessed=False)
    write(store, 1, "This report meets the requirements of the Order 2021.")
    editions.assess_priority(store, E, "homicide", True, "applies", ANALYST)
    with pytest.raises(NotReadyToApprove) as refused:
        editions.approve_edition(store, E, ANALYST)
    unassessed = [p.where for p in refused.value.problems]
    assert unassessed == [f"priority {p}" for p in NATIONAL_PRIORITIES if p != "homicide"]


# -- paragraphs -----------------------------------------------------------------------------------


def test_paragraph_numbers_run_through_the_whole_edition(store):
    an_edition(store)
    write(store, 36, "The force statement ends here.")
    with pytest.raises(ParagraphNumberTaken, match="paragraph 36 already exists .* \\(section force-statement\\)"):
        write(store, 36, "The PCC statement starts here.", section="pcc-statement")
    write(store, 37, "The PCC statement starts here.", section="pcc-statement")
    assert [p.number for p in editions.load_edition(store, E)[0].in_order()] == [36, 37]


def test_a_paragraph_goes_in_one_of_the_editions_sections(store):
    an_edition(store)
    with pytest.raises(InvalidValue, match="section: expected one of the edition's sections: force-statement, pcc-statement, kpi-scorecard, found 'appendix'"):
        write(store, 1, "text", section="appendix")


def test_revising_a_paragraph_needs_a_reason_and_removing_one_frees_its_number(store):
    an_edition(store)
    write(store, 1, "First draft.", heading="Purpose of paper")
    with pytest.raises(InvalidValue, match="reason: expected a reason for revising paragraph 1"):
        editions.revise_paragraph(store, E, 1, text="Second draft.", reason=None, metadata=ANALYST)
    with pytest.raises(NothingToChange):
        editions.revise_paragraph(store, E, 1, text="First draft.", reason="same", metadata=ANALYST)
    editions.revise_paragraph(store, E, 1, text="Second draft.", reason="clearer", metadata=ANALYST)
    assert editions.load_edition(store, E)[0].paragraphs[1].heading == "Purpose of paper"

    with pytest.raises(UnknownParagraph):
        editions.remove_paragraph(store, E, 2, "not there", ANALYST)
    editions.remove_paragraph(store, E, 1, "merged into 2", ANALYST)
    write(store, 1, "A new first paragraph.")
    assert types_of(store, STREAM)[-4:] == ["ParagraphWritten", "ParagraphRevised", "ParagraphRemoved", "ParagraphWritten"]


# -- bindings -------------------------------------------------------------------------------------


def test_a_paragraph_binds_numbers_to_defined_measures_only(store):
    an_edition(store)
    with pytest.raises(InvalidValue, match="measure 'homicide' is not defined"):
        write(store, 4, P4)
    a_measure(store, "homicide")
    write(store, 4, P4)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("saw {{valeu:homicide:2021-01/2021-12}} homicides", "not a placeholder"),
        ("saw {{value:homicide}} homicides", "expected a period, such as {{value:homicide:2021-01/2021-12}}"),
        ("saw {{baseline:homicide:2018-07/2019-06}}", "a baseline takes the measure's baseline period"),
        ("saw {{value:homicide:2021-12/2021-01}}", "expected a period that ends on or after its start"),
    ],
)
def test_a_mistyped_placeholder_is_refused_with_the_grammar(store, text, expected):
    an_edition(store)
    a_measure(store, "homicide")
    with pytest.raises(InvalidValue) as refused:
        write(store, 4, text)
    assert expected in str(refused.value)


def test_approval_needs_every_bound_figure_and_its_baseline_to_be_recorded(store):
    an_edition(store)
    a_measure(store, "homicide")
    write(store, 4, P4)
    assert problems_of(store) == [
        f"paragraph 4: {{{{value:homicide:{Y2021}}}}}: no figure homicide/west-midlands/{Y2021} is recorded",
        "paragraph 4: {{baseline:homicide}}: no baseline figure homicide/west-midlands/2018-07/2019-06 is recorded",
        f"paragraph 4: {{{{percent:homicide:{Y2021}}}}}: no figure homicide/west-midlands/{Y2021} is recorded",
        f"paragraph 4: {{{{direction:homicide:{Y2021}}}}}: no figure homicide/west-midlands/{Y2021} is recorded",
    ]
    a_figure(store, "homicide", BASELINE, "52")
    a_figure(store, "homicide", Y2021, "46")
    assert problems_of(store) == []


def test_a_comparison_needs_a_period_as_long_as_the_baseline(store):
    an_edition(store)
    homicide_with_figures(store)
    a_figure(store, "homicide", "2021-10/2021-12", "9")
    write(store, 9, "a {{percent:homicide:2021-10/2021-12}} change; {{value:homicide:2021-10/2021-12}} this quarter")
    (problem,) = problems_of(store)
    assert "2021-10/2021-12 is not the same length as the baseline period 2018-07/2019-06" in problem


def test_placeholders_render_from_the_figures_with_exact_whole_percentages(store):
    an_edition(store)
    homicide_with_figures(store)
    write(store, 4, P4)
    view = editions.view_edition(store, E)
    assert view.rendered(P4).endswith("saw 46 homicides, compared to 52 in the year ending June 2019 baseline, a 12% reduction")
    assert view.rendered("{{change:homicide:2021-01/2021-12}} / {{difference:homicide:2021-01/2021-12}}") == "-6 / 6"


def test_a_revised_figure_changes_what_the_text_says_and_the_text_never_disagrees(store):
    an_edition(store)
    homicide_with_figures(store)
    write(store, 4, P4)
    revise_figure(store, "homicide", "west-midlands", Y2021, "53", "correction", "late reclassification", ANALYST)
    assert editions.view_edition(store, E).rendered(P4).endswith("saw 53 homicides, compared to 52 in the year ending June 2019 baseline, a 2% increase")


@given(value=st.integers(0, 10**6), baseline=st.integers(1, 10**6))
def test_percent_changes_are_exact_and_round_half_away_from_zero(value, baseline):
    """Property: the whole percent equals the exact decimal ratio rounded half away from zero."""
    with localcontext() as context:
        context.prec = 100  # with a denominator below 10**6, a non-tie is at least 5e-7 away from half-way
        exact = Decimal(value - baseline) * 100 / Decimal(baseline)
        expected = int(exact.copy_abs().quantize(Decimal(1), rounding=ROUND_HALF_UP)) * (-1 if exact < 0 else 1)
    assert change_of(str(value), str(baseline)).change_percent == expected


def test_the_seeds_stated_percentages_reproduce():
    assert change_of("46", "52").change_percent == -12
    assert change_of("19018", "28675").change_percent == -34
    assert change_of("7509", "8945").change_percent == -16
    assert change_of("3", "8").change_percent == -63  # -62.5 rounds away from zero
    assert change_of("5", "8").change_percent == -38  # -37.5 rounds away from zero
    assert change_of("0", "0").change_percent is None


# -- literal numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, literals",
    [
        ("has remained relatively stable in recent years averaging five a month", ["five"]),
        ("scheduled for FCID and Neighbourhood Policing Units in 20", ["20"]),
        ("At the close of Q3, 10, 579 children and young people, and 184 adults", ["10, 579", "184"]),
        ("West Midlands record 28,675 Burglaries", ["28,675"]),
        ("Volumes from January 2021 to December 2021 saw 46 homicides", ["46"]),
        ("an increase of 12% vs year ending June 19, a part", ["12%"]),
        ("compared to 2020, after three quarters of 2021/22, in 2022-23, the PEEL inspection 2021/2022", ["three"]),
        ("the peak in the baseline year (2019); compared to the 2019 baseline; Order 2021", []),
        ("stable at between 10-15 each month", ["10-15"]),
        ("Almost one in four homicides; about half a million pounds; a five-fold increase", ["one in four", "half a million", "five-fold"]),
        ("One of the biggest rises; Q3; DG6; COVID-19 funding", []),
        ("offences.[^1] and {{value:homicide:2021-01/2021-12}} too", []),
        ("a team of 22 officers; 2000 officers; £2m; £1.5 million; 58.5%", ["22", "2000", "£2m", "£1.5 million", "58.5%"]),
        # How long a period is names the period: "+1,093, +6.4% on the previous 12 months" binds every figure.
        ("on the previous 12 months; a 12-month period; the last three years; rolling 12 months to November 2022", []),
        ("12 offences in the last 12 months; 46 months; over the past 120 years", ["12", "46", "120"]),
    ],
)
def test_literal_numbers_are_every_number_typed_into_prose_but_dates(text, literals):
    assert literal_numbers(text) == literals


def test_check_lists_every_typed_number_until_an_editor_confirms_it(store):
    an_edition(store)
    homicide_with_figures(store)
    write(store, 4, "averaging five a month. " + P4)
    write(store, 11, "a team of 22 officers, 22 of them trained")

    assert [(p.number, p.literal) for p in editions.check_edition(store, E)[1]] == [(4, "five"), (11, "22")]
    editions.confirm_literal(store, E, 11, "22", "a headcount, not a figure", ANALYST)
    assert [(p.number, p.literal) for p in editions.check_edition(store, E)[1]] == [(4, "five")]


def test_confirming_a_number_the_paragraph_does_not_contain_is_refused_listing_those_it_does(store):
    an_edition(store)
    write(store, 6, "100 arrests, 365 stop and searches")
    with pytest.raises(InvalidValue, match="literal: expected one of the numbers typed in paragraph 6: 100, 365, found '53'"):
        editions.confirm_literal(store, E, 6, "53", "ops", ANALYST)
    with pytest.raises(InvalidValue, match="reason: expected why '100' in paragraph 6 is not a recorded figure"):
        editions.confirm_literal(store, E, 6, "100", "", ANALYST)


def test_revising_a_paragraph_clears_its_confirmations(store):
    an_edition(store)
    write(store, 11, "a team of 22 officers")
    editions.confirm_literal(store, E, 11, "22", "a headcount", ANALYST)
    editions.revise_paragraph(store, E, 11, text="22 homicides", reason="rewritten", metadata=ANALYST)
    assert [p.literal for p in editions.check_edition(store, E)[1]] == ["22"]


# -- approval -------------------------------------------------------------------------------------


def test_approval_is_refused_listing_every_problem_and_writes_nothing(store):
    an_edition(store, assessed=False)
    a_measure(store, "homicide")
    write(store, 4, "averaging five a month. " + P4)
    head = store.head()
    with pytest.raises(NotReadyToApprove) as refused:
        editions.approve_edition(store, E, ANALYST)
    kinds = [p.kind for p in refused.value.problems]
    assert kinds.count("literal") == 1 and kinds.count("binding") == 4 and kinds.count("priority") == 6
    assert "cannot be approved, 11 problem(s)" in str(refused.value)
    assert store.head() == head


def test_approval_freezes_the_edition_at_the_log_head_and_a_later_one_is_revision_two_with_a_reason(store):
    an_edition(store)
    homicide_with_figures(store)
    write(store, 4, P4)
    head = store.head()

    _, approval = editions.approve_edition(store, E, ANALYST)

    event = store.read_stream(STREAM)[-1]
    assert event.type == "EditionApproved"
    content = event.data.pop("content")
    assert event.data == {"edition": E, "revision": 1, "position": head.position, "head_hash": head.hash, "reason": ""}
    # It names what the revision publishes, each with the event it comes from (docs/proofs.md).
    written = store.read_stream(STREAM)[-2]
    assert content["paragraphs"] == [
        {"number": 4, "section": written.data["section"], "text": P4, "heading": "", "priority": written.data.get("priority"),
         "footnotes": [], "position": written.position, "hash": written.hash}
    ]  # fmt: skip
    recorded = store.read_stream(figure_stream("homicide", "west-midlands", Y2021))[-1]
    (homicide,) = [f for f in content["figures"] if (f["measure"], f["period"]) == ("homicide", Y2021)]
    assert (homicide["value"], homicide["position"], homicide["hash"]) == ("46", recorded.position, recorded.hash)
    revise_figure(store, "homicide", "west-midlands", Y2021, "47", "revision", "late data", ANALYST)
    frozen = editions.view_edition(store, E, approval.position)
    assert frozen.rendered(P4).startswith("Volumes from January 2021 to December 2021 saw 46 homicides")
    with pytest.raises(InvalidValue, match="reason: expected a reason for approving revision 2, which supersedes revision 1"):
        editions.approve_edition(store, E, ANALYST)
    _, second = editions.approve_edition(store, E, ANALYST, reason="late homicide data")
    assert (second.revision, second.reason) == (2, "late homicide data")
    revised = store.read_stream(figure_stream("homicide", "west-midlands", Y2021))[-1]
    (homicide,) = [f for f in second.content.figures if (f.measure, f.period) == ("homicide", Y2021)]
    assert (homicide.value, homicide.position, homicide.hash) == ("47", revised.position, revised.hash)
    assert editions.view_edition(store, E).rendered(P4).startswith("Volumes from January 2021 to December 2021 saw 47")


class EditsWhileApproving:
    """A store through which a paragraph is written just after the approver reads the head."""

    def __init__(self, store):
        self._store = store
        self.fired = False

    def __getattr__(self, name):
        return getattr(self._store, name)

    def head(self):
        head = self._store.head()
        if not self.fired:
            self.fired = True
            editions.write_paragraph(self._store, E, 5, section="force-statement", text="Unchecked text.", metadata=ANALYST)
        return head


def test_an_edit_landing_between_the_check_and_the_approval_makes_the_approval_conflict(store):
    from events import WrongExpectedVersion

    an_edition(store)
    homicide_with_figures(store)
    write(store, 4, P4)
    with pytest.raises(WrongExpectedVersion):
        editions.approve_edition(EditsWhileApproving(store), E, ANALYST)
    assert "EditionApproved" not in types_of(store, STREAM)


@given(count=st.integers(1_000, 10**9), word=st.sampled_from(["burglaries", "offences", "children"]))
def test_any_count_written_with_thousands_separators_is_one_literal(count, word):
    written = f"{count:,}"
    assert literal_numbers(f"The year saw {written} {word}.") == [written]
    assert literal_numbers(f"The year saw {written.replace(',', ', ')} {word}.") == [written.replace(",", ", ")]


@given(
    month=st.sampled_from(["January", "June", "September", "December"]),
    year=st.integers(1900, 2099),
)
def test_a_year_in_a_date_is_never_flagged(month, year):
    assert literal_numbers(f"from {month} {year} to {month} {year % 100:02d}, the year ending {month} {year}, in {year}") == []


# -- the CLI --------------------------------------------------------------------------------------


@pytest.fixture
def run(database_url, monkeypatch):
    from typer.testing import CliRunner

    from service.cli import cli

    monkeypatch.setenv("POLICING_METRICS_DEFAULT_AREA", "west-midlands")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def test_an_edition_is_written_checked_confirmed_and_approved_from_the_command_line(run, tmp_path):
    run("measures", "define", "homicide", "--title", "Homicides", "--priority", "homicide", "--unit", "count", "--polarity", "lower-is-better")
    run("figures", "record", "homicide", BASELINE, "52")
    run("figures", "record", "homicide", Y2021, "46")
    opened = run("edition", "open", E, "--title", "Statement", "--author", "Harry Barton: Head of Strategy and Direction", "--lead-contact", "Stuart Gardner")
    assert opened.exit_code == 0, opened.output
    (tmp_path / "p4.txt").write_text("averaging five a month. " + P4 + "\n")
    written = run("edition", "paragraph", "write", E, "4", "--section", "force-statement", "--text-file", str(tmp_path / "p4.txt"))
    assert written.exit_code == 0, written.output

    check = run("edition", "check", E)
    assert check.exit_code == 1
    assert "paragraph 4: the number 'five' is typed, not bound to a figure" in check.output
    assert "7 problem(s): edition 2022-02 cannot be approved yet" in check.output
    refused = run("edition", "approve", E)
    assert refused.exit_code == 1 and "cannot be approved, 7 problem(s)" in refused.output

    assert run("edition", "confirm-literal", E, "4", "five", "--reason", "as published").exit_code == 0
    for priority in NATIONAL_PRIORITIES:
        assert run("edition", "applicability", E, priority, "--applicable", "--reason", "applies").exit_code == 0
    assert run("edition", "check", E).exit_code == 0
    approved = run("edition", "approve", E)
    assert approved.exit_code == 0 and "revision 1 approved: frozen at position 12" in approved.output
    again = run("edition", "approve", E)
    assert again.exit_code == 1 and "a reason for approving revision 2" in again.output

    shown = run("edition", "show", E)
    assert "a 12% reduction" in shown.output and "applicable: applies" in shown.output
    as_json = json.loads(run("edition", "show", E, "--placeholders", "--format", "json").output)
    assert as_json["paragraphs"][0]["text"].startswith("averaging five a month. Volumes from January 2021")
    assert as_json["approvals"][0]["revision"] == 1


def test_paragraph_commands_refuse_with_the_rule_that_was_broken(run):
    run("edition", "open", E, "--title", "Statement", "--author", "Harry Barton", "--lead-contact", "Stuart Gardner")
    run("edition", "paragraph", "write", E, "1", "--section", "force-statement", "--text", "Purpose.")
    taken = run("edition", "paragraph", "write", E, "1", "--section", "pcc-statement", "--text", "Other.")
    assert taken.exit_code == 1 and "paragraph numbers run through the whole edition" in taken.output
    mistyped = run("edition", "paragraph", "write", E, "2", "--section", "force-statement", "--text", "{{valeu:homicide}}")
    assert mistyped.exit_code == 1 and "{{valeu:homicide}}: not a placeholder" in mistyped.output
    no_reason = run("edition", "paragraph", "revise", E, "1", "--text", "Purpose, revised.")
    assert no_reason.exit_code == 1 and "reason: expected a reason for revising paragraph 1" in no_reason.output
    assert run("edition", "paragraph", "remove", E, "1", "--reason", "merged").exit_code == 0
    assert run("edition", "paragraph", "write", E, "3").exit_code == 2  # no text at all


def test_an_approval_of_version_one_reads_as_naming_no_content():
    from events.domain import registry

    old = {"edition": E, "revision": 1, "position": 40, "head_hash": "ab" * 32, "reason": ""}
    assert registry.upcast("EditionApproved", 1, old) == {**old, "content": None}
    from events.domain.rules.editions import fold

    opened = {"edition": E, "area": "west-midlands", "title": "t", "authors": [{"name": "a"}], "lead_contact": {"name": "c"},
              "sections": [{"section": "force-statement", "title": "Force statement"}]}  # fmt: skip
    state = fold([("EditionOpened", opened), ("EditionApproved", registry.upcast("EditionApproved", 1, old))], positions=[1, 41])
    approval = state.approvals[0]
    assert (approval.content, approval.event_position, approval.tree_size) == (None, 41, 40)  # proved in the frozen tree, as before
