"""Who may read what before it is released: least privilege, as the Code of Practice for Statistics
asks (T3.3: access before release is limited to those producing the statistics and preparing the
release, and recorded; T3.4: anyone else sees the final form only if named, with a reason, on the
release's pre-release access list, which the Pre-release Access to Official Statistics Order 2008
limits to the 24 hours before publication).

Released material (what the public channels already show) any token may read, and nothing is
recorded. Unreleased material:
- a figure: the data owners who may write that measure, and editors (who write the statement from it);
- an edition as it stands: editors, and tokens granted pre-release access to that edition, from
  24 hours before its confirmed release time;
- the log and its projections: auditors (quality assurance and audit, T3.3).
Every read of unreleased material that is allowed is recorded: who, what, when, and on what basis.

In a hub serving many forces, a token of an organisation reaches only the areas it owns: its data
owners and editors never write, nor read before release, another organisation's figures and
editions (`reach`), whatever their role would otherwise allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Mapping

from ..calendar import PreReleaseAccessRecorded, parse_zoned
from ..errors import DomainError
from .organisations import reaches
from .tokens import Token

# The Pre-release Access to Official Statistics Order 2008, Schedule para. 3: no more than 24 hours.
PRE_RELEASE_WINDOW = timedelta(hours=24)
PRE_RELEASE_STREAM = "pre-release-access"
Basis = Literal["production", "grant", "audit"]


class ReadRefused(DomainError):
    """A read of unreleased material by a token that may not see it (403)."""


class OutOfReach(ReadRefused):
    """A token of one organisation touching another's area (403)."""


def reach(reader: Token, area: str, organisations: Mapping[str, Any], what: str) -> None:
    """Refuse `what` (a figure, an edition) in `area` to a token of an organisation that does not own it."""
    if not reaches(reader.organisation, organisations, area):
        raise OutOfReach(
            f"{what} is for area {area!r}, which organisation {reader.organisation!r} does not own: a token of an "
            "organisation writes, and reads before release, only its own areas' figures and editions"
        )


@dataclass(frozen=True)
class Allowed:
    """A read that may go ahead; `basis` None: released material, nothing to record."""

    basis: Basis | None

    @property
    def recorded(self) -> bool:
        return self.basis is not None


RELEASED = Allowed(None)


@dataclass(frozen=True)
class Grant:
    """One entry of a release's pre-release access list that names an API token."""

    token_id: str
    person: str


def visible_measures(reader: Token, measures: list) -> list:
    """The measures a token lists: a data owner limited to named measures sees only those."""
    if reader.role == "data-owner" and reader.measures is not None:
        return [m for m in measures if m.measure in reader.measures]
    return measures


def read_figure(
    reader: Token, measure: str, key: str, *, released: bool, area: str | None = None, organisations: Mapping[str, Any] | None = None
) -> Allowed:
    if released:
        return RELEASED
    if area is not None and organisations is not None:
        reach(reader, area, organisations, f"figure {key}")
    if reader.role == "editor" or (reader.role == "data-owner" and reader.may_submit_for(measure)):
        return Allowed("production")
    if reader.role == "data-owner":
        raise ReadRefused(_limited(reader, measure))
    raise ReadRefused(
        f"figure {key} has not been released: before its release only the data owners of {measure!r} and "
        f"editors may read it (Code of Practice T3.3); a {reader.role} token sees it once it is released, at /public"
    )


def read_edition(
    reader: Token,
    edition: str,
    *,
    released: bool,
    grants: list[Grant],
    release_at: str | None,
    confirmed: bool,
    now: datetime,
    area: str | None = None,
    organisations: Mapping[str, Any] | None = None,
) -> Allowed:
    """`release_at`/`confirmed`: the edition's release on the calendar (None: not announced)."""
    if released:
        return RELEASED
    if area is not None and organisations is not None:
        reach(reader, area, organisations, f"edition {edition!r}")
    if reader.role == "editor":
        return Allowed("production")
    if not any(grant.token_id == reader.token_id for grant in grants):
        raise ReadRefused(
            f"edition {edition!r} has not been released: before its release only editors and the people on its "
            f"pre-release access list may read it (Code of Practice T3.4); an admin grants access with "
            f"`policing-metrics pre-release grant {edition} --token {reader.token_id} --reason ...`"
        )
    if release_at is None or not confirmed:
        raise ReadRefused(
            f"pre-release access to {edition!r} opens 24 hours before its confirmed release time, and it has none yet"
        )
    opens = parse_zoned(release_at) - PRE_RELEASE_WINDOW
    if now < opens:
        raise ReadRefused(
            f"pre-release access to {edition!r} opens at {opens.isoformat()}, 24 hours before its release at {release_at} "
            "(Pre-release Access to Official Statistics Order 2008)"
        )
    return Allowed("grant")


def read_log(reader: Token) -> Allowed:
    """Auditors (the only role the audit endpoints admit) read the log and its projections as of any
    moment; each read is recorded, since the log as it stands holds whatever is not yet released."""
    if reader.role != "auditor":
        raise ReadRefused(f"a {reader.role} token may not read the log: it needs the role auditor")
    return Allowed("audit")


def record(reader: Token, allowed: Allowed, *, what: str, edition: str | None, now: str) -> PreReleaseAccessRecorded:
    """The entry on the pre-release access list for one allowed read of unreleased material."""
    return PreReleaseAccessRecorded(
        edition=edition, person=reader.name, what=what, accessed_at=now, granted=True, basis=allowed.basis
    )


def _limited(reader: Token, measure: str) -> str:
    return f"this token may read and submit figures only for: {', '.join(reader.measures or ())}; not {measure!r}"
