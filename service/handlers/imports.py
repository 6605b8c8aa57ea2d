"""Bulk import of measures and figures from CSV or JSON, shared by the CLI and the HTTP API.

A file is checked whole before anything is written, and every bad row is reported (line,
column, what was expected, what was found). An accepted file is written in one transaction
(`EventStore.append_many`): all of its events land, or none do. A row that matches what is
already recorded changes nothing, so importing the same file twice is safe.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from events import EventStore, Metadata, NewEvent
from events.domain.errors import DomainError, InvalidValue, MeasureIsRetired, UnknownMeasure
from events.domain.figures import figure_stream
from events.domain.measures import MeasureAmended, MeasureSetForArea, measure_stream
from events.domain.rules import figures as figure_rules
from events.domain.rules import measures as measure_rules
from events.domain.fields import trim
from events.domain.rules import values

from .. import strict_json
from . import figures as figure_handlers
from .loading import load_figures, load_measures

MEASURE_COLUMNS = ("id", "title", "priority", "unit", "polarity", "baseline_period", "source", "definition")
MEASURE_OPTIONAL = ("source", "definition", "reason", "area")
FIGURE_COLUMNS = ("measure", "period", "value", "source", "note")
FIGURE_OPTIONAL = ("source", "note", "area", "reason", "kind")
FORMATS = ("csv", "json")


@dataclass(frozen=True)
class RowProblem:
    line: int  # the CSV line the row starts on (1 is the header), or the JSON item's number
    column: str | None
    message: str
    unit: str = "line"  # "line" for CSV, "item" for JSON

    def __str__(self) -> str:
        where = f"{self.unit} {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportRefused(DomainError):
    """The file has bad rows; nothing was written. `problems` lists every one."""

    def __init__(self, name: str, problems: list[RowProblem]) -> None:
        self.problems = problems
        rows = len({problem.line for problem in problems})
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{name}: {rows} bad row(s), nothing was imported:\n{listed}")


class Row(NamedTuple):
    """A row's line (or JSON item) and its cells by column. A named tuple: a bulk import makes one per row."""

    line: int
    cells: dict[str, str]


@dataclass
class ImportReport:
    rows: int = 0
    recorded: int = 0  # new measures or figures
    changed: int = 0  # amended measures, revised figures
    unchanged: int = 0
    first_position: int | None = None
    last_position: int | None = None
    dry_run: bool = False
    details: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return self.recorded + self.changed

    def summary(self, new: str, changed: str) -> str:
        verb = "would write" if self.dry_run else "wrote"
        text = (
            f"{self.rows} row(s): {self.recorded} {new}, {self.changed} {changed}, {self.unchanged} unchanged; "
            f"{verb} {self.events} event(s)"
        )
        if self.events and self.first_position is not None:
            text += f" at positions {self.first_position}-{self.last_position}"
        elif not self.events:
            text += ": everything in the file is already recorded"
        return text


# -- reading files -------------------------------------------------------------------------------


def detect_format(path: str | Path, format: str | None = None) -> str:
    if format:
        if format not in FORMATS:
            raise InvalidValue("format", "csv or json", format)
        return format
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise InvalidValue("format", "a file ending .csv or .json, or --format csv|json", Path(path).name)


def parse_rows(
    text: str, format: str, columns: tuple[str, ...], optional: tuple[str, ...]
) -> tuple[list[Row], list[RowProblem]]:
    """Rows as {column: text}, and every problem with the file's shape (header, cells, JSON types)."""
    known = tuple(dict.fromkeys((*columns, *optional)))
    required = [c for c in columns if c not in optional]
    if format == "json":
        return _parse_json(text, known, required)
    return _parse_csv(text, known, required)


