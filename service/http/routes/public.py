"""For the public, with no token: released editions only, never anything unreleased or embargoed."""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from publishers.comparison import comparison_csv as csv_of

from ..problems import Problem
from ..reads import comparison_rows

router = APIRouter(prefix="/public", tags=["public"])
Slug = Annotated[str, Path(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
QuerySlug = Annotated[Optional[str], Query(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
CACHE = {"Cache-Control": "public, max-age=60"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
FILES = {
    "edition.json": "application/json",
    "scorecard.csv": "text/csv; charset=utf-8",
    "scorecard.csv-metadata.json": "application/csvm+json",
    "manifest.json": "application/json",
    "index.html": "text/html; charset=utf-8",
}


class ReleasedOut(BaseModel):
    edition: str
    title: str
    area: str
    revision: int
    release_at: str
    released_at: str
    manifest_hash: str
    superseded: bool
    reason: str


class ScorecardLineOut(BaseModel):
    measure: str
    area: str
    title: str
    period: Optional[str]
    value: Optional[str]
    unit: str
    baseline_period: str
    baseline_value: Optional[str]
    change: Optional[str]
    change_unit: str = "count"
    change_percent: Optional[int]
    direction: Optional[str]
    assessment: Optional[str]


class ScorecardOut(BaseModel):
    edition: str
    revision: int
    area: str
    released_at: str
    position: int
    scorecard: list[ScorecardLineOut]


class VintageOut(BaseModel):
    edition: str
    revision: int
    released_at: str
    values: dict[str, str]


class HistoryOut(BaseModel):
    measure: str
    area: str
    vintages: list[VintageOut]


def _reads(request: Request):
    return request.app.state.reads


@router.get("/editions", response_model=list[ReleasedOut], summary="Every released edition revision, newest first")
def editions(request: Request) -> list[ReleasedOut]:
    released = _reads(request).released()
    latest = {}
    for item in released:
        latest.setdefault(item.edition, item.revision)
    return [
        ReleasedOut(
            edition=item.edition,
            title=item.title,
            area=item.area,
            revision=item.revision,
            release_at=item.release_at,
            released_at=item.released_at,
            manifest_hash=item.manifest_hash,
            superseded=item.revision != latest[item.edition],
            reason=item.reason,
        )
        for item in released
    ]


@router.get(
    "/editions/{edition}/{name}",
    summary="A file of an edition's latest released revision (edition.json, scorecard.csv, index.html, ...)",
    responses={200: {"content": {media: {} for media in set(FILES.values())}}},
)
def latest_file(request: Request, edition: Slug, name: str) -> Response:
    released = _reads(request).latest(edition=edition)
    if released is None:
        raise Problem(404, "Not found", f"edition {edition!r} has not been released")
    return _file(request, released, name, CACHE)


@router.get(
    "/editions/{edition}/r{revision}/{name}",
    summary="A file of one released revision, as published",
    responses={200: {"content": {media: {} for media in set(FILES.values())}}},
)
def revision_file(request: Request, edition: Slug, revision: Annotated[int, Path(ge=1, le=10_000)], name: str) -> Response:
    released = _reads(request).revision(edition, revision)
    if released is None:
        raise Problem(404, "Not found", f"revision {revision} of edition {edition!r} has not been released")
    return _file(request, released, name, IMMUTABLE)


def _file(request: Request, released, name: str, cache: dict[str, str]) -> Response:
    if name not in FILES:
        raise Problem(404, "Not found", f"an edition has no file {name!r}; it has {', '.join(FILES)}")
    body = _reads(request).file(released, name)
    if body is None:
        raise Problem(404, "Not found", f"{name} of edition {released.edition} revision {released.revision} is not on the site yet")
    headers = {**cache, "ETag": f'"{released.manifest_hash[:32]}"'}
    return Response(body, media_type=FILES[name], headers=headers)


@router.get("/scorecard", response_model=ScorecardOut, summary="The scorecard as last released")
async def scorecard(request: Request, area: QuerySlug = None) -> Response:
    # The busiest public read: answered in the event loop when the releases list and the encoded
    # scorecard are both cached (no I/O), otherwise in a worker thread, which may read the log.
    found = _reads(request).cached_scorecard(area)
    if found is None:
        found = await run_in_threadpool(_scorecard, _reads(request), area)
    released, body = found
    return Response(body, media_type="application/json", headers={**CACHE, "ETag": f'"{released.manifest_hash[:32]}"'})


def _scorecard(reads, area: str | None) -> tuple:
    released = reads.latest(area=area)
    if released is None:
        raise Problem(404, "Not found", "nothing has been released yet" + (f" for area {area!r}" if area else ""))
    return released, reads.scorecard_json(released)


class ComparisonRowOut(ScorecardLineOut):
    """One area's line of a measure, as its latest released revision published it, and which revision that is."""

    area_name: str
    edition: str
    revision: int
    released_at: str


def _comparison(request: Request, measure: str) -> list[dict]:
    rows = comparison_rows(_reads(request), measure)
    if not rows:
        raise Problem(404, "Not found", f"no released edition shows measure {measure!r}")
    return rows


@router.get(
    "/comparison/{measure}.csv",
    summary="The same measure across forces, as CSV: each area's line from its latest released edition",
    responses={200: {"content": {"text/csv": {}}}},
)
def comparison_csv(request: Request, measure: Slug) -> Response:
    return Response(csv_of(_comparison(request, measure)), media_type="text/csv; charset=utf-8", headers=CACHE)


@router.get(
    "/comparison/{measure}", response_model=list[ComparisonRowOut],
    summary="The same measure across forces: each area's line from its latest released edition, only from released editions",
)  # fmt: skip
def comparison(request: Request, measure: Slug) -> list[ComparisonRowOut]:
    return [ComparisonRowOut(**row) for row in _comparison(request, measure)]


@router.get("/history/{measure}", response_model=HistoryOut, summary="The values each released revision showed for a measure")
def history(request: Request, measure: Slug, area: QuerySlug = None) -> HistoryOut:
    reads = _reads(request)
    latest = reads.latest(area=area)
    if latest is None:
        raise Problem(404, "Not found", "nothing has been released yet" + (f" for area {area!r}" if area else ""))
    vintages = reads.released_history(measure, latest.area)
    return HistoryOut(measure=measure, area=latest.area, vintages=[VintageOut(**v) for v in vintages])
