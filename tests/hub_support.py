"""Two forces in one deployment, each with a statement on the calendar: Kent's due a week before
Surrey's, on either engine, published to a local site by the real scheduler as a fake clock reaches
each release."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from events import Metadata
from events.notes import SigningKey
from publishers.stores import LocalDirectory
from service.handlers.organisations import define_organisation
from service.handlers.publishing import Publishing, for_scheduler
from service.scheduler import ReleaseScheduler

from .given import BASELINE, Y2021, a_figure, a_measure, an_approved_edition
from .publish_support import SITE_URL, VERSION, announce

ADMIN = Metadata(actor="admin")
KENT, SURREY = "kent-2022-02", "surrey-2022-02"
KENT_DUE, SURREY_DUE = "2026-01-07T09:30", "2026-01-14T09:30"
SURREY_FIGURE = "9931"  # Surrey's 2021 homicides: a value that shows wherever it leaks
KEY = SigningKey.generate("statements.example.org/hub")


@dataclass
class Hub:
    site: LocalDirectory
    publishing: Publishing
    scheduler: ReleaseScheduler

    def text(self, key: str) -> str:
        return self.site.get(key).decode("utf-8", "replace")

    def files(self) -> dict[str, str]:
        return {key: self.text(key) for key in self.site.list()}


def two_forces(store) -> None:
    """Kent Police and Surrey Police, each with its homicide baseline and 2021 figure."""
    define_organisation(store, "kent-police", "Kent Police", ["Kent"], ADMIN)
    define_organisation(store, "surrey-police", "Surrey Police", ["Surrey"], ADMIN)
    a_measure(store, "homicide")
    for area, baseline, latest in (("kent", "20", "17"), ("surrey", "7", SURREY_FIGURE)):
        a_figure(store, "homicide", BASELINE, baseline, area=area)
        a_figure(store, "homicide", Y2021, latest, area=area)


@pytest.fixture
def hub(store, clock, tmp_path) -> Hub:
    two_forces(store)
    an_approved_edition(store, KENT, "kent", title="Kent, February 2022")
    an_approved_edition(store, SURREY, "surrey", title="Surrey, February 2022")
    announce(store, clock, KENT, KENT_DUE)
    announce(store, clock, SURREY, SURREY_DUE)
    site = LocalDirectory(tmp_path / "site")
    publishing = Publishing(store, site_url=SITE_URL, software_version=VERSION, clock=clock, signing_key=KEY)
    return Hub(site, publishing, ReleaseScheduler(store, for_scheduler(publishing, lambda: site), clock=clock))


def at(clock, due: str, *, second_before: bool = False) -> None:
    """The fake clock at a release's time (London is on GMT in January), or a second before it."""
    day = int(due[8:10])
    clock.now = clock.now.replace(day=day, hour=9, minute=29 if second_before else 30, second=59 if second_before else 0)
