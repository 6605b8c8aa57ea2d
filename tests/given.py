"""Givens for the domain's tests: measures, figures and editions as a data owner would set them up."""

from __future__ import annotations

from events import EventStore, Metadata
from events.domain.fields import NATIONAL_PRIORITIES
from service.handlers import editions, figures, measures

ANALYST = Metadata(actor="analyst@wmp", source="test")
AREA = "west-midlands"
BASELINE = "2018-07/2019-06"
Y2021 = "2021-01/2021-12"

HOMICIDE = dict(
    title="Homicides",
    priority="homicide",
    unit="count",
    polarity="lower-is-better",
    baseline_period=BASELINE,
    source="Police recorded crime",
    definition="",
)


def a_measure(store: EventStore, measure: str = "homicide", **details) -> None:
    measures.define_measure(store, measure, {**HOMICIDE, "title": measure.replace("-", " ").title(), **details}, ANALYST)


def a_figure(store: EventStore, measure: str = "homicide", period: str = Y2021, value: str = "46", area: str = AREA) -> None:
    figures.record_figure(store, measure, area, period, value, ANALYST)


def homicide_with_figures(store: EventStore) -> None:
    a_measure(store, "homicide")
    a_figure(store, "homicide", BASELINE, "52")
    a_figure(store, "homicide", Y2021, "46")


def an_edition(store: EventStore, edition: str = "2022-02", assessed: bool = True) -> None:
    editions.open_edition(
        store,
        edition,
        area=AREA,
        title="National Policing Priorities statement, February 2022",
        authors=[{"name": "Harry Barton", "job_title": "Head of Strategy and Direction"}],
        lead_contact={"name": "Stuart Gardner"},
        metadata=ANALYST,
    )
    if assessed:
        for priority in NATIONAL_PRIORITIES:
            editions.assess_priority(store, edition, priority, True, f"{priority} applies to the West Midlands", ANALYST)


def an_approved_edition(store: EventStore, edition: str, area: str, measure: str = "homicide", title: str = "", text: str = ""):
    """Another force's statement: opened for `area`, every priority assessed applicable, one paragraph
    quoting `measure`'s 2021 figure and its baseline (or `text`), approved (the approval is returned)."""
    editions.open_edition(
        store, edition, area=area, title=title or f"{area}, February 2022",
        authors=[{"name": "A. Author", "job_title": "Analyst"}], lead_contact={"name": "A. Author"}, metadata=ANALYST,
    )  # fmt: skip
    for priority in NATIONAL_PRIORITIES:
        editions.assess_priority(store, edition, priority, True, f"{priority} applies", ANALYST)
    text = text or f"{{{{value:{measure}:{Y2021}}}}} of {measure} against {{{{baseline:{measure}}}}}"
    editions.write_paragraph(store, edition, 1, section="force-statement", text=text, metadata=ANALYST)
    return editions.approve_edition(store, edition, ANALYST)[1]


def types_of(store: EventStore, stream: str) -> list[str]:
    return [event.type for event in store.read_stream(stream)]
