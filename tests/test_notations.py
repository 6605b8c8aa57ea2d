"""Periods and values as forces write them: 2022/23, 2022-11, "rolling year to November 2022",
and 18,059 where the file's CSV on the Web metadata declares the separator; anything ambiguous
is refused with the message given before."""

from __future__ import annotations

import json

import pytest

from events.domain.errors import InvalidValue
from events.domain.rules import values
from service.handlers import imports
from service.handlers.figures import record_figure

from .given import ANALYST, AREA, a_measure


@pytest.mark.parametrize(
    "written, period",
    [
        ("2022/23", "2022-04/2023-03"),
        ("1999/00", "1999-04/2000-03"),
        ("2022-11", "2022-11/2022-11"),
        ("November 2022", "2022-11/2022-11"),
        ("rolling year to November 2022", "2021-12/2022-11"),
        ("Rolling year to  December 2022", "2022-01/2022-12"),
        ("year ending June 2019", "2018-07/2019-06"),
        ("12 months to March 2020", "2019-04/2020-03"),
        ("2021-01/2021-12", "2021-01/2021-12"),
    ],
)
def test_a_period_written_in_a_common_notation_is_read_as_the_interval_it_names(written, period):
    assert values.period("period", written) == period


@pytest.mark.parametrize(
    "written, message",
    [
        ("2022/24", "2022/24 (a financial year)"),
        ("2022-23", "expected a period such as 2021-01/2021-12"),
        ("2011-13", "expected a period such as 2021-01/2021-12"),
        ("Jan-Dec 2021", "expected a period such as 2021-01/2021-12"),
        ("the last 12 months", "expected a period such as 2021-01/2021-12"),
        ("rolling year to Novembre 2022", "'Novembre' is not a month"),
    ],
)
def test_an_ambiguous_or_unknown_notation_is_refused_with_what_is_accepted(written, message):
    with pytest.raises(InvalidValue, match="period: expected a period such as") as error:
        values.period("period", written)
    assert message.split(" (")[0] in str(error.value) or message in str(error.value)


def test_a_figure_recorded_for_a_financial_year_is_stored_under_its_interval(store):
    a_measure(store, "burglary")
    record_figure(store, "burglary", AREA, "2022/23", "18059", ANALYST)
    (event,) = store.read_stream(f"figure-burglary/{AREA}/2022-04/2023-03")
    assert event.data["period"] == "2022-04/2023-03"


CSV = "measure,period,value,source,note\nburglary,2022/23,\"18,059\",PRC,\nburglary,2022-11,\"1,093\",PRC,\n"


def test_thousands_separators_are_read_only_where_the_files_csvw_metadata_declares_them(store, tmp_path):
    a_measure(store, "burglary")
    path = tmp_path / "figures.csv"
    path.write_text(CSV)
    rows, problems, unit = imports.read_file(path, None, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
    with pytest.raises(imports.ImportRefused, match=r"found '18,059' \(write 18059: no thousands separators"):
        imports.import_figures(store, rows, ANALYST, default_area=AREA, problems=problems, unit=unit)
    (tmp_path / "figures.csv-metadata.json").write_text(
        json.dumps({"tableSchema": {"columns": [{"name": "value", "datatype": {"base": "decimal", "format": {"groupChar": ","}}}]}})
    )
    rows, problems, unit = imports.read_file(path, None, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
    report = imports.import_figures(store, rows, ANALYST, default_area=AREA, problems=problems, unit=unit)
    assert report.recorded == 2
    assert store.read_stream(f"figure-burglary/{AREA}/2022-04/2023-03")[0].data["value"] == "18059"
    assert store.read_stream(f"figure-burglary/{AREA}/2022-11/2022-11")[0].data["value"] == "1093"


def test_a_declared_separator_never_makes_a_mistyped_number_good(store, tmp_path):
    a_measure(store, "burglary")
    path = tmp_path / "figures.csv"
    path.write_text('measure,period,value,source,note\nburglary,2022/23,"10, 579",PRC,\nburglary,2021/22,"1,00,000",PRC,\n')
    (tmp_path / "figures.csv-metadata.json").write_text(
        json.dumps({"tableSchema": {"columns": [{"name": "value", "datatype": {"base": "decimal", "format": {"groupChar": ","}}}]}})
    )
    rows, problems, unit = imports.read_file(path, None, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL)
    with pytest.raises(imports.ImportRefused) as error:
        imports.import_figures(store, rows, ANALYST, default_area=AREA, problems=problems, unit=unit)
    assert [p.line for p in error.value.problems] == [2, 3]
    assert store.head().position == 1  # the measure only


# -- forces by name and code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "named, area",
    [
        ("kent", "kent"),
        ("Kent", "kent"),
        ("Kent Police", "kent"),
        ("E23000032", "kent"),
        ("e23000032", "kent"),
        ("Devon and Cornwall Police", "devon-and-cornwall"),
        ("Devon & Cornwall", "devon-and-cornwall"),
        ("City of London Police", "city-of-london"),
        ("Dyfed-Powys Police", "dyfed-powys"),
        ("W15000004", "dyfed-powys"),
        ("coventry", "coventry"),  # a sub-area, by its own id
    ],
)
def test_a_force_is_named_by_its_id_ons_code_or_name(named, area):
    assert values.area("area", named) == area


@pytest.mark.parametrize("named", ["E23000099", "W15000005", "Kentish Town Police", "", None])
def test_an_unknown_force_or_no_area_at_all_is_refused(named):
    with pytest.raises(InvalidValue, match="area: expected"):
        values.area("area", named)


def test_the_reference_data_is_the_43_territorial_force_areas_with_its_source_and_date():
    from importlib import resources

    from events.domain.areas import force_areas

    areas = force_areas()
    assert len(areas) == 43 and len({a.code for a in areas}) == 43 and len({a.area for a in areas}) == 43
    assert sum(a.code.startswith("E23") for a in areas) == 39 and sum(a.code.startswith("W15") for a in areas) == 4
    document = json.loads(resources.files("events.domain").joinpath("data", "police-force-areas.json").read_text())
    assert "geoportal.statistics.gov.uk" in document["source"] and document["date"]


def test_a_figure_recorded_for_kent_police_is_kents_and_one_with_no_area_is_refused(store, tmp_path):
    a_measure(store, "burglary")
    record_figure(store, "burglary", "Kent Police", "2022/23", "18059", ANALYST)
    assert store.read_stream("figure-burglary/kent/2022-04/2023-03")
    rows, problems = imports.parse_rows(
        "measure,period,value,source,note\nburglary,2022/23,1,PRC,\n", "csv", imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL
    )
    with pytest.raises(imports.ImportRefused, match="line 2, column area: expected the area the figure is for"):
        imports.import_figures(store, rows, ANALYST, default_area=None)
