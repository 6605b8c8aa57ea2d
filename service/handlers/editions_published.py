"""What a published edition shows, gathered from the log as it stood at a revision's frozen position.

The edition, its measures and the figures its placeholders bind come from the edition handlers'
view; the scorecard and each measure's trend from the scorecard projection as of that position;
notices from the history projection's diff against the previous released revision. The result
is a plain `publishers.model.EditionDocument`: rendering it needs nothing else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

from events import EventStore
from events.domain.periods import Period
from events.domain.rules import editions as rules
from events.domain.rules.editions import Approval, Edition
from events.domain.comparisons import BASELINE, COMPARISONS, SEED_STYLE, comparison, in_points
from events.domain.rules.releases import ReleasedRevision
from events.projections import Projections, line_change
from events.projections.history import Diff, FigureChange, FigureDiff
from publishers import model
from publishers.publish import PublishError
from publishers.times import period_label, signed, value_text

from . import evidence
from .editions import coverage_at, load_edition, view_edition
from .organisations import edition_organisation
from .loading import load_figures, load_measures

def caught_up(projections: Projections) -> Projections:
    projections.catch_up()  # one at a time through one Projections (the scheduler publishes from several threads)
    return projections


@dataclass(frozen=True)
class RevisionTimes:
    """When a revision goes out, and what came before it: all from events, fixed before anything is written."""

    release_at: str
    first_release_at: str
    earlier: tuple[ReleasedRevision, ...]  # released revisions before this one, oldest first


def approval_of(state: Edition, revision: int) -> Approval:
    return state.approvals[revision - 1]


def previous_versions(state: Edition, times: RevisionTimes, revision: int) -> tuple[model.PreviousVersion, ...]:
    versions = []
    later = [*times.earlier[1:], None]
    for version, after in zip(times.earlier, later):
        superseded_by = after.revision if after else revision
        superseded_at = after.release_at if after else times.release_at
        versions.append(
            model.PreviousVersion(
                revision=version.revision,
                released_at=version.release_at,
                superseded_at=superseded_at,
                superseded_by=superseded_by,
                reason=approval_of(state, superseded_by).reason,
            )
        )
    return tuple(versions)


@dataclass(frozen=True)
class Frozen:
    """What an edition shows as the log stood at one position: the one fold both its approval's content and
    its rendering come from, so the two cannot disagree."""

    view: object  # editions.EditionView
    paragraphs: list[model.EditionParagraph]
    scorecard: list[model.EditionLine]
    figures: list[model.Figure]  # the figures list: what edition.json publishes of each
    measures: dict
    folded: dict  # every figure read (shown ones and their baselines), as folded
    covered: object  # Coverage.shows


def frozen_at(store: EventStore, edition: str, position: int, projections: Projections) -> Frozen:
    """The edition as the log stood at `position` (projections caught up to at least there)."""
    view = view_edition(store, edition, position)
    paragraphs = [_paragraph(paragraph, view) for paragraph in view.state.in_order()]
    # The scorecard, the trends and the figures list show what the edition covers, nothing else (see Coverage).
    covered = view.coverage.shows
    lines = projections.scorecard_lines(at=position, area=view.state.area, covered=covered)
    figure_keys, measures, figures = _figures_shown(store, view, lines, position)
    scorecard = [_scorecard_line(line, projections, measures, figures, position, covered) for line in lines]
    return Frozen(view, paragraphs, scorecard, _published_figures(figure_keys, measures, figures), measures, figures, covered)


def approved_content(store: EventStore, edition: str, position: int, projections: Projections | None = None) -> dict:
    """What the revision approved at `position` publishes, as EditionApproved's `content` (its data): every
    figure and paragraph with the fields edition.json shows and proof check compares, and the position and
    hash of the event that gave it them."""
    return content_of(store, edition, position, frozen_at(store, edition, position, caught_up(projections or Projections(store))))


def content_of(store: EventStore, edition: str, position: int, frozen: Frozen) -> dict:
    figures, paragraphs = evidence.sources(
        store, position, [(f.measure, f.area, f.period) for f in frozen.figures], [p.number for p in frozen.paragraphs], edition
    )
    return {
        "figures": [
            {"measure": f.measure, "area": f.area, "period": f.period, "value": f.value, "note": f.note, "source": f.source,
             "position": figures[key].position, "hash": figures[key].hash}
            for f in frozen.figures if (key := (f.measure, f.area, f.period)) in figures
        ],
        "paragraphs": [
            {"number": p.number, "section": p.section, "text": p.template, "heading": p.heading_template, "priority": p.priority,
             "footnotes": list(p.footnotes), "position": paragraphs[p.number].position, "hash": paragraphs[p.number].hash}
            for p in frozen.paragraphs if p.number in paragraphs
        ],
    }  # fmt: skip


def held_since_approval(store: EventStore, edition: str, revision: int) -> list[str]:
    """The figures the approved revision publishes that a release put on the calendar since its approval
    publishes first (another force's statement announced for later, whose figure this one quotes), each
    with that release: releasing the revision now would publish them before their own release."""
    state, _ = load_edition(store, edition)
    approval = approval_of(state, revision)
    content = approval.content if approval.content is not None else approved_content(store, edition, approval.position)
    now = coverage_at(store, state, store.head().position)
    return [
        f"{f['measure']} {f['area']} {f['period']} (edition {held}'s release publishes it first)"
        for f in content["figures"]
        if (held := now.held_for(f["measure"], f["area"], f["period"])) is not None
    ]


class ApprovalDisagrees(PublishError):
    """An approval's content is not what the log gives at its frozen position: it cannot be published."""


def content_difference(named: dict, found: dict) -> str | None:
    """The first figure or paragraph where an approval's content (`named`) differs from the log's (`found`)."""
    for kind, key in (("figures", ("measure", "area", "period")), ("paragraphs", ("number",))):
        said = {tuple(item[k] for k in key): item for item in named.get(kind, [])}
        there = {tuple(item[k] for k in key): item for item in found.get(kind, [])}
        for item_key in list(dict.fromkeys([*there, *said])):
            label = f"{kind[:-1]} {' '.join(map(str, item_key))}"
            if item_key not in said:
                return f"it leaves out {label}, which the log holds there"
            if item_key not in there:
                return f"it names {label}, which the log does not show there"
            for field_name, value in there[item_key].items():
                if said[item_key].get(field_name) != value:
                    return f"{label}: it says {field_name} {said[item_key].get(field_name)!r}, the log {value!r}"
        if [tuple(i[k] for k in key) for i in named.get(kind, [])] != [tuple(i[k] for k in key) for i in found.get(kind, [])]:
            return f"its {kind} are not in the order the edition shows them"
    return None if named == found else "it differs from the log's"


def approval_disagreements(store: EventStore, projections: Projections | None = None) -> tuple[int, list[str]]:
    """(how many approvals name their content, a sentence for each whose content is not the fold of the log at
    its frozen position): what `policing-metrics verify` adds to the chain, so a wrong approval is caught."""
    projections = caught_up(projections or Projections(store))
    checked, problems = 0, []
    for stream, events in sorted(store.read_prefix("edition-").items()):
        edition = stream.removeprefix("edition-")
        state = rules.fold(((e.type, e.data) for e in events), (e.recorded_at for e in events), (e.position for e in events))
        for approval in state.approvals if state is not None else []:
            if approval.content is None:
                continue
            checked += 1
            difference = content_difference(approval.content, approved_content(store, edition, approval.position, projections))
            if difference is not None:
                problems.append(
                    f"edition {edition} revision {approval.revision}: its approval (position {approval.event_position}) is not what "
                    f"the log held at its frozen position {approval.position}: {difference}"
                )
    return checked, problems


def edition_document(
    store: EventStore,
    edition: str,
    revision: int,
    times: RevisionTimes,
    *,
    software_version: str,
    projections: Projections | None = None,
) -> model.EditionDocument:
    projections = caught_up(projections or Projections(store))
    current, _ = load_edition(store, edition)
    if current is None or not 1 <= revision <= len(current.approvals):
        raise ValueError(f"edition {edition!r} has no approved revision {revision}")
    approval = approval_of(current, revision)
    position = approval.position
    frozen = frozen_at(store, edition, position, projections)
    state, covered, measures, figures = frozen.view.state, frozen.covered, frozen.measures, frozen.folded
    area = state.area
    paragraphs, scorecard, published_figures = frozen.paragraphs, frozen.scorecard, frozen.figures

    # What lets a reader check each figure and paragraph against the edition's checkpoint (docs/proofs.md).
    keys = [(f.measure, f.area, f.period) for f in published_figures]
    numbers = [p.number for p in paragraphs]
    approved = None
    if approval.content is not None:
        difference = content_difference(approval.content, content_of(store, edition, position, frozen))
        if difference is not None:
            raise ApprovalDisagrees(
                f"edition {edition} revision {revision}: its approval (position {approval.event_position}) is not what the "
                f"log held at its frozen position {position}: {difference}; it cannot be published"
            )
        figure_evidence, paragraph_evidence, approved, root = evidence.gather_approved(
            store, approval.tree_size, approval.content, approval.event_position
        )
    else:
        figure_evidence, paragraph_evidence, root = evidence.gather(store, position, keys, numbers, edition)
    published_figures = [
        dataclasses.replace(f, evidence=figure_evidence.get((f.measure, f.area, f.period))) for f in published_figures
    ]
    paragraphs = [dataclasses.replace(p, evidence=paragraph_evidence.get(p.number)) for p in paragraphs]

    notices: tuple[model.Notice, ...] = ()
    if times.earlier:
        shown = {(f.measure, f.area, f.period) for f in published_figures} | {
            (line.measure, line.area, period) for line in scorecard for period, _ in line.series
        }
        quoted = _quoted_in(paragraphs)
        diff = projections.diff(_frozen(current, times.earlier[-1].revision), position)
        # A covered figure withdrawn since is news too, though this revision no longer shows it.
        shown |= {(d.measure, d.area, d.period) for d in diff.figures if d.new_value is None and covered(d.measure, d.area, d.period)}
        notices = tuple(figure_notices(diff, shown, quoted, measures, figures) + paragraph_notices(diff, edition))

    return model.EditionDocument(
        organisation=edition_organisation(store, edition),
        edition=edition,
        revision=revision,
        area=area,
        title=state.title,
        authors=tuple(model.Person(a["name"], a.get("job_title", "")) for a in state.authors),
        lead_contact=model.Contact(
            state.lead_contact["name"], state.lead_contact.get("email", ""), state.lead_contact.get("phone", "")
        ),
        sections=tuple(model.Section(slug, title) for slug, title in state.sections.items()),
        applicability=tuple(
            model.Applicability(priority, applicable, reason)
            for priority, (applicable, reason) in sorted(state.applicability.items(), key=lambda item: _priority_order(item[0]))
        ),
        paragraphs=tuple(paragraphs),
        scorecard=tuple(scorecard),
        figures=tuple(published_figures),
        frozen_position=position,
        head_hash=approval.head_hash,
        approved_at=approval.recorded_at,
        reason=approval.reason,
        release_at=times.release_at,
        first_release_at=times.first_release_at,
        notices=notices,
        previous_versions=previous_versions(current, times, revision),
        software_version=software_version,
        number_style=state.style,
        checkpoint=model.CheckpointRef(approval.tree_size, root),
        approval=approved,
    )


def _paragraph(paragraph, view) -> model.EditionParagraph:
    """One paragraph as published: rendered, with its template and every value its placeholders bind."""
    return model.EditionParagraph(
        number=paragraph.number,
        section=paragraph.section,
        heading=view.rendered(paragraph.heading) if paragraph.heading else "",
        text=view.rendered(paragraph.text),
        template=paragraph.text,
        heading_template=paragraph.heading,
        priority=paragraph.priority,
        footnotes=tuple(paragraph.footnotes),
        bound=tuple(dict.fromkeys(_bound_values(paragraph, view))),
    )


def _bound_values(paragraph, view) -> list[model.BoundValue]:
    """What each placeholder of a paragraph (heading and text) reads, and the text it shows."""
    state, area = view.state, view.state.area
    bound = []
    for binding in rules.bindings(f"{paragraph.heading}\n{paragraph.text}"):
        resolved = rules.resolve(binding, area, view.measures, view.figures, state.style)
        measure = view.measures.get(binding.measure)
        period = binding.period
        if binding.kind == "baseline" and measure is not None:
            period = measure.for_area(binding.area or area).baseline_period
        bound.append(
            model.BoundValue(
                placeholder=binding.text,
                kind=binding.kind,
                measure=binding.measure,
                area=binding.area or area,
                period=period,
                text=resolved.text if resolved.text is not None else binding.text,
            )
        )
    return bound


def _figures_shown(store: EventStore, view, lines, position: int) -> tuple[set[tuple], dict, dict]:
    """(the keys of the figures the edition shows: those its paragraphs bind and its scorecard's
    latest and baseline; their measures as of `position`; those figures and their baselines,
    withdrawn ones left out)."""
    figure_keys = {key for key, figure in view.figures.items() if figure is not None and not figure.withdrawn}
    for line in lines:
        if line.period:
            figure_keys.add((line.measure, line.area, line.period))
        if line.baseline_value is not None:
            figure_keys.add((line.measure, line.area, line.baseline_period))
    measure_names = sorted({key[0] for key in figure_keys} | {line.measure for line in lines})
    measures = {name: measure for name, (measure, _) in load_measures(store, measure_names, position).items()}
    baseline_keys = {
        (m, a, measures[m].for_area(a).baseline_period) for m, a, _ in figure_keys if measures.get(m) is not None
    }
    figures = {
        key: figure
        for key, (figure, _) in load_figures(store, sorted(figure_keys | baseline_keys), position).items()
        if figure is not None and not figure.withdrawn
    }
    return figure_keys, measures, figures


def _scorecard_line(line, projections: Projections, measures: dict, figures: dict, position: int, covered) -> model.EditionLine:
    """A scorecard line as published: with its trend, source, definition and comparisons."""
    series = tuple(projections.series(line.measure, line.area, at=position, covered=covered))
    measure = measures.get(line.measure)
    measure = measure.for_area(line.area) if measure else None
    latest = figures.get((line.measure, line.area, line.period)) if line.period else None
    return model.EditionLine(
        measure=line.measure,
        title=line.title,
        priority=line.priority,
        area=line.area,
        unit=line.unit,
        polarity=line.polarity,
        period=line.period,
        value=line.value,
        baseline_period=line.baseline_period,
        baseline_value=line.baseline_value,
        change=line.change,
        change_percent=line.change_percent,
        direction=line.direction,
        assessment=line.assessment,
        source=(latest.source if latest else "") or (measure.source if measure else ""),
        definition=measure.definition if measure else "",
        series=series,
        comparisons=compared_with(line, series),
    )


def _published_figures(figure_keys: set[tuple], measures: dict, figures: dict) -> list[model.Figure]:
    """The figures list: each shown figure against its area's baseline, by measure, area and period."""
    published = []
    for key in sorted(figure_keys, key=lambda k: (k[0], k[1], Period.parse(k[2]))):
        figure, measure = figures.get(key), measures.get(key[0])
        if figure is None or measure is None:
            continue
        measure = measure.for_area(key[1])  # the area's own baseline, priority and source
        comparison = _comparison(figure.value, figures.get((key[0], key[1], measure.baseline_period)), key[2], measure)
        published.append(
            model.Figure(
                measure=figure.measure,
                title=measure.title,
                priority=measure.priority,
                area=figure.area,
                period=figure.period,
                value=figure.value,
                unit=measure.unit,
                polarity=measure.polarity,
                baseline_period=measure.baseline_period,
                baseline_value=comparison[0],
                change=comparison[1],
                change_percent=comparison[2],
                direction=comparison[3],
                assessment=comparison[4],
                source=figure.source or measure.source,
                note=figure.note,
            )
        )
    return published


def compared_with(line, series: tuple[tuple[str, str], ...]) -> tuple[model.ComparedWith, ...]:
    """The line's latest figure against the previous period and the same period a year earlier,
    where the trend holds those figures. A year earlier than 12 months is the previous 12 months:
    shown once, as the previous period."""
    if line.period is None or line.value is None:
        return ()
    values = dict(series)
    found, periods = [], set()
    for name in COMPARISONS:
        if name == BASELINE:
            continue
        against = comparison(name, line.period, line.baseline_period)
        if against is None or against.period in periods or against.period not in values:
            continue
        periods.add(against.period)
        result = line_change(line.value, values[against.period], line.polarity, line.unit)
        found.append(
            model.ComparedWith(
                name, against.label, against.period, values[against.period], result.change,
                result.change_percent, result.direction, result.assessment,
            )
        )  # fmt: skip
    return tuple(found)


def changes_since_release(
    store: EventStore, edition: str, revision: int, released: tuple[ReleasedRevision, ...], *, projections: Projections | None = None
) -> tuple[model.Notice, ...]:
    """What publishing `revision` would change in the published numbers and text against the last
    released revision (`released`, oldest first): exactly the notices its publication will carry."""
    if not released:
        return ()
    times = RevisionTimes(released[-1].release_at, released[0].release_at, released)
    return edition_document(store, edition, revision, times, software_version="", projections=projections).notices


@dataclass(frozen=True)
class ApprovalChanges:
    """What an approved revision changes in the published edition: against the last revision released
    before it (None if none was), the notices its publication will carry. The CLI's `edition approve`
    prints it, POST /editions/{edition}/approvals answers it."""

    revision: int
    against_revision: int | None
    notices: tuple[model.Notice, ...]

    def lines(self) -> list[str]:
        if self.against_revision is None:
            return []
        return [
            f"against released revision {self.against_revision}, publishing it changes {len(self.notices) or 'nothing'}:",
            *(f"  {notice.subject}: {notice.what} ({notice.kind}: {notice.reason})" for notice in self.notices),
        ]

    def as_json(self) -> dict:
        return {
            "revision": self.revision,
            "against_revision": self.against_revision,
            "notices": [
                {"kind": n.kind, "subject": n.subject, "what": n.what, "reason": n.reason, "scale": n.scale, "impact": n.impact}
                for n in self.notices
            ],
        }


def approval_changes(
    store: EventStore, edition: str, revision: int, released: Iterable[ReleasedRevision], *, projections: Projections | None = None
) -> ApprovalChanges:
    """The changes approving `revision` makes against the revisions released before it (`released`: the
    edition's released revisions, oldest first; any from `revision` on are not its past)."""
    before = tuple(r for r in released if r.revision < revision)
    notices = changes_since_release(store, edition, revision, before, projections=projections)
    return ApprovalChanges(revision, before[-1].revision if before else None, notices)


def _frozen(state: Edition, revision: int) -> int:
    return approval_of(state, revision).position


def _priority_order(priority: str) -> int:
    order = list(model.PRIORITY_TITLES)
    return order.index(priority) if priority in order else len(order)


def _comparison(value: str, baseline, period: str, measure) -> tuple:
    """(baseline_value, change, change_percent, direction, assessment), or Nones when no like-for-like baseline."""
    if baseline is None or period == measure.baseline_period:
        return (None, None, None, None, None)  # no baseline, or the figure is the baseline itself
    if not Period.parse(period).same_length(Period.parse(measure.baseline_period)):
        return (baseline.value, None, None, None, None)  # a quarter against a year: no like-for-like change
    result = line_change(value, baseline.value, measure.polarity, measure.unit)
    return (baseline.value, result.change, result.change_percent, result.direction, result.assessment)


def _quoted_in(paragraphs: list[model.EditionParagraph]) -> dict[tuple[str, str, str | None], list[int]]:
    quoted: dict[tuple[str, str, str | None], list[int]] = {}
    for paragraph in paragraphs:
        for bound in paragraph.bound:
            numbers = quoted.setdefault((bound.measure, bound.area, bound.period), [])
            if paragraph.number not in numbers:
                numbers.append(paragraph.number)
    return quoted


def _paragraph_list(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"paragraph {numbers[0]}"
    return "paragraphs " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"


def figure_notices(diff: Diff, shown, quoted, measures, figures) -> list[model.Notice]:
    """One notice per recorded change to a figure the edition shows (`shown`: (measure, area, period)):
    what, why, how big, what it does."""
    notices = []
    for figure_diff in diff.figures:
        key = (figure_diff.measure, figure_diff.area, figure_diff.period)
        if key not in shown:
            continue  # a figure this revision does not publish: not its news
        measure = measures.get(key[0])
        if measure is None:
            continue
        subject = f"{measure.title}, {period_label(key[2])}"
        change = _net_change(figure_diff)
        if change is not None:
            old, new = change.previous_value, change.value
            if change.kind == "withdrawn":
                what = f"{value_text(old, measure.unit)} was withdrawn"
                scale = ""
            elif old is None:
                what = f"recorded as {value_text(new, measure.unit)}"
                scale = ""
            else:
                what = f"{value_text(old, measure.unit)} became {value_text(new, measure.unit)}"
                difference = Decimal(new) - Decimal(old)
                scale = signed(str(difference), measure.unit)
                if Decimal(old) != 0:
                    scale += f" ({_relative(difference, Decimal(old))} of the previous figure)"
            notices.append(
                model.Notice(
                    kind=change.kind,
                    subject=subject,
                    reason=change.reason or "newly recorded",  # a note describes the figure; it is no reason
                    what=what,
                    scale=scale,
                    impact=_impact(figure_diff, measure, figures, diff, quoted),
                    recorded_at=change.recorded_at,
                )
            )
    return notices


def _net_change(figure_diff: FigureDiff) -> FigureChange | None:
    """A figure's changes since the last release as one: from the value that release showed to the value
    now, so a value recorded and replaced between releases, never published, is never shown; the
    reasons of every change that had one. None if the figure is back where it was."""
    changes = figure_diff.changes
    if not changes or figure_diff.old_value == figure_diff.new_value:
        return None
    last = changes[-1]
    if len(changes) == 1:
        return last
    old, new = figure_diff.old_value, figure_diff.new_value
    kind = "withdrawn" if new is None else "recorded" if old is None else next(
        (c.kind for c in reversed(changes) if c.kind not in ("recorded", "withdrawn")), last.kind
    )
    reasons = [] if old is None else [c.reason for c in changes if c.reason]
    return replace(last, previous_value=old, value=new, kind=kind, reason="; ".join(dict.fromkeys(reasons)) or None)


def _relative(difference: Decimal, old: Decimal) -> str:
    """The change as a percentage of the figure it replaced, to one decimal place (half away from zero):
    a correction's scale is often well under one percent."""
    tenths = Decimal(difference * 1000 / abs(old)).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 10
    sign = "+" if tenths > 0 else "\u2212" if tenths < 0 else ""
    return f"{sign}{abs(tenths):.1f}%"


def _impact(figure_diff, measure, figures, diff: Diff, quoted) -> str:
    """What the change does to the statement: its comparison with the baseline, and where it is quoted."""
    measure_id, area, period = figure_diff.measure, figure_diff.area, figure_diff.period
    measure = measure.for_area(area)
    parts = []
    if period == measure.baseline_period:
        parts.append(f"this is the baseline for {measure.title.lower()}: every comparison with it changes")
    elif Period.parse(period).same_length(Period.parse(measure.baseline_period)):
        baseline_now = figures.get((measure_id, area, measure.baseline_period))
        baseline_diff = next(
            (d for d in diff.figures if (d.measure, d.area, d.period) == (measure_id, area, measure.baseline_period)), None
        )
        baseline_then = baseline_diff.old_value if baseline_diff else (baseline_now.value if baseline_now else None)
        after = line_change(figure_diff.new_value, baseline_now.value, measure.polarity, measure.unit) if figure_diff.new_value and baseline_now else None
        before = line_change(figure_diff.old_value, baseline_then, measure.polarity, measure.unit) if figure_diff.old_value and baseline_then else None
        if after and before:
            parts.append(
                f"against the baseline it is now {_comparison_words(after, measure.unit)} (was {_comparison_words(before, measure.unit)})"
                + ("; the assessment is unchanged" if after.assessment == before.assessment else f"; the assessment changes from {before.assessment} to {after.assessment}")
            )
        elif after:
            parts.append(f"against the baseline it is {_comparison_words(after, measure.unit)}")
    numbers = quoted.get((measure_id, area, period), [])
    if period == measure.baseline_period:
        numbers = sorted({n for (m, a, _), ns in quoted.items() if (m, a) == (measure_id, area) for n in ns})
    if numbers:
        parts.append(f"quoted in {_paragraph_list(numbers)}")
    else:
        parts.append("not quoted in the text; the scorecard and trend show it")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _comparison_words(result, unit: str) -> str:
    if result.direction == "no change":
        return "no change"
    if in_points(unit):
        article = "an" if result.direction == "increase" else "a"
        return f"{article} {result.direction} of {SEED_STYLE.size(Decimal(result.change), unit)}"
    if result.change_percent is None:
        return result.direction
    return f"a {abs(result.change_percent)}% {result.direction}"


def paragraph_notices(diff: Diff, edition: str) -> list[model.Notice]:
    notices = []
    for paragraph_diff in diff.paragraphs:
        if paragraph_diff.edition != edition:
            continue
        for change in paragraph_diff.changes:
            what = {"written": "added", "revised": "the text was revised", "removed": "removed"}.get(change.kind, change.kind)
            notices.append(
                model.Notice(
                    kind="paragraph",
                    subject=f"Paragraph {paragraph_diff.number}",
                    reason=change.reason or "a new paragraph",
                    what=what,
                    scale="",
                    impact="",
                    recorded_at=change.recorded_at,
                )
            )
    return notices


__all__ = ["ApprovalChanges", "RevisionTimes", "approval_changes", "ReleasedRevision", "caught_up", "edition_document"]
