"""The 43 territorial police force areas of England and Wales, by ONS code and name.

Reference data shipped with the package (`data/police-force-areas.json`, which says its source
and date), read like zoneinfo's: immutable, no I/O beyond the package itself. An area is named
by its id (`kent`), its ONS/GSS code (`E23000032`) or its name as people write it ("Kent",
"Kent Police", "Devon and Cornwall Constabulary"); `area_id` turns each into the id. Sub-areas
(a local policing unit) are named by their own ids, which are not in this list.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from importlib import resources
from typing import NamedTuple


class ForceArea(NamedTuple):
    code: str  # E23000032
    name: str  # the ONS name: Kent; Devon & Cornwall; London, City of
    area: str  # the id: kent


GSS_CODE = re.compile(r"^[EW]\d{8}$", re.I)
_SUFFIXES = ("police force", "police", "constabulary", "police area", "police force area")


@cache
def force_areas() -> tuple[ForceArea, ...]:
    document = json.loads(resources.files(__package__).joinpath("data", "police-force-areas.json").read_text("utf-8"))
    return tuple(ForceArea(a["code"], a["name"], a["area"]) for a in document["areas"])


def _key(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).split()
    return " ".join(words)


@cache
def _by_name() -> dict[str, ForceArea]:
    names: dict[str, ForceArea] = {}
    for force in force_areas():
        bases = {_key(force.name), _key(force.area.replace("-", " "))}
        if force.name == "London, City of":
            bases |= {"city of london"}
        if force.area == "metropolitan":
            bases |= {"metropolitan police service", "metropolitan", "met"}
        for base in bases:
            names[base] = force
            for suffix in _SUFFIXES:
                names[f"{base} {suffix}"] = force
    return names


def force_area(text: str) -> ForceArea | None:
    """The force area `text` names (id, code or name), or None."""
    if not isinstance(text, str):
        return None
    return _force_area(text)


@lru_cache(maxsize=65536)
def _force_area(text: str) -> ForceArea | None:
    """Cached: a bulk import names the same areas thousands of times."""
    stripped = text.strip()
    if GSS_CODE.match(stripped):
        return next((f for f in force_areas() if f.code == stripped.upper()), None)
    return _by_name().get(_key(stripped))