def _parse_csv(text: str, known: tuple[str, ...], required: list[str]) -> tuple[list[Row], list[RowProblem]]:
    problems: list[RowProblem] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowProblem(1, None, f"expected a header line with the columns {', '.join(known)}, found an empty file")]
    except csv.Error as exc:
        return [], [RowProblem(1, None, f"expected CSV, found {exc}")]
    header = [name.strip() for name in header]
    for name in header:
        if name not in known:
            problems.append(RowProblem(1, name or "(empty)", f"expected one of the columns {', '.join(known)}, found {name!r}"))
    for name in sorted({n for n in header if header.count(n) > 1}):
        problems.append(RowProblem(1, name, "expected each column once, found it more than once"))
    for name in required:
        if name not in header:
            problems.append(RowProblem(1, name, "expected this column in the header, found it missing"))
    if problems:
        return [], problems
    rows = []
    previous_end = reader.line_num
    try:
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            trimmed = [trim(cell) for cell in cells]
            if not any(trimmed):
                continue
            if len(cells) != len(header):
                problems.append(
                    RowProblem(line, None, f"expected {len(header)} values ({', '.join(header)}), found {len(cells)}")
                )
                continue
            rows.append(Row(line, dict(zip(header, trimmed))))
    except csv.Error as exc:
        problems.append(RowProblem(reader.line_num, None, f"expected CSV, found {exc}"))
    return rows, problems


class _Number(str):
    """A JSON number, kept as the text it was written as."""


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, _Number) else json.dumps(value, ensure_ascii=False)[:60]


def _parse_json(text: str, known: tuple[str, ...], required: list[str]) -> tuple[list[Row], list[RowProblem]]:
    try:
        # Numbers are kept as written: 12.5 must never pass through a binary float.
        data = strict_json.loads(text, parse_float=_Number, parse_int=_Number)
    except json.JSONDecodeError as exc:
        return [], [RowProblem(exc.lineno, None, f"expected JSON, found {exc.msg} at column {exc.colno}", "line")]
    except strict_json.JSONRefused as exc:
        return [], [RowProblem(1, None, str(exc), "line")]
    if not isinstance(data, list):
        return [], [RowProblem(1, None, f"expected a list of objects, found a JSON {type(data).__name__}", "line")]
    rows, problems = [], []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(RowProblem(number, None, f"expected an object, found {_shown(item)}", "item"))
            continue
        cells: dict[str, str] = {}
        bad = False
        for key, value in item.items():
            if key not in known:
                problems.append(RowProblem(number, key, f"expected one of the keys {', '.join(known)}, found {key!r}", "item"))
                bad = True
            elif value is None:
                cells[key] = ""
            elif isinstance(value, str):
                cells[key] = str.strip(value)
            else:
                problems.append(RowProblem(number, key, f"expected text or a number, found {_shown(value)}", "item"))
                bad = True
        for key in required:
            if key not in item:
                problems.append(RowProblem(number, key, "expected this key, found it missing", "item"))
                bad = True
        if not bad:
            rows.append(Row(number, cells))
    return rows, problems


def read_file(path: str | Path, format: str | None, columns: tuple[str, ...], optional: tuple[str, ...]):
    chosen = detect_format(path, format)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRefused(str(path), [RowProblem(1, None, f"expected UTF-8 text, found {exc.reason}")]) from None
    rows, problems = parse_rows(text, chosen, columns, optional)
    if chosen == "csv":
        group, metadata_problems = declared_group_char(Path(path))
        problems.extend(metadata_problems)
        if group:
            rows = [ungrouped(row, group) for row in rows]
    return rows, problems, ("item" if chosen == "json" else "line")


