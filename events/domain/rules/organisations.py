"""Organisations own areas; an area belongs to at most one. A token of an organisation reaches only
its areas (`reaches`); a token of none (the hub's own) reaches every area, as before organisations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..errors import InvalidValue
from ..organisations import OrganisationDefined
from . import values


# The names the published site's root uses for itself (publishers: editions/, latest/, comparison/,
# proofs/, checkpoints/, the file `checkpoint`). An organisation's section is `{organisation}/` beside
# them, so one of these as its id would write its section over the hub's pages, or stop every
# release (`checkpoint/...` cannot be written where the file `checkpoint` is).
SITE_ROOT_NAMES = frozenset({"editions", "latest", "comparison", "proofs", "checkpoints", "checkpoint"})


@dataclass(frozen=True)
class Organisation:
    organisation: str
    name: str
    areas: frozenset[str]


def fold(events: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Organisation]:
    organisations: dict[str, Organisation] = {}
    for type_, data in events:
        if type_ == "OrganisationDefined":
            organisations[data["organisation"]] = Organisation(data["organisation"], data["name"], frozenset(data["areas"]))
    return organisations


def owner_of(organisations: Mapping[str, Organisation], area: str) -> Organisation | None:
    return next((o for o in organisations.values() if area in o.areas), None)


def define(organisations: Mapping[str, Organisation], organisation: str, name: str, areas: list[str]) -> OrganisationDefined:
    values.slug("organisation", organisation)
    if organisation in SITE_ROOT_NAMES:
        raise InvalidValue(
            "organisation", f"an id the published site's root does not use itself (not {', '.join(sorted(SITE_ROOT_NAMES))})", organisation
        )
    if organisation in organisations:
        raise InvalidValue("organisation", "an organisation not yet defined", organisation)
    name = values.text("name", name, required=True)
    if not areas:
        raise InvalidValue("areas", "at least one area the organisation owns, such as kent", "none")
    ids = []
    for area in areas:
        area_id = values.area("areas", area)  # Kent Police is kent
        owner = owner_of(organisations, area_id)
        if owner is not None:
            raise InvalidValue("areas", f"areas no other organisation owns; {area_id} is {owner.organisation}'s", area)
        if area_id not in ids:
            ids.append(area_id)
    return OrganisationDefined(organisation=organisation, name=name, areas=ids)


def section_of(organisations: Mapping[str, Organisation], area: str) -> str:
    """The organisation whose site section an edition of `area` is published in: its owner's id, or ""
    (the site's root) for an area no organisation owns. Fixed once for an edition, from the organisations as its first revision was
    approved (its frozen position), so a later definition never moves a published edition."""
    owner = owner_of(organisations, area)
    return owner.organisation if owner is not None else ""


def reaches(organisation: str | None, organisations: Mapping[str, Organisation], area: str) -> bool:
    """Whether a token of `organisation` (None: the hub's own) may touch `area`'s unreleased material."""
    if organisation is None:
        return True
    found = organisations.get(organisation)
    return found is not None and area in found.areas
