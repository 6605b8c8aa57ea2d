"""A draft never released is in no published byte, proofs included (issues 11 and 17; docs/proofs.md).

Given a figure recorded as 31337 and revised to 46 before any release, and an edition quoting it approved
and published, when anyone reads every file of the site, then none holds the draft value, the draft's
note, the revision's reason or who recorded them; and `proof check` still proves every figure and
paragraph, from the approval, which names what the revision publishes. A revision approved before
approvals named their content (EditionApproved version 1) keeps the first evidence format and checks.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from events import EventStore, Metadata, NewEvent
from events.domain.editions import edition_stream
from events.notes import SigningKey
from events.types import EventRegistry, EventType
from publishers.proofcheck import check, event_hash_of
from publishers.stores import LocalDirectory
from service.cli import cli
from service.handlers import editions, figures
from service.handlers.publishing import Publishing

from .given import ANALYST, AREA, BASELINE, Y2021, a_figure, a_measure, an_edition
from .publish_support import rewrite_edition

E = "2022-02"
KEY = SigningKey.generate("statements.example.org/west-midlands")
DRAFTER = Metadata(actor="drafter.who.must.stay.private@wmp", source="test")
APPROVER = Metadata(actor="approver@wmp", source="test")
DRAFT, DRAFT_NOTE = "31337", "provisional count from the draft crime system"
REASON, FINAL_NOTE = "the draft double-counted a batch of reports", "Final count"
PRIVATE = (DRAFT, DRAFT_NOTE, REASON, DRAFTER.actor)
TEXT = "Homicides from January to December 2021: {{value:homicide:2021-01/2021-12}}, against {{baseline:homicide}} at the baseline."


def approve_in_version_one(store: EventStore, edition: str, metadata: Metadata) -> None:
    """Approve as the software did before approvals named their content: EditionApproved version 1, no `content`."""
    old = EventRegistry()
    for event_type in store.registry:
        old.declare(EventType("EditionApproved", 1, event_type.model) if event_type.name == "EditionApproved" else event_type)
    head = store.head()
    view = editions.view_edition(store, edition, head.position)
    data = {"edition": edition, "revision": len(view.state.approvals) + 1, "position": head.position, "head_hash": head.hash, "reason": ""}
    EventStore(store.engine, old, clock=store.clock).append(
        edition_stream(edition), [NewEvent("EditionApproved", data)], view.version, metadata=metadata
    )


def drafted_then_revised(store: EventStore) -> None:
    a_measure(store, "homicide")
    a_figure(store, "homicide", BASELINE, "52")
    figures.record_figure(store, "homicide", AREA, Y2021, DRAFT, DRAFTER, note=DRAFT_NOTE)
    figures.revise_figure(store, "homicide", AREA, Y2021, "46", "revision", REASON, DRAFTER, note=FINAL_NOTE)
    an_edition(store, E)
    editions.write_paragraph(store, E, 1, section="force-statement", text=TEXT, metadata=ANALYST)


def publish(store: EventStore, clock, site: LocalDirectory) -> None:
    publishing = Publishing(store, site_url="https://statements.example.org/", software_version="test", clock=clock, signing_key=KEY)
    publishing.publish(E, to=site, now=True, override_reason="a test publishes at once", actor="publisher")


def published(site: LocalDirectory) -> dict[str, bytes]:
    return {key: site.get(key) for key in site.list()}


def leaks(site: LocalDirectory) -> list[tuple[str, str]]:
    return [(key, word) for key, body in published(site).items() for word in PRIVATE if word.encode() in body]


def homicide(document: dict) -> dict:
    return next(f for f in document["figures"] if f["period"] == Y2021)


def proof_check(site: LocalDirectory, tmp_path):
    (tmp_path / "key.pub").write_text(f"{KEY.verifier()}\n")
    return CliRunner().invoke(cli, ["proof", "check", str(site.root), "--key", str(tmp_path / "key.pub")], catch_exceptions=False)


@pytest.fixture
def site(tmp_path) -> LocalDirectory:
    return LocalDirectory(tmp_path / "site")


def test_a_value_replaced_before_release_its_note_reason_and_recorder_are_in_no_published_byte(store, clock, site, tmp_path):
    drafted_then_revised(store)
    editions.approve_edition(store, E, APPROVER)
    publish(store, clock, site)

    document = json.loads(site.get(f"editions/{E}/r1/edition.json"))
    assert (homicide(document)["value"], homicide(document)["note"]) == ("46", FINAL_NOTE)
    assert document["proof_format"] == 2 and document["approval"]["metadata"]["actor"] == APPROVER.actor
    assert len(published(site)) > 10 and leaks(site) == []
    result = proof_check(site, tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 edition(s), 3 figure(s) and paragraph(s) proved" in result.output  # the figure, its baseline, the paragraph


def test_tampering_the_value_or_the_approval_fails_naming_it(store, clock, site, tmp_path):
    drafted_then_revised(store)
    editions.approve_edition(store, E, APPROVER)
    publish(store, clock, site)
    approval = json.loads(site.get(f"editions/{E}/r1/edition.json"))["approval"]

    rewrite_edition(site, 1, lambda d: homicide(d).update(value="45"))
    result = proof_check(site, tmp_path)
    assert result.exit_code == 1
    assert (
        f"tampered figure homicide {AREA} {Y2021}: edition.json says value '45', but its approval (position {approval['position']}) says '46'"
    ) in result.output

    def forged_approval(document):  # the figure and the approval both say 45, and the approval is re-hashed
        homicide(document).update(value="45")
        named = next(f for f in document["approval"]["data"]["content"]["figures"] if f["period"] == Y2021)
        named["value"] = "45"
        document["approval"]["hash"] = event_hash_of(document["approval"])

    rewrite_edition(site, 1, forged_approval)
    result = proof_check(site, tmp_path)
    assert result.exit_code == 1
    assert f"tampered edition {E} revision 1: approval: its event at position {approval['position']} is not" in result.output

    rewrite_edition(site, 1, lambda d: d["approval"]["metadata"].update(actor="someone else"))
    assert check(site, [KEY.verifier()]).exit_code == 1


def test_an_edition_approved_before_approvals_named_their_content_keeps_its_evidence_and_checks(store, clock, site, tmp_path):
    drafted_then_revised(store)
    approve_in_version_one(store, E, APPROVER)
    publish(store, clock, site)

    document = json.loads(site.get(f"editions/{E}/r1/edition.json"))
    assert "proof_format" not in document and "approval" not in document
    events = homicide(document)["proof"]["events"]
    assert [e["data"]["value"] for e in events] == [DRAFT, "46"] and leaks(site)  # the first format's limit, which format 2 removes
    assert document["checkpoint"]["size"] == document["frozen_at"]["position"]
    result = proof_check(site, tmp_path)
    assert result.exit_code == 0, result.output

    # A correction approved now names its content: the site holds both formats, and both check.
    clock.advance(days=1)
    figures.revise_figure(store, "homicide", AREA, Y2021, "47", "correction", "a late report", ANALYST)
    editions.approve_edition(store, E, APPROVER, reason="late homicide data")
    publish(store, clock, site)
    second = json.loads(site.get(f"editions/{E}/r2/edition.json"))
    assert second["proof_format"] == 2 and homicide(second)["value"] == "47"
    result = proof_check(site, tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 checkpoint(s), 1 consistency proof(s), 2 edition(s)" in result.output


def append_wrong_approval(store: EventStore):
    """Approve revision 2 as any approval is appended, but naming 45 for the homicide figure the log holds as 46;
    returns the head it is frozen at."""
    from events.domain.rules import editions as rules
    from service.handlers.editions_published import approved_content

    head = store.head()
    view = editions.view_edition(store, E, head.position)
    content = approved_content(store, E, head.position)
    next(f for f in content["figures"] if f["period"] == Y2021)["value"] = "45"
    wrong = rules.approve(view.state, [], edition=E, position=head.position, head_hash=head.hash, reason="wrong", content=content)
    store.append(edition_stream(E), [NewEvent.of(wrong, store.registry)], view.version, metadata=APPROVER)
    return head


def test_verify_with_the_database_catches_an_approval_that_names_a_value_the_log_did_not_hold(store, clock, site, database_url, monkeypatch):
    """The chain is intact: the approval was appended as any event is; only what it names is false."""
    from service.handlers.editions_published import ApprovalDisagrees

    drafted_then_revised(store)
    monkeypatch.setenv("POLICING_METRICS_DATABASE_URL", database_url)
    editions.approve_edition(store, E, APPROVER)
    verified = CliRunner().invoke(cli, ["verify"], catch_exceptions=False)
    assert verified.exit_code == 0 and "1 approval(s) name what the log held at their frozen positions" in verified.output, verified.output

    clock.advance(days=1)
    head = append_wrong_approval(store)

    verified = CliRunner().invoke(cli, ["verify"], catch_exceptions=False)
    assert verified.exit_code == 1
    assert (
        f"approval disagrees with the log: edition {E} revision 2: its approval (position {head.position + 1}) is not what the log "
        f"held at its frozen position {head.position}: figure homicide {AREA} {Y2021}: it says value '45', the log '46'"
    ) in verified.output
    with pytest.raises(ApprovalDisagrees, match="it says value '45', the log '46'; it cannot be published"):
        publish(store, clock, site)
    assert not site.root.exists() or not list(site.root.rglob("edition.json"))
