"""For data owners, editors and admins: measures, figures and editions, one at a time or in bulk.

Every route calls the same command handler as the CLI, through `writes.perform`, which adds
Idempotency-Key and If-Match. Bulk bodies are CSV (text/csv) or JSON (application/json) with
the CLI's columns and all-or-nothing rules.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from events.domain.editions import edition_stream
from events.domain.figures import figure_stream
from events.domain.measures import measure_stream

from events.domain.rules import access as access_rules

from ...handlers import access
from ...handlers import editions as edition_handlers
from ...handlers import imports
from ...handlers.editions_published import approval_changes
from ...handlers.figures import record_figure, revise_figure, withdraw_figure
from ...handlers.loading import all_measures, load_figures
from ...handlers.measures import amend_measure, define_measure, define_measure_in_area, retire_measure, set_measure_for_area
from ...handlers.tokens import Token
from ..auth import check_measure, requires
from events.domain.errors import InvalidValue
from events.domain.rules import values
from ..bodies import StrictJSONRoute
from ..problems import Problem
from ..writes import WriteOut, etag, perform

IF_MATCH_DOC = 'The stream version you last saw, as an entity tag ("3"); a stale one gets 412 with the current version.'


def _write_headers(
    idempotency_key: Annotated[
        Optional[str],
        Header(max_length=200, description="Send the same key to retry safely: the first answer comes back, nothing is written twice."),
    ] = None,
    if_match: Annotated[Optional[str], Header(max_length=40, description=IF_MATCH_DOC)] = None,
) -> None:
    """Documents the write headers; `writes.perform` reads them."""


router = APIRouter(dependencies=[Depends(_write_headers)], route_class=StrictJSONRoute)
DataOwner = Annotated[Token, Depends(requires("figures:write"))]
Editor = Annotated[Token, Depends(requires("statements:write"))]
Admin = Annotated[Token, Depends(requires("measures:write"))]
Reader = Annotated[Token, Depends(requires("internal:read"))]

Slug = Annotated[str, Path(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}(?:-\d{2})?$", description="Start or end of the period: 2021-01 or 2021-01-01.")]
WRITE_RESPONSES = {
    201: {"model": WriteOut},
    412: {"description": "If-Match names a version that is no longer current."},
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _unicode(cls, value):
        """Every text in a body is Unicode that UTF-8 can carry: a lone surrogate (JSON's `"\\ud800"`) is refused
        here, naming the field, before anything (the Idempotency-Key's fingerprint, a log line) has to encode it."""
        for text in _texts(value):
            for index, char in enumerate(text):
                if "\ud800" <= char <= "\udfff":
                    raise PydanticCustomError(
                        "lone_surrogate", "expected Unicode text, found a lone surrogate U+{code} at character {index}",
                        {"code": f"{ord(char):04X}", "index": index + 1},
                    )  # fmt: skip
        return value


def _texts(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [text for pair in value.items() for item in pair for text in _texts(item)]
    if isinstance(value, BaseModel):
        return _texts(value.model_dump())
    return []


def _write(request: Request, token: Token, body: BaseModel, action, *, stream: str | None = None, status: int = 200) -> JSONResponse:
    """Run a command handler once per Idempotency-Key, holding `stream` to If-Match, and answer what it wrote."""
    out, _ = perform(request, token, body, action, if_match_stream=stream)
    return _answer(out, status)


def _answer(out: WriteOut | None, status: int = 200, headers: dict[str, str] | None = None, extra: dict | None = None) -> JSONResponse:
    if out is None:
        return JSONResponse({"detail": "nothing changed"}, status_code=200)
    version = next(reversed(out.streams.values())) if out.streams else None
    all_headers = {**(headers or {}), **(etag(version) if version is not None and len(out.streams) == 1 else {})}
    if out.replayed:
        all_headers["Idempotent-Replayed"] = "true"
    return JSONResponse({**out.model_dump(exclude_none=True), **(extra or {})}, status_code=status, headers=all_headers)


def _record(request: Request, token: Token, allowed, what: str, edition: str | None = None) -> None:
    access.record_read(
        request.app.state.store,
        token,
        allowed,
        what=what,
        edition=edition,
        clock=request.app.state.app.clock,
        request_id=request.state.request_id,
    )


def _reach(request: Request, token: Token, area: str | None, what: str) -> None:
    """A token of an organisation touches only its own areas (a 403 before anything is read or written)."""
    if token.organisation is None or area is None:
        return
    try:
        area = values.area("area", area)
    except InvalidValue:
        return  # the command refuses it, naming the field
    access.reach(request.app.state.store, token, area, what)


def _reach_edition(request: Request, token: Token, edition: str) -> None:
    if token.organisation is None:
        return
    state, _ = edition_handlers.load_edition(request.app.state.store, edition)
    if state is not None:
        _reach(request, token, state.area, f"edition {edition!r}")


def _write_edition(request: Request, token: Token, edition: str, body: BaseModel, action, status: int = 200) -> JSONResponse:
    """A write to `edition`: by its own organisation's tokens only, held to If-Match on the edition's stream."""
    _reach_edition(request, token, edition)
    return _write(request, token, body, action, stream=edition_stream(edition), status=status)


def _figure_period(request: Request, token: Token, measure: str, area: str, start: str, end: str) -> str:
    """The period of a write to one figure, once the token may write that measure in that area."""
    check_measure(token, measure)
    period = _period(start, end)
    _reach(request, token, area, f"figure {measure}/{area}/{period}")
    return period


# -- measures (admin) ---------------------------------------------------------------------------


class MeasureIn(_In):
    measure: str = Field(max_length=80, examples=["homicide"])
    title: str = Field(max_length=2000)
    priority: str = Field(examples=["homicide"])
    unit: str = Field(examples=["count"])
    polarity: str = Field(examples=["lower-is-better"])
    baseline_period: str = Field("2018-07/2019-06", examples=["2018-07/2019-06"])
    source: str = Field("", max_length=2000)
    definition: str = Field("", max_length=20000)
    area: Optional[str] = Field(
        None, max_length=200, examples=["kent"],
        description="Defines the measure and sets its baseline period, priority, source and definition for this area "
        "at once, so a later amendment of the measure never moves them.",
    )  # fmt: skip


class MeasureInAreaIn(_In):
    reason: Optional[str] = Field(None, max_length=2000, description="Needed to change what the area had set.")
    baseline_period: Optional[str] = Field(None, examples=["2019-04/2020-03"])
    priority: Optional[str] = Field(None, examples=["neighbourhood-crime"])
    source: Optional[str] = Field(None, max_length=2000)
    definition: Optional[str] = Field(None, max_length=20000)


class MeasureChangesIn(_In):
    reason: str = Field(max_length=2000)
    title: Optional[str] = Field(None, max_length=2000)
    priority: Optional[str] = None
    unit: Optional[str] = None
    polarity: Optional[str] = None
    baseline_period: Optional[str] = None
    source: Optional[str] = Field(None, max_length=2000)
    definition: Optional[str] = Field(None, max_length=20000)


class ReasonIn(_In):
    reason: str = Field(max_length=2000)


@router.get("/measures", tags=["measures"], summary="Every measure, retired ones included")
def list_measures(request: Request, token: Reader) -> list[dict]:
    measures = access_rules.visible_measures(token, all_measures(request.app.state.store))
    return [measure.__dict__ for measure in measures]


@router.post("/measures", tags=["measures"], status_code=201, responses=WRITE_RESPONSES, summary="Define a measure")
def define(request: Request, token: Admin, body: MeasureIn) -> JSONResponse:
    details = body.model_dump(exclude={"measure", "area"})
    if body.area is not None:
        out, _ = perform(
            request, token, body, lambda store: define_measure_in_area(store, body.measure, body.area, details, store.metadata)
        )
    else:
        out, _ = perform(request, token, body, lambda store: define_measure(store, body.measure, details, store.metadata))
    return _answer(out, 201)


@router.patch(
    "/measures/{measure}/areas/{area}", tags=["measures"], responses=WRITE_RESPONSES,
    summary="Set a measure's baseline period, priority, source or definition in one area",
)  # fmt: skip
def set_in_area(request: Request, token: Admin, measure: Slug, area: str, body: MeasureInAreaIn) -> JSONResponse:
    changes = body.model_dump(exclude={"reason"}, exclude_none=True)
    return _write(
        request,
        token,
        body,
        lambda store: set_measure_for_area(store, measure, area, body.reason, changes, store.metadata),
        stream=measure_stream(measure),
    )


@router.patch("/measures/{measure}", tags=["measures"], responses=WRITE_RESPONSES, summary="Amend a measure with a reason")
def amend(
    request: Request,
    token: Admin,
    measure: Slug,
    body: MeasureChangesIn,
) -> JSONResponse:
    changes = body.model_dump(exclude={"reason"}, exclude_none=True)
    return _write(
        request,
        token,
        body,
        lambda store: amend_measure(store, measure, body.reason, changes, store.metadata),
        stream=measure_stream(measure),
    )


@router.post("/measures/{measure}/retirement", tags=["measures"], responses=WRITE_RESPONSES, summary="Retire a measure")
def retire(request: Request, token: Admin, measure: Slug, body: ReasonIn) -> JSONResponse:
    return _write(
        request,
        token,
        body,
        lambda store: retire_measure(store, measure, body.reason, store.metadata),
        stream=measure_stream(measure),
    )


BULK_BODY = {
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    },
    "required": True,
}


async def _bulk_text(request: Request) -> tuple[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    formats = {"text/csv": "csv", "application/json": "json"}
    if kind not in formats:
        raise Problem(415, "Unsupported media type", f"send text/csv or application/json, found {kind or 'no Content-Type'}")
    raw = await request.body()
    try:
        return raw.decode("utf-8"), formats[kind]
    except UnicodeDecodeError as exc:
        raise Problem(422, "Invalid data", f"expected UTF-8 text, found a byte that is not ({exc.reason} at {exc.start})")


def _import(request: Request, token: Token, text: str, format: str, columns, optional, run) -> JSONResponse:
    rows, problems = imports.parse_rows(text, format, columns, optional)
    unit = "item" if format == "json" else "line"
    out, report = perform(request, token, text, lambda store: run(store, rows, problems, unit), rows=len(rows))
    if out is None:
        return JSONResponse(
            {"rows": report.rows, "recorded": 0, "changed": 0, "unchanged": report.unchanged, "events": 0}, status_code=200
        )
    return _answer(out, 201 if not out.replayed or out.events else 200)


@router.post(
    "/measures/import",
    tags=["measures"],
    openapi_extra={"requestBody": BULK_BODY},
    responses=WRITE_RESPONSES,
    summary="Define or amend many measures from CSV or JSON, all or nothing",
)
async def import_measures(request: Request, token: Admin) -> JSONResponse:
    text, format = await _bulk_text(request)
    from fastapi.concurrency import run_in_threadpool

    return await run_in_threadpool(
        _import,
        request,
        token,
        text,
        format,
        imports.MEASURE_COLUMNS,
        imports.MEASURE_OPTIONAL,
        lambda store, rows, problems, unit: imports.import_measures(
            store, rows, store.metadata, name="request body", problems=problems, unit=unit
        ),
    )


# -- figures (data owners) ----------------------------------------------------------------------


class FigureIn(_In):
    measure: str = Field(max_length=80, examples=["homicide"])
    period: str = Field(max_length=40, examples=["2021-01/2021-12"])
    value: str = Field(max_length=60, examples=["46"], description="An exact decimal, as text.")
    area: Optional[str] = Field(None, max_length=80, description="Defaults to the force's area.")
    source: str = Field("", max_length=2000)
    note: str = Field("", max_length=2000)


class RevisionIn(_In):
    value: str = Field(max_length=60, examples=["47"])
    reason: str = Field(max_length=2000)
    kind: Literal["revision", "correction"] = "revision"
    source: str = Field("", max_length=2000)
    note: str = Field("", max_length=2000)


class FigureOut(BaseModel):
    measure: str
    area: str
    period: str
    value: Optional[str]
    withdrawn: bool
    version: int


def _period(start: str, end: str) -> str:
    return f"{start}/{end}"


@router.post("/figures", tags=["figures"], status_code=201, responses=WRITE_RESPONSES, summary="Record a figure")
def record(request: Request, token: DataOwner, body: FigureIn) -> JSONResponse:
    check_measure(token, body.measure)
    area = request.app.state.app.settings.default_area if body.area is None else body.area  # "" is refused, not the default
    _reach(request, token, area, f"figure {body.measure}/{area}/{body.period}")
    return _write(
        request,
        token,
        body,
        lambda store: record_figure(
            store, body.measure, area, body.period, body.value, store.metadata, source=body.source, note=body.note,
            period_margin_days=request.app.state.app.settings.period_margin_days,
        ),
        status=201,
    )


@router.get(
    "/figures/{measure}/{area}/{start}/{end}", tags=["figures"], response_model=FigureOut, summary="A figure's current value"
)
def show_figure(request: Request, token: Reader, measure: Slug, area: Slug, start: Month, end: Month, response: Response) -> FigureOut:
    period = _period(start, end)
    store = request.app.state.store
    (figure, version), = load_figures(store, [(measure, area, period)]).values()
    key = f"{measure}/{area}/{period}"
    organisations = access.organisations_of(store, token)
    if figure is None:
        # nothing recorded tells no one what exists
        access_rules.read_figure(token, measure, key, released=False, area=area, organisations=organisations)
        raise Problem(404, "Not found", f"no figure {key} is recorded")
    allowed = access_rules.read_figure(
        token, measure, key, released=access.figure_released(request.app.state.reads, figure), area=area, organisations=organisations
    )
    _record(request, token, allowed, f"figure {key} at version {version}")
    response.headers.update(etag(version))
    return FigureOut(
        measure=measure, area=area, period=period, value=figure.value, withdrawn=figure.withdrawn, version=version
    )


@router.post(
    "/figures/{measure}/{area}/{start}/{end}/revisions",
    tags=["figures"],
    responses=WRITE_RESPONSES,
    summary="Revise a figure (revision: late data; correction: an error), with a reason",
)
def revise(request: Request, token: DataOwner, measure: Slug, area: Slug, start: Month, end: Month, body: RevisionIn) -> JSONResponse:
    period = _figure_period(request, token, measure, area, start, end)
    return _write(
        request,
        token,
        body,
        lambda store: revise_figure(
            store, measure, area, period, body.value, body.kind, body.reason, store.metadata, source=body.source, note=body.note
        ),
        stream=figure_stream(measure, area, period),
    )


@router.post(
    "/figures/{measure}/{area}/{start}/{end}/withdrawal",
    tags=["figures"],
    responses=WRITE_RESPONSES,
    summary="Withdraw a figure, with a reason",
)
def withdraw(request: Request, token: DataOwner, measure: Slug, area: Slug, start: Month, end: Month, body: ReasonIn) -> JSONResponse:
    period = _figure_period(request, token, measure, area, start, end)
    return _write(
        request,
        token,
        body,
        lambda store: withdraw_figure(store, measure, area, period, body.reason, store.metadata),
        stream=figure_stream(measure, area, period),
    )


@router.post(
    "/figures/import",
    tags=["figures"],
    openapi_extra={"requestBody": BULK_BODY},
    responses=WRITE_RESPONSES,
    summary="Record or revise many figures from CSV or JSON, all or nothing",
)
async def import_figures(request: Request, token: DataOwner) -> JSONResponse:
    text, format = await _bulk_text(request)
    from fastapi.concurrency import run_in_threadpool

    def run(store, rows, problems, unit):
        default_area = request.app.state.app.settings.default_area
        for area in sorted({row.cells.get("area") or default_area or "" for row in rows} - {""}):
            _reach(request, token, area, "a figure in the file")
        if token.measures is not None:
            outside = sorted({row.cells.get("measure", "") for row in rows} - set(token.measures))
            if outside:
                raise Problem(403, "Forbidden", f"this token may submit figures only for: {', '.join(token.measures)}; not {', '.join(outside)}")
        return imports.import_figures(
            store,
            rows,
            store.metadata,
            default_area=request.app.state.app.settings.default_area,
            period_margin_days=request.app.state.app.settings.period_margin_days,
            name="request body",
            problems=problems,
            unit=unit,
        )

    return await run_in_threadpool(_import, request, token, text, format, imports.FIGURE_COLUMNS, imports.FIGURE_OPTIONAL, run)


# -- editions (editors) -------------------------------------------------------------------------


class PersonIn(_In):
    name: str = Field(max_length=200)
    job_title: str = Field("", max_length=200)


class ContactIn(_In):
    name: str = Field(max_length=200)
    email: str = Field("", max_length=200)
    phone: str = Field("", max_length=60)


class EditionIn(_In):
    edition: str = Field(max_length=80, examples=["2022-02"])
    title: str = Field(max_length=2000)
    area: Optional[str] = Field(None, max_length=80)
    authors: list[PersonIn] = Field(max_length=50)
    lead_contact: ContactIn


class EditionChangesIn(_In):
    reason: str = Field(max_length=2000)
    title: Optional[str] = Field(None, max_length=2000)
    authors: Optional[list[PersonIn]] = Field(None, max_length=50)
    lead_contact: Optional[ContactIn] = None
    data_cutoff: Optional[str] = Field(
        None, max_length=40, examples=["2021-12-31"],
        description="The edition's data cut-off, the last day of a month: it covers its area's figures for periods ending by it.",
    )  # fmt: skip


class ApplicabilityIn(_In):
    applicable: bool
    reason: str = Field(max_length=2000)


class ParagraphIn(_In):
    section: str = Field(max_length=80, examples=["force-statement"])
    text: str = Field(max_length=20000)
    heading: str = Field("", max_length=2000)
    priority: Optional[str] = None
    footnotes: list[str] = Field(default_factory=list, max_length=20)


class ParagraphRevisionIn(_In):
    text: str = Field(max_length=20000)
    reason: str = Field(max_length=2000)
    heading: Optional[str] = Field(None, max_length=2000)
    footnotes: Optional[list[str]] = Field(None, max_length=20)


class LiteralIn(_In):
    literal: str = Field(max_length=200)
    reason: str = Field(max_length=2000)


class ApprovalIn(_In):
    reason: Optional[str] = Field(None, max_length=2000)


class NoticeOut(BaseModel):
    kind: str = Field(examples=["correction"])
    subject: str = Field(examples=["Robbery, January to December 2021"])
    what: str = Field(examples=["7,509 became 7,519"])
    reason: str = Field(examples=["10 offences missed"])
    scale: str
    impact: str


class ApprovalChangesOut(BaseModel):
    """What publishing the approved revision changes against the last released revision (none: never released)."""

    revision: int
    against_revision: Optional[int]
    notices: list[NoticeOut]


class ApprovalOut(WriteOut):
    changes: ApprovalChangesOut


Number = Annotated[int, Path(ge=1, le=100_000)]


@router.post("/editions", tags=["editions"], status_code=201, responses=WRITE_RESPONSES, summary="Open an edition")
def open_edition(request: Request, token: Editor, body: EditionIn) -> JSONResponse:
    area = request.app.state.app.settings.default_area if body.area is None else body.area  # "" is refused, not the default
    _reach(request, token, area, f"edition {body.edition!r}")
    return _write(
        request,
        token,
        body,
        lambda store: edition_handlers.open_edition(
            store,
            body.edition,
            area=area,
            title=body.title,
            authors=[a.model_dump() for a in body.authors],
            lead_contact=body.lead_contact.model_dump(),
            metadata=store.metadata,
        ),
        status=201,
    )


@router.get("/editions/{edition}", tags=["editions"], summary="An edition as it stands, with every problem blocking approval")
def show_edition(request: Request, token: Reader, edition: Slug, response: Response) -> dict:
    store = request.app.state.store
    view, released = access.edition_as_it_stands(store, request.app.state.reads, edition)
    allowed = access.read_edition(store, token, edition, released=released, clock=request.app.state.app.clock)
    _record(request, token, allowed, f"edition {edition} as it stands at position {view.position}", edition=edition)
    response.headers.update(etag(view.version))
    state = view.state
    return {
        "edition": edition,
        "version": view.version,
        "position": view.position,
        "title": state.title,
        "area": state.area,
        "data_cutoff": view.coverage.cutoff.isoformat() if view.coverage.cutoff else None,
        "data_cutoff_declared": state.declared_cutoff is not None,
        "paragraphs": [
            {
                "number": number,
                "section": paragraph.section,
                "heading": paragraph.heading,
                "text": paragraph.text,
                "rendered": view.rendered(paragraph.text),
            }
            for number, paragraph in sorted(state.paragraphs.items())
        ],
        "problems": [str(problem) for problem in view.problems()],
    }


@router.patch("/editions/{edition}", tags=["editions"], responses=WRITE_RESPONSES, summary="Amend an edition's details")
def amend_edition(request: Request, token: Editor, edition: Slug, body: EditionChangesIn) -> JSONResponse:
    changes = body.model_dump(exclude={"reason"}, exclude_none=True)
    return _write_edition(
        request,
        token,
        edition,
        body,
        lambda store: edition_handlers.amend_edition(store, edition, reason=body.reason, metadata=store.metadata, **changes),
    )


@router.put(
    "/editions/{edition}/applicability/{priority}",
    tags=["editions"],
    responses=WRITE_RESPONSES,
    summary="Whether a national priority applies to the area, and why (Order paragraph 7A(b))",
)
def assess(request: Request, token: Editor, edition: Slug, priority: Slug, body: ApplicabilityIn) -> JSONResponse:
    return _write_edition(
        request,
        token,
        edition,
        body,
        lambda store: edition_handlers.assess_priority(store, edition, priority, body.applicable, body.reason, store.metadata),
    )


@router.post(
    "/editions/{edition}/paragraphs/{number}",
    tags=["editions"],
    status_code=201,
    responses=WRITE_RESPONSES,
    summary="Write a numbered paragraph",
)
def write_paragraph(request: Request, token: Editor, edition: Slug, number: Number, body: ParagraphIn) -> JSONResponse:
    return _write_edition(
        request,
        token,
        edition,
        body,
        lambda store: edition_handlers.write_paragraph(
            store,
            edition,
            number,
            section=body.section,
            text=body.text,
            heading=body.heading,
            priority=body.priority,
            footnotes=body.footnotes,
            metadata=store.metadata,
        ),
        status=201,
    )


@router.put(
    "/editions/{edition}/paragraphs/{number}",
    tags=["editions"],
    responses=WRITE_RESPONSES,
    summary="Revise a paragraph, with a reason",
)
def revise_paragraph(request: Request, token: Editor, edition: Slug, number: Number, body: ParagraphRevisionIn) -> JSONResponse:
    return _write_edition(
        request,
        token,
        edition,
        body,
        lambda store: edition_handlers.revise_paragraph(
            store,
            edition,
            number,
            text=body.text,
            reason=body.reason,
            heading=body.heading,
            footnotes=body.footnotes,
            metadata=store.metadata,
        ),
    )


@router.post(
    "/editions/{edition}/paragraphs/{number}/removal",
    tags=["editions"],
    responses=WRITE_RESPONSES,
    summary="Remove a paragraph, with a reason",
)
def remove_paragraph(request: Request, token: Editor, edition: Slug, number: Number, body: ReasonIn) -> JSONResponse:
    return _write_edition(
        request,
        token,
        edition,
        body,
        lambda store: edition_handlers.remove_paragraph(store, edition, number, body.reason, store.metadata),
    )


@router.post(
    "/editions/{edition}/paragraphs/{number}/literals",
    tags=["editions"],
    responses=WRITE_RESPONSES,
    summary="Confirm a number typed into a paragraph is not a recorded figure",
)
def confirm_literal(request: Request, token: Editor, edition: Slug, number: Number, body: LiteralIn) -> JSONResponse:
    return _write_edition(
        request,
        token,
        edition,
        body,
        lambda store: edition_handlers.confirm_literal(store, edition, number, body.literal, body.reason, store.metadata),
    )


@router.post(
    "/editions/{edition}/approvals",
    tags=["editions"],
    status_code=201,
    responses={**WRITE_RESPONSES, 201: {"model": ApprovalOut}},
    summary="Approve the edition: freeze it at the current log position",
)
def approve(request: Request, token: Editor, edition: Slug, body: ApprovalIn) -> JSONResponse:
    """Answers what was written and `changes`: against the last released revision, what publishing
    this revision changes in the published numbers and text (the CLI's `edition approve` prints the same)."""
    _reach_edition(request, token, edition)
    out, _ = perform(
        request,
        token,
        body,
        lambda store: edition_handlers.approve_edition(
            store, edition, store.metadata, reason=body.reason, projections=request.app.state.reads.projections
        ),
        if_match_stream=edition_stream(edition),
    )
    if out is None:
        return _answer(out)
    store, app = request.app.state.store, request.app.state.app
    # From the approval as recorded, so a replay of the request answers the same changes.
    (approved,) = store.read_all(out.last_position, as_of_position=out.last_position)
    changes = approval_changes(
        store, edition, approved.data["revision"], app.releases.released(edition),
        projections=request.app.state.reads.caught_up_to(out.last_position),
    )  # fmt: skip
    return _answer(out, 201, extra={"changes": changes.as_json()})
