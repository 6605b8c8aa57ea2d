"""The same measure across forces: one row per area, from that area's latest released revision, as it
published the line. The public API (`/public/comparison/{measure}`) and the site's comparison pages
(`comparison/{measure}/`) both build their rows here, from released revisions only.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, TypeVar

from .render import FORMULA_STARTS, area_name

COMPARISON_KEYS = (
    "measure", "area", "area_name", "title", "edition", "revision", "released_at", "period", "value", "unit",
    "baseline_period", "baseline_value", "change", "change_unit", "change_percent", "direction", "assessment",
)  # fmt: skip
# What a row takes from the scorecard line its revision published (edition.json `scorecard`).
_LINE_KEYS = (
    "title", "period", "value", "unit", "baseline_period", "baseline_value", "change", "change_unit",
    "change_percent", "direction", "assessment",
)  # fmt: skip


class ReleasedRevision(Protocol):
    edition: str
    revision: int
    released_at: str
    area: str


R = TypeVar("R", bound=ReleasedRevision)


def latest_per_area(released: Iterable[R]) -> Iterator[R]:
    """The first revision of `released` (newest release first) of each area."""
    seen: set[str] = set()
    for revision in released:
        if revision.area not in seen:
            seen.add(revision.area)
            yield revision


def comparison_rows(released: Iterable[R], measure: str, lines: Callable[[R], Iterable[Mapping[str, Any]]]) -> list[dict]:
    """One row per area for `measure`, by area id: from the first revision of `released` (newest release
    first) for that area, its line of `measure` in its own area as `lines` gives it (edition.json's
    scorecard lines). `lines` is asked only for the revisions used."""
    rows = []
    for revision in latest_per_area(released):
        for line in lines(revision):
            if line["measure"] != measure or line["area"] != revision.area:
                continue
            rows.append(
                {
                    "measure": measure, "area": revision.area, "area_name": area_name(revision.area),
                    "edition": revision.edition, "revision": revision.revision, "released_at": revision.released_at,
                    **{key: line[key] for key in _LINE_KEYS},
                }
            )  # fmt: skip
    return sorted(rows, key=lambda row: row["area"])


def measures(released: Iterable[R], lines: Callable[[R], Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """measure -> title of every measure some area's latest released revision shows in its own area."""
    found: dict[str, str] = {}
    for revision in latest_per_area(released):
        for line in lines(revision):
            if line["area"] == revision.area:
                found.setdefault(line["measure"], line["title"])
    return dict(sorted(found.items()))


def comparison_csv(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The rows as RFC 4180 CSV, COMPARISON_KEYS as columns; text a spreadsheet would run as a formula is
    defused as in scorecard.csv (numbers stay as they are)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COMPARISON_KEYS)
    for row in rows:
        writer.writerow([_cell(row[key]) for key in COMPARISON_KEYS])
    return out.getvalue().encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