def declared_group_char(path: Path) -> tuple[str | None, list[RowProblem]]:
    """The thousands separator the file's CSV on the Web metadata (`NAME.csv-metadata.json` beside
    it) declares for its value column, as CSVW writes it: {"name": "value", "datatype": {"base":
    "decimal", "format": {"groupChar": ","}}}. Without that file, values carry no separators."""
    metadata = path.with_name(path.name + "-metadata.json")
    if not metadata.is_file():
        return None, []
    where = metadata.name
    try:
        document = json.loads(metadata.read_text(encoding="utf-8"))
        columns = document["tableSchema"]["columns"]
        (value,) = [c for c in columns if isinstance(c, dict) and c.get("name") == "value"]
        number_format = value["datatype"]["format"]
        group = number_format["groupChar"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None, [
            RowProblem(1, "value", f"expected {where} to declare the value column's groupChar "
                       '(tableSchema.columns: {"name": "value", "datatype": {"base": "decimal", "format": {"groupChar": ","}}})')
        ]  # fmt: skip
    if group not in (",", " ", "\u00a0", "'") or number_format.get("decimalChar", ".") != ".":
        return None, [RowProblem(1, "value", f"expected {where} to declare groupChar \",\", \" \" or \"'\" with decimalChar \".\", found {group!r}")]
    return group, []


def ungrouped(row: Row, group: str) -> Row:
    """The value without its declared separators, when they group digits in threes (18,059);
    anything else ("10, 579") is left for the value check to refuse."""
    value = row.cells.get("value", "")
    digits = value.replace(group, "")
    whole = digits.lstrip("-").split(".")[0]
    if group in value and values.is_decimal(digits) and value.lstrip("-").split(".")[0] == _grouped(whole, group):
        return Row(row.line, {**row.cells, "value": digits})
    return row


def _grouped(whole: str, group: str) -> str:
    return f"{int(whole):,}".replace(",", group)


def _problem(row: Row, exc: DomainError, unit: str) -> RowProblem:
    if isinstance(exc, InvalidValue):
        return RowProblem(row.line, exc.field, exc.detail, unit)
    column = "measure" if isinstance(exc, (UnknownMeasure, MeasureIsRetired)) and "measure" in row.cells else None
    return RowProblem(row.line, column, str(exc), unit)


# -- measures ------------------------------------------------------------------------------------


def import_measures(
    store: EventStore,
    rows: list[Row],
    metadata: Metadata,
    *,
    name: str = "measures",
    problems: Iterable[RowProblem] = (),
    unit: str = "line",
    dry_run: bool = False,
) -> ImportReport:
    """Define new measures, amend changed ones (a `reason` column is then needed), skip identical ones."""
    problems = list(problems)
    checked: list[tuple[Row, str, dict[str, str]]] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        cells = row.cells
        measure = cells.get("id", "")
        details = {name: cells.get(name, "") for name in measure_rules.DETAILS}
        row_problems = []
        try:
            values.slug("id", measure)
        except InvalidValue as exc:
            row_problems.append(_problem(row, exc, unit))
        row_problems.extend(_problem(row, exc, unit) for exc in measure_rules.problems(details))
        if cells.get("area"):
            try:
                cells["area"] = values.area("area", cells["area"])  # Kent Police is kent
            except InvalidValue as exc:
                row_problems.append(_problem(row, exc, unit))
        key = (measure, cells.get("area", ""))
        if key in seen:
            again = f"{measure!r} in area {key[1]}" if key[1] else repr(measure)
            row_problems.append(RowProblem(row.line, "id", f"expected each measure once{' per area' if key[1] else ''}, found {again} again (first on {unit} {seen[key]})", unit))
        seen.setdefault(key, row.line)
        problems.extend(row_problems)
        if not row_problems:
            checked.append((row, measure, details))

    current = load_measures(store, [measure for _, measure, _ in checked])
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    pending: dict[str, list[NewEvent]] = {}  # one measure's rows for several areas go in one append
    for row, measure, details in checked:
        state, version = current[measure]
        area = row.cells.get("area")
        try:
            if area:
                events = measure_rules.decide_import_in_area(state, measure, area, details, row.cells.get("reason"))
            else:
                event = measure_rules.decide_import(state, measure, details, row.cells.get("reason"))
                events = [] if event is None else [event]
        except DomainError as exc:
            problems.append(_problem(row, exc, unit))
            continue
        if not events:
            report.unchanged += 1
            continue
        if state is None:
            report.recorded += 1
        else:
            report.changed += 1
        for event in events:
            if isinstance(event, MeasureAmended):
                report.details.append(f"{measure}: amended {', '.join(k for k in measure_rules.DETAILS if getattr(event, k) is not None)}")
            elif isinstance(event, MeasureSetForArea) and state is not None:
                report.details.append(f"{measure}: set {', '.join(k for k in measure_rules.AREA_DETAILS if getattr(event, k) is not None)} for area {event.area}")
        # The next row for this measure (another area) decides against the state these events leave.
        current[measure] = (measure_rules.decided(state, events), version)
        pending.setdefault(measure, []).extend(NewEvent.of(event, store.registry) for event in events)
    appends = [(measure_stream(measure), new, current[measure][1]) for measure, new in pending.items()]
    return _finish(store, name, problems, appends, report, metadata)



# -- figures -------------------------------------------------------------------------------------


def import_figures(
    store: EventStore,
    rows: list[Row],
    metadata: Metadata,
    *,
    default_area: str | None,
    period_margin_days: int = figure_handlers.PERIOD_MARGIN_DAYS,
    name: str = "figures",
    problems: Iterable[RowProblem] = (),
    unit: str = "line",
    dry_run: bool = False,
) -> ImportReport:
    """Record new figures, revise changed ones (a `reason` is then needed; `kind` defaults to
    revision), and skip rows whose value is already recorded."""
    problems = list(problems)
    checked: list[tuple[Row, tuple[str, str, str], dict[str, str]]] = []
    seen: dict[tuple[str, str, str], int] = {}
    latest_end = figure_handlers.latest_period_end(store, period_margin_days)
    for row in rows:
        cells = row.cells
        area = cells.get("area") or default_area
        if area is None:
            problems.append(
                RowProblem(row.line, "area", "expected the area the figure is for: the row and the file name none, and no "
                           "default area is set (POLICING_METRICS_DEFAULT_AREA, --area)", unit)
            )  # fmt: skip
            continue
        # Each value is checked here, once: the decision below takes them as written.
        area, cells["period"], found = figure_rules.row_problems(
            measure_id=cells.get("measure", ""), area=area, period=cells.get("period", ""), value=cells.get("value", ""),
            source=cells.get("source", ""), note=cells.get("note", ""), kind=cells.get("kind"), latest_end=latest_end,
        )  # fmt: skip
        row_problems = [_problem(row, exc, unit) for exc in found]
        key = (cells.get("measure", ""), area, cells.get("period", ""))
        if not row_problems:
            if key in seen:
                row_problems.append(
                    RowProblem(
                        row.line,
                        None,
                        f"expected one row per measure, area and period, found {figure_rules.figure_key(*key)} "
                        f"again (first on {unit} {seen[key]})",
                        unit,
                    )
                )
            seen.setdefault(key, row.line)
        problems.extend(row_problems)
        if not row_problems:
            checked.append((row, key, cells))

    measures = load_measures(store, [key[0] for _, key, _ in checked])
    figures = load_figures(store, [key for _, key, _ in checked])
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    appends: list[tuple[str, list[NewEvent], int | None]] = []
    used_measures: dict[str, int] = {}
    registry = store.registry
    for row, key, cells in checked:
        measure_id, area, period = key
        measure, measure_version = measures[measure_id]
        current, version = figures[key]
        try:
            event = figure_rules.decide_import(
                measure,
                current,
                measure_id=measure_id,
                area=area,
                period=period,
                value=cells["value"],
                source=cells.get("source", ""),
                note=cells.get("note", ""),
                reason=cells.get("reason") or None,
                kind=cells.get("kind") or None,
            )
        except DomainError as exc:
            problems.append(_problem(row, exc, unit))
            continue
        if event is None:
            report.unchanged += 1
            continue
        if current is None:
            report.recorded += 1
            used_measures[measure_id] = measure_version
        else:
            report.changed += 1
            report.details.append(f"{current.key}: revised {current.value} -> {event.value} ({event.kind}: {event.reason})")
        appends.append((figure_stream(*key), [NewEvent.of(event, registry)], version))
    # New figures rest on their measures being defined and not retired: those versions must hold too.
    appends.extend((measure_stream(measure), [], version) for measure, version in used_measures.items())
    return _finish(store, name, problems, appends, report, metadata)


def _finish(store, name, problems, appends, report: ImportReport, metadata: Metadata) -> ImportReport:
    if problems:
        problems.sort(key=lambda p: p.line)
        raise ImportRefused(name, problems)
    if report.events and not report.dry_run:
        result = store.append_many(appends, metadata=metadata)
        report.first_position, report.last_position = result.first_position, result.last_position
    return report
