"""Edition commands: open, amend details, assess applicability, write/revise/remove paragraphs,
confirm literal numbers, check, approve.

Each reads the edition's stream (and the measures and figures its placeholders name), decides
with the rules in `events.domain.rules.editions`, and appends at the version it read. Approval
reads everything as of one log head and records that head: the edition is frozen there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from events import AppendResult, EventStore, Metadata, NewEvent
from events.domain.editions import DEFAULT_SECTIONS, EditionApproved, bindings, edition_stream
from events.domain.errors import UnknownEdition
from events.domain.rules import editions as rules
from events.domain.calendar import fold as fold_release, release_stream
from events.domain.periods import Period
from events.domain.rules.editions import Coverage, Edition, Problem
from events.domain.rules.figures import Figure
from events.domain.rules.measures import Measure

from .loading import load_figures, load_measures


def load_edition(store: EventStore, edition: str, as_of_position: int | None = None) -> tuple[Edition | None, int]:
    events = store.read_stream(edition_stream(edition), as_of_position=as_of_position)
    state = rules.fold(((e.type, e.data) for e in events), (e.recorded_at for e in events), (e.position for e in events))
    return state, (events[-1].version if events else 0)


def _append(store: EventStore, edition: str, event, version: int, metadata: Metadata) -> AppendResult:
    return store.append(edition_stream(edition), [NewEvent.of(event, store.registry)], version, metadata=metadata)


def _decide(store: EventStore, edition: str, metadata: Metadata, decide: Callable[[Edition | None], Any]) -> AppendResult:
    """Fold the edition's stream, let the rule `decide` on it, and append its event at the version read."""
    current, version = load_edition(store, edition)
    return _append(store, edition, decide(current), version, metadata)


def _measures_in(store: EventStore, *texts: str | None, as_of_position: int | None = None) -> dict[str, Measure | None]:
    names = [b.measure for text in texts if text for b in bindings(text)]
    return {name: state for name, (state, _) in load_measures(store, names, as_of_position).items()}


def open_edition(
    store: EventStore,
    edition: str,
    *,
    area: str,
    title: str,
    authors: list[Mapping[str, str]],
    lead_contact: Mapping[str, str],
    metadata: Metadata,
    sections: list[tuple[str, str]] | None = None,
) -> AppendResult:
    return _decide(
        store,
        edition,
        metadata,
        lambda current: rules.open_edition(
            current,
            edition=edition,
            area=area,
            title=title,
            authors=authors,
            lead_contact=lead_contact,
            sections=list(sections or DEFAULT_SECTIONS),
        ),
    )


def amend_edition(store: EventStore, edition: str, *, reason: str | None, metadata: Metadata, **changes: Any) -> AppendResult:
    return _decide(store, edition, metadata, lambda current: rules.amend_details(current, edition=edition, reason=reason, **changes))


def choose_style(
    store: EventStore, edition: str, *, percent_places: int, separators: bool, reason: str | None, metadata: Metadata
) -> AppendResult:
    return _decide(
        store,
        edition,
        metadata,
        lambda current: rules.choose_style(
            current, edition=edition, percent_places=percent_places, separators=separators, reason=reason
        ),
    )


def assess_priority(
    store: EventStore, edition: str, priority: str, applicable: bool, reason: str | None, metadata: Metadata
) -> AppendResult:
    return _decide(
        store,
        edition,
        metadata,
        lambda current: rules.assess_priority(current, edition=edition, priority=priority, applicable=applicable, reason=reason),
    )


def write_paragraph(
    store: EventStore,
    edition: str,
    number: int,
    *,
    section: str,
    text: str,
    metadata: Metadata,
    heading: str = "",
    priority: str | None = None,
    footnotes: list[str] | tuple[str, ...] = (),
) -> AppendResult:
    current, version = load_edition(store, edition)
    event = rules.write_paragraph(
        current,
        _measures_in(store, text, heading),
        edition=edition,
        number=number,
        section=section,
        text=text,
        heading=heading,
        priority=priority,
        footnotes=footnotes,
    )
    return _append(store, edition, event, version, metadata)


def revise_paragraph(
    store: EventStore,
    edition: str,
    number: int,
    *,
    text: str,
    reason: str | None,
    metadata: Metadata,
    heading: str | None = None,
    footnotes: list[str] | None = None,
) -> AppendResult:
    current, version = load_edition(store, edition)
    paragraph = current.paragraphs.get(number) if current else None
    measures = _measures_in(store, text, heading if heading is not None else (paragraph.heading if paragraph else ""))
    event = rules.revise_paragraph(
        current, measures, edition=edition, number=number, text=text, reason=reason, heading=heading, footnotes=footnotes
    )
    return _append(store, edition, event, version, metadata)


def remove_paragraph(store: EventStore, edition: str, number: int, reason: str | None, metadata: Metadata) -> AppendResult:
    return _decide(store, edition, metadata, lambda current: rules.remove_paragraph(current, edition=edition, number=number, reason=reason))


