"""A new figure's period must be over and not before 1900: 9999-01/9999-12 is a typing error, refused
from the CLI, an import and the HTTP API alike; the margin ahead of today is a setting."""

from __future__ import annotations

import pytest

from events.domain.errors import InvalidValue
from service.handlers import figures, imports

from .given import ANALYST, AREA, a_measure


@pytest.fixture
def homicide(store):
    a_measure(store, "homicide")


@pytest.mark.parametrize("period", ["9999-01/9999-12", "2026-02/2026-02", "2025-02/2026-01", "2026-01-01/2026-01-06", "1066-01/1066-12"])
def test_a_period_that_has_not_ended_or_starts_before_1900_is_refused(store, homicide, period):
    head = store.head()
    with pytest.raises(InvalidValue) as refused:
        figures.record_figure(store, "homicide", AREA, period, "5", ANALYST)  # the clock says 2026-01-05
    assert refused.value.field == "period" and period in str(refused.value)
    assert store.head() == head


@pytest.mark.parametrize("period", ["2025-01/2025-12", "2026-01-01/2026-01-05", "1900-01/1900-12"])
def test_a_period_that_is_over_is_recorded(store, homicide, period):
    figures.record_figure(store, "homicide", AREA, period, "5", ANALYST)


def test_a_margin_lets_a_period_end_that_many_days_ahead(store, homicide):
    with pytest.raises(InvalidValue):
        figures.record_figure(store, "homicide", AREA, "2026-01/2026-01", "5", ANALYST, period_margin_days=25)
    figures.record_figure(store, "homicide", AREA, "2026-01/2026-01", "5", ANALYST, period_margin_days=26)


def test_an_import_names_the_line_of_an_implausible_period_and_writes_nothing(store, homicide):
    text = "measure,area,period,value\nhomicide,west-midlands,2021-01/2021-12,46\nhomicide,west-midlands,9999-01/9999-12,5\n"
    rows, problems = imports.parse_rows(text, "csv", imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
    head = store.head()

    with pytest.raises(imports.ImportRefused) as refused:
        imports.import_figures(store, rows, ANALYST, default_area=AREA, problems=problems)

    (problem,) = refused.value.problems
    assert (problem.line, problem.column) == (3, "period") and "has ended by 2026-01-05" in problem.message
    assert store.head() == head


def test_a_revision_of_a_figure_already_recorded_is_not_held_to_it(store, homicide, clock):
    figures.record_figure(store, "homicide", AREA, "2025-01/2025-12", "5", ANALYST)
    figures.revise_figure(store, "homicide", AREA, "2025-01/2025-12", "6", "revision", "late data", ANALYST)
