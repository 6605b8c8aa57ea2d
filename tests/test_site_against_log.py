"""A log rewritten after publication, against what was published (issue 17, "today's hole").

Given the example published, when someone holding the database rewrites the log from position 23 on
(homicide for 2021 46 -> 47, and in the approval that names it) and re-hashes every later event by the
rule in docs/hash-chain.md, the chain verifies again, but every published manifest still names the head it was frozen at: then
`verify --site` and `site check` fail, naming the first edition that disagrees, its manifest's
position and hash and the log's.
"""

from __future__ import annotations

import json

import pytest
import rfc8785
from typer.testing import CliRunner

from events.database import make_engine
from service.cli import cli

from .conftest import rewrite_log
from .serving import StaticSite

HOMICIDE_2021 = 23  # the example's FigureRecorded homicide, west-midlands, 2021-01/2021-12, value 46
SITE_URL = "https://statements.example.org/"


def figure_only_47(position: int, data: str) -> str:
    """The figure's own event: 46 -> 47."""
    if position != HOMICIDE_2021:
        return data
    assert '"measure":"homicide"' in data and '"period":"2021-01/2021-12"' in data and '"value":"46"' in data
    return data.replace('"value":"46"', '"value":"47"')


def homicide_47(position: int, data: str) -> str:
    """The figure and every approval naming it (an approval states what its revision publishes): 46 -> 47,
    as a rewriter who read docs/proofs.md would."""
    if position == HOMICIDE_2021:
        return figure_only_47(position, data)
    approval = json.loads(data)
    for figure in (approval.get("content") or {}).get("figures", []) if isinstance(approval, dict) else ():
        if (figure["measure"], figure["area"], figure["period"]) == ("homicide", "west-midlands", "2021-01/2021-12"):
            assert figure["value"] == "46"
            figure["value"] = "47"
            return rfc8785.dumps(approval).decode()
    return data


@pytest.fixture
def published(database_url, tmp_path, monkeypatch):
    """The example loaded and published to a folder; returns (run, site folder, its manifest's frozen_at)."""
    site = tmp_path / "site"
    monkeypatch.setenv("POLICING_METRICS_PUBLISH_TO", str(site))
    monkeypatch.setenv("POLICING_METRICS_SITE_URL", SITE_URL)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    assert run("demo", "--publish-now").exit_code == 0
    frozen = json.loads((site / "editions/2022-02/r1/manifest.json").read_text())["frozen_at"]
    assert frozen["position"] > HOMICIDE_2021
    return run, site, frozen


def rewrite(database_url: str, edit=homicide_47, **options) -> None:
    engine = make_engine(database_url)
    try:
        rewrite_log(engine, HOMICIDE_2021, edit, **options)
    finally:
        engine.dispose()


def test_before_any_rewrite_verify_site_and_site_check_agree_with_the_log(published):
    run, site, frozen = published
    result = run("verify", "--site", str(site))
    assert result.exit_code == 0, result.output
    assert "every published revision at" in result.output and "(1) frozen at a head the log holds" in result.output
    assert run("site", "check").exit_code == 0


def test_a_log_rewritten_and_rehashed_from_position_23_verifies_alone_but_not_against_the_published_site(
    published, database_url
):
    run, site, frozen = published
    rewrite(database_url)
    assert run("verify").exit_code == 0  # the hole: the chain alone cannot see it
    assert json.loads(run("log", "--from", str(HOMICIDE_2021), "--limit", "1").stdout)["data"]["value"] == "47"
    rewritten = run("head").stdout.strip()
    log_hash = run("log", "--from", str(frozen["position"]), "--limit", "1").stdout
    log_hash = json.loads(log_hash)["hash"]
    assert log_hash != frozen["head_hash"] and not rewritten.endswith(frozen["head_hash"])

    expected = (
        f"edition 2022-02 revision 1 disagrees with the log: editions/2022-02/r1/manifest.json was frozen at "
        f"position {frozen['position']} with head hash {frozen['head_hash']}, but the log has {log_hash} there"
    )
    result = run("verify", "--site", str(site))
    assert result.exit_code == 1
    assert expected in result.output
    check = run("site", "check")
    assert check.exit_code == 1
    assert expected in check.output and "consistent" not in check.output
    size = json.loads((site / "editions/2022-02/r1/manifest.json").read_text())["checkpoint"]["size"]
    assert f"edition 2022-02 revision 1 disagrees with the log's tree: editions/2022-02/r1/manifest.json names the checkpoint of {size} events" in check.output


def test_a_rewrite_of_the_figure_alone_is_caught_by_verify_without_the_site(published, database_url):
    """The approval names what its revision publishes, and verify re-folds the log at its frozen position."""
    run, _, _ = published
    rewrite(database_url, edit=figure_only_47)
    result = run("verify")
    assert result.exit_code == 1
    assert (
        "approval disagrees with the log: edition 2022-02 revision 1: its approval (position 176) is not what the log "
        "held at its frozen position 175: figure homicide west-midlands 2021-01/2021-12: it says value '46', the log '47'"
    ) in result.output


def test_a_rewrite_that_also_drops_the_releases_is_caught_by_every_manifest_on_the_site(published, database_url):
    """Cut back to the frozen position, the log records no release at all: the manifests are still published."""
    run, site, frozen = published
    rewrite(database_url, keep_to=frozen["position"])
    assert run("verify").exit_code == 0
    expected = f"edition 2022-02 revision 1 disagrees with the log: editions/2022-02/r1/manifest.json was frozen at position {frozen['position']}"
    for command in (("verify", "--site", str(site)), ("site", "check")):
        result = run(*command)
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.output


def test_a_log_cut_short_before_a_published_head_is_named(published, database_url):
    run, site, frozen = published
    rewrite(database_url, keep_to=frozen["position"] - 1)
    result = run("verify", "--site", str(site))
    assert result.exit_code == 1
    assert f"position {frozen['position']} with head hash {frozen['head_hash']}, but the log has no event there: the log was cut short" in result.output


def test_verify_reads_the_site_over_http_as_the_public_does(published, database_url):
    run, site, frozen = published
    with StaticSite(site) as url:
        assert run("verify", "--site", url).exit_code == 0
        rewrite(database_url)
        result = run("verify", "--site", url)
    assert result.exit_code == 1
    assert f"was frozen at position {frozen['position']} with head hash {frozen['head_hash']}" in result.output


def test_verify_against_a_site_with_nothing_published_fails_rather_than_passing(published, tmp_path):
    run, _, _ = published
    result = run("verify", "--site", str(tmp_path / "empty"))
    assert result.exit_code == 1 and "nothing is published there" in result.output