def confirm_literal(
    store: EventStore, edition: str, number: int, literal: str, reason: str | None, metadata: Metadata
) -> AppendResult:
    return _decide(
        store,
        edition,
        metadata,
        lambda current: rules.confirm_literal(current, edition=edition, number=number, literal=literal, reason=reason),
    )


@dataclass(frozen=True)
class EditionView:
    """An edition as the log stood at `position`, with what its placeholders read."""

    state: Edition
    version: int
    position: int
    measures: dict[str, Measure | None]
    figures: dict[tuple[str, str, str], Figure | None]
    coverage: Coverage

    def problems(self) -> list[Problem]:
        return rules.check(self.state, self.measures, self.figures) + rules.coverage_problems(self.state, self.measures, self.coverage)

    def rendered(self, text: str) -> str:
        return rules.render(text, self.state.area, self.measures, self.figures, self.state.style)


def view_edition(store: EventStore, edition: str, as_of_position: int | None = None) -> EditionView:
    """The edition, measures and figures read as of one position (the head when None)."""
    position = store.head().position if as_of_position is None else as_of_position
    state, version = load_edition(store, edition, position)
    if state is None:
        raise UnknownEdition(edition)
    measures = {
        name: measure
        for name, (measure, _) in load_measures(store, [b.measure for _, b in state.bindings()], position).items()
    }
    needed = rules.figures_needed(state, measures)
    figures = {key: figure for key, (figure, _) in load_figures(store, needed, position).items()}
    return EditionView(state, version, position, measures, figures, coverage_at(store, state, position))


def coverage_at(store: EventStore, state: Edition, position: int) -> Coverage:
    """What the edition covers as the log stood at `position`, against every other edition and release there."""
    releases = store.read_prefix("release-", as_of_position=position)
    editions_then = {
        stream.removeprefix("edition-"): events for stream, events in store.read_prefix("edition-", as_of_position=position).items()
    }
    others, own_release_at, released = [], None, []
    for name, events in editions_then.items():
        calendar = releases.get(release_stream(name), [])
        release = fold_release(calendar)
        released.extend((name, e.data["revision"]) for e in calendar if e.type == "EditionReleased")
        if name == state.edition:
            own_release_at = release.release_at if release is not None and release.open else None
            continue
        other = rules.fold((e.type, e.data) for e in events)
        if other is not None:
            others.append(
                rules.OtherRelease(
                    name, other.area, rules.data_cutoff(other),
                    release.status if release else None, release.release_at if release else None, rules.quoted(other),
                )
            )  # fmt: skip
    return rules.coverage(
        state, others, own_release_at,
        published=published_figures(store, editions_then, released),
        correction=any(name == state.edition for name, _ in released),
    )  # fmt: skip


def published_figures(store: EventStore, editions_then: Mapping[str, list], released: list[tuple[str, int]]) -> set[tuple[str, str, str]]:
    """The figures released revisions published: each one's area's figures recorded (and not
    withdrawn) at its frozen position that its coverage there showed, and the figures it quotes."""
    if not released:
        return set()
    figure_events = store.read_prefix("figure-")
    found: set[tuple[str, str, str]] = set()
    for name, revision in released:
        state = rules.fold((e.type, e.data) for e in editions_then[name])
        if state is None or revision > len(state.approvals):
            continue
        frozen = state.approvals[revision - 1].position
        then = rules.fold((e.type, e.data) for e in editions_then[name] if e.position <= frozen)
        cutoff = rules.data_cutoff(then) if then is not None else None
        if cutoff is None:
            continue
        found |= rules.quoted(then)
        covered = coverage_at(store, then, frozen)  # what was held from it then was not published by it
        for stream, events in figure_events.items():
            measure, area, period = stream.removeprefix("figure-").split("/", 2)
            if area != state.area:
                continue
            before = [e for e in events if e.position <= frozen]
            if before and before[-1].type != "FigureWithdrawn" and covered.shows(measure, area, period):
                found.add((measure, area, period))
    return found


def check_edition(store: EventStore, edition: str) -> tuple[Edition, list[Problem]]:
    view = view_edition(store, edition)
    return view.state, view.problems()


def approve_edition(
    store: EventStore, edition: str, metadata: Metadata, reason: str | None = None, *, projections=None
) -> tuple[AppendResult, EditionApproved]:
    """Check the edition as of the current head and, if nothing stands in the way, freeze it there.

    The approval names what the revision publishes there (every figure and paragraph, each with the
    position and hash of its source event), folded by the same function its edition is rendered with
    (editions_published.approved_content): a published edition's proof opens that, not the events.
    The edition stream is appended at the version it had at that head, so an edit that lands
    between the check and the approval makes the approval conflict rather than freeze unchecked text.
    """
    from .editions_published import approved_content  # it renders from this module's views

    head = store.head()
    view = view_edition(store, edition, head.position)
    problems = view.problems()
    content = approved_content(store, edition, head.position, projections) if not problems else None
    event = rules.approve(
        view.state, problems, edition=edition, position=head.position, head_hash=head.hash, reason=reason, content=content
    )
    return _append(store, edition, event, view.version, metadata), event
