"""Organisations: a force or a PCC's office that owns areas in a hub serving many of them. One
force's tokens can be scoped to it (events.domain.rules.access), so its data owners and editors
never write or read another's unreleased figures and editions.

Stream: `organisations` (one stream, so no area is ever given to two organisations).
"""

from __future__ import annotations

from pydantic import Field

from . import registry
from .fields import DomainEvent, Slug, Text

ORGANISATIONS_STREAM = "organisations"


@registry.event("OrganisationDefined")
class OrganisationDefined(DomainEvent):
    organisation: Slug
    name: Text = Field(min_length=1)
    areas: list[Slug] = Field(min_length=1)  # force area ids and sub-areas; each owned by one organisation
