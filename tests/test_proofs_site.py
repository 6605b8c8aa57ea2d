"""What an edition publishes so that anyone can check it without the database (issue 17; docs/proofs.md):
proofs in edition.json, checkpoints, consistency proofs and keys on the site, and `proof check`.

Given the example published (revision 1, then a correction, revision 2, with a second edition approved
but unreleased in between), when a reader runs `proof check` on the site, then it passes; and each way
the published record can be falsified fails, naming what: a tampered figure, a proof for another tree
size, a checkpoint signed by another key, a fork.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil

import pytest
from typer.testing import CliRunner

from events.notes import Checkpoint, SigningKey, open_checkpoint, sign_checkpoint
from publishers.proofcheck import check
from publishers.stores import LocalDirectory
from service.cli import cli
from service.handlers.publishing import CheckpointFork, Publishing

from .publish_support import (  # noqa: F401  (fixtures)
    EDITION,
    SITE_URL,
    VERSION,
    another_edition,
    clock,
    correct_burglary,
    example_database,
    example_store,
    rewrite_edition,
)
from .serving import StaticSite
from .test_go_interop import go_interop  # noqa: F401  (fixture)

KEY = SigningKey.generate("statements.example.org/west-midlands")
OTHER_KEY = SigningKey.generate("statements.example.org/west-midlands")
UNRELEASED = ("2022-05", "not yet released", "2021-04/2022-03")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def site(example_store, clock, tmp_path) -> LocalDirectory:
    """r1 released; a second edition approved, unreleased; then r2 (a correction) frozen after it."""
    publishing = Publishing(example_store, site_url=SITE_URL, software_version=VERSION, clock=clock, signing_key=KEY)
    to = LocalDirectory(tmp_path / "site")
    publishing.publish(EDITION, to=to, now=True, override_reason="a test publishes at once", actor="test")
    another_edition(example_store, "2022-05")
    correct_burglary(example_store, clock)
    publishing.publish(EDITION, to=to)
    return to


def key_file(tmp_path, key: SigningKey = KEY) -> str:
    path = tmp_path / "checkpoint.pub"
    path.write_text(f"{key.verifier()}\n")
    return str(path)


def edition(site: LocalDirectory, revision: int) -> dict:
    return json.loads(site.get(f"editions/{EDITION}/r{revision}/edition.json"))


def homicide(document: dict) -> dict:
    return next(f for f in document["figures"] if f["measure"] == "homicide" and f["period"] == "2021-01/2021-12")


def approved(document: dict, item: dict) -> dict:
    """What the revision's approval names for a published figure or paragraph."""
    content = document["approval"]["data"]["content"]
    if "measure" in item:
        return next(f for f in content["figures"] if (f["measure"], f["area"], f["period"]) == (item["measure"], item["area"], item["period"]))
    return next(p for p in content["paragraphs"] if p["number"] == item["number"])


def test_the_approval_and_a_proof_of_each_source_event_against_the_checkpoint_the_manifest_names(site, example_store):
    for revision in (1, 2):
        document = edition(site, revision)
        manifest = json.loads(site.get(f"editions/{EDITION}/r{revision}/manifest.json"))
        approval = document["approval"]
        size = approval["position"]  # the tree runs to the approval, which names what the revision publishes
        assert document["proof_format"] == 2 and manifest["frozen_at"]["position"] < size
        assert (approval["type"], approval["stream"], approval["schema_version"]) == ("EditionApproved", f"edition-{EDITION}", 2)
        assert approval["data"]["revision"] == revision and approval["data"]["position"] == manifest["frozen_at"]["position"]
        assert manifest["checkpoint"] == document["checkpoint"] == {
            "size": size, "root_hash": base64.b64encode(example_store.tree_root(size)).decode(), "key": f"checkpoints/{size}",
        }  # fmt: skip
        checkpoint, _ = open_checkpoint(site.get(f"checkpoints/{size}"), [KEY.verifier()])
        assert (checkpoint.origin, checkpoint.size) == (KEY.name, size)
        for item in document["figures"] + document["paragraphs"]:
            assert set(item["proof"]) == {"tree_size", "inclusion_proof"}  # no event of its own is published
            assert item["proof"]["tree_size"] == size and item["position"] == approved(document, item)["position"] <= manifest["frozen_at"]["position"]
        assert len(approval["data"]["content"]["figures"]) == len(document["figures"])
        assert len(approval["data"]["content"]["paragraphs"]) == len(document["paragraphs"])
    assert approved(edition(site, 1), homicide(edition(site, 1)))["value"] == "46"
    assert site.get("checkpoint") == site.get(f"checkpoints/{edition(site, 2)['checkpoint']['size']}")
    assert site.get("checkpoint.pub").decode() == f"{KEY.verifier()}\n"
    page = site.get(f"editions/{EDITION}/r1/index.html").decode()
    assert 'href="../../../proofs/"' in page and "how to check this statement" in page


def test_proof_check_of_the_whole_site_passes_with_the_deployments_key(site, tmp_path):
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 0, result.output
    assert "ok: 2 checkpoint(s), 1 consistency proof(s), 2 edition(s)" in result.output


def test_proof_check_reads_the_site_over_http_and_a_downloaded_edition_against_a_kept_checkpoint(site, tmp_path):
    with StaticSite(site.root) as url:
        result = run("proof", "check", url, "--key", key_file(tmp_path))
        assert result.exit_code == 0, result.output
        revision = run("proof", "check", f"{url}editions/{EDITION}/r1/", "--key", key_file(tmp_path))
        assert revision.exit_code == 0 and "1 edition(s)" in revision.output, revision.output
    downloaded = tmp_path / "downloaded"
    shutil.copytree(site.root / f"editions/{EDITION}/r1", downloaded)
    size = edition(site, 1)["checkpoint"]["size"]
    (tmp_path / "kept").write_bytes(site.get(f"checkpoints/{size}"))
    result = run("proof", "check", str(downloaded), "--key", key_file(tmp_path), "--checkpoint", str(tmp_path / "kept"))
    assert result.exit_code == 0 and "1 edition(s)" in result.output, result.output


def test_a_tampered_figure_fails_naming_the_figure_and_what_its_event_says(site, tmp_path):
    rewrite_edition(site, 1, lambda d: homicide(d).update(value="47"))
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1
    position = edition(site, 1)["approval"]["position"]
    assert f"tampered figure homicide west-midlands 2021-01/2021-12: edition.json says value '47', but its approval (position {position}) says '46'" in result.output


def test_a_figure_tampered_together_with_its_approval_is_no_longer_in_the_signed_tree(site, tmp_path):
    def both(document):
        homicide(document).update(value="47")
        approved(document, homicide(document))["value"] = "47"

    rewrite_edition(site, 1, both)
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1
    assert "tampered edition 2022-02 revision 1: approval: its event at position" in result.output
    assert "hashes to" in result.output

    def rehashed(document):  # the forger also states the approval's new hash: the tree does not hold it
        from publishers.proofcheck import event_hash_of

        document["approval"]["hash"] = event_hash_of(document["approval"])

    rewrite_edition(site, 1, rehashed)
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1 and "does not lead to the root" in result.output


def test_a_source_proof_that_does_not_lead_to_the_root_fails_naming_the_figure(site, tmp_path):
    def forged(document):
        homicide(document)["proof"]["inclusion_proof"][0] = base64.b64encode(hashlib.sha256(b"x").digest()).decode()

    rewrite_edition(site, 1, forged)
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    position = homicide(edition(site, 1))["position"]
    assert result.exit_code == 1
    assert (
        "tampered figure homicide west-midlands 2021-01/2021-12: the event its approval (position "
        f"{edition(site, 1)['approval']['position']}) names at position {position} is not in the tree"
    ) in result.output

    rewrite_edition(site, 1, lambda d: homicide(d).update(position=position + 1, proof=homicide(edition(site, 2))["proof"]))
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1 and f"its position {position + 1} is not the {position} its approval" in result.output


def test_a_paragraph_tampered_fails(site, tmp_path):
    rewrite_edition(site, 2, lambda d: d["paragraphs"][0].update(template="Nothing to see here."))
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1 and "tampered paragraph 1: edition.json says text 'Nothing to see here.'" in result.output


def test_a_proof_for_another_tree_size_fails_naming_both_sizes(site, tmp_path):
    size = edition(site, 1)["checkpoint"]["size"]
    rewrite_edition(site, 1, lambda d: homicide(d)["proof"].update(tree_size=size + 1))
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1
    assert f"proof for another tree size: edition 2022-02 revision 1: figure homicide west-midlands 2021-01/2021-12: its proof is for a tree of {size + 1} events, but the edition's checkpoint is of {size}" in result.output


def test_checkpoints_signed_by_another_key_fail_with_exit_3(site, tmp_path):
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path, OTHER_KEY))
    assert result.exit_code == 3
    assert "signature: " in result.output and "is not signed by the key(s) given, but by another key" in result.output


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork_exit_4(site, tmp_path):
    size = edition(site, 1)["checkpoint"]["size"]
    forged = sign_checkpoint(Checkpoint(KEY.name, size, hashlib.sha256(b"a rewritten log").digest()), KEY)
    (tmp_path / "kept").write_text(forged)
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path), "--checkpoint", str(tmp_path / "kept"))
    assert result.exit_code == 4
    assert f"fork: two checkpoints of size {size} with different roots" in result.output


def test_a_consistency_proof_that_does_not_hold_fails_exit_4(site, tmp_path):
    [entry] = json.loads(site.get("proofs/index.json"))["consistency"]
    proof = json.loads(site.get(entry["key"]))
    proof["proof"][0] = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    (site.root / entry["key"]).write_text(json.dumps(proof))
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 4 and "does not extend" in result.output


def test_publishing_refuses_a_checkpoint_whose_root_the_log_no_longer_gives(site, example_store, clock):
    size = edition(site, 1)["checkpoint"]["size"]
    (site.root / f"checkpoints/{size}").write_text(sign_checkpoint(Checkpoint(KEY.name, size, b"\x01" * 32), KEY))
    publishing = Publishing(example_store, site_url=SITE_URL, software_version=VERSION, clock=clock, signing_key=KEY)
    with pytest.raises(CheckpointFork, match=f"the log's tree of {size} events now has root"):
        publishing.refresh_site(site, refresh=[EDITION])


def test_a_new_key_adds_its_signature_and_keeps_the_old_ones(site, example_store, clock, tmp_path):
    publishing = Publishing(example_store, site_url=SITE_URL, software_version=VERSION, clock=clock, signing_key=OTHER_KEY)
    publishing.refresh_site(site, refresh=[EDITION])
    assert site.get("checkpoint.pub").decode() == f"{KEY.verifier()}\n{OTHER_KEY.verifier()}\n"
    for key in (KEY, OTHER_KEY):
        assert check(site, [key.verifier()]).problems == []


def test_nothing_unreleased_is_named_by_the_proofs_checkpoints_or_their_index(site, example_store):
    """The second edition is approved (its events lie inside r2's tree), never released."""
    published = {key: site.get(key).decode() for key in site.list() if key.startswith(("checkpoint", "proofs/", "editions/"))}
    for key, text in published.items():
        for word in UNRELEASED:
            assert word not in text, (key, word)
    sizes = {c["size"] for c in json.loads(site.get("proofs/index.json"))["checkpoints"]}
    released = {edition(site, r)["checkpoint"]["size"] for r in (1, 2)}
    assert sizes == released  # the unreleased approval's position is no checkpoint
    assert set(site.list("checkpoints/")) == {f"checkpoints/{size}" for size in released}
    for key, text in published.items():  # the only event published is each revision's own approval
        if key.endswith("edition.json"):
            document = json.loads(text)
            assert not any("events" in item["proof"] for item in document["figures"] + document["paragraphs"])
            assert document["approval"]["stream"] == f"edition-{EDITION}"


@pytest.fixture
def cli_site(database_url, tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.setenv("POLICING_METRICS_DATABASE_URL", database_url)
    monkeypatch.setenv("POLICING_METRICS_PUBLISH_TO", str(site))
    assert run("keys", "create", "--name", "statements.example.org/west-midlands", "--out", str(tmp_path / "key"),
               "--public-out", str(tmp_path / "key.pub")).exit_code == 0  # fmt: skip
    monkeypatch.setenv("POLICING_METRICS_SIGNING_KEY_FILE", str(tmp_path / "key"))
    assert run("db", "upgrade").exit_code == 0
    assert run("demo", "--publish-now").exit_code == 0
    return site, tmp_path / "key.pub"


def test_on_either_engine_the_deployment_key_signs_what_publish_writes_and_proof_check_passes(cli_site):
    site, public = cli_site
    result = run("proof", "check", str(site), "--key", str(public))
    assert result.exit_code == 0, result.output
    assert "ok: 1 checkpoint(s), 0 consistency proof(s), 1 edition(s)" in result.output
    assert (site / "checkpoint.pub").read_text() == public.read_text()


def test_the_worked_example_in_docs_proofs_md_checks_the_published_homicide_figure(site, capsys):
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "proofs.md").read_text()
    start = text.index("import base64, hashlib, json, rfc8785")
    snippet = text[start : text.index("```", start)].replace('site = "var/public/"', f'site = "{site.root}/"')
    exec(compile(snippet, "docs/proofs.md", "exec"), {})
    assert "homicide 2021 = 46, at position 23 in the tree of" in capsys.readouterr().out


def test_go_checks_the_published_sites_checkpoints_inclusion_and_consistency_proofs(site, go_interop):
    """Go's note and tlog packages read the site's own files: every checkpoint opens under the published
    key, every figure's and paragraph's leaf is in its edition's tree, the consistency proof holds."""
    from events.merkle import event_leaf_hash
    from publishers.proofcheck import event_hash_of

    from .test_go_interop import ask_go

    index = json.loads(site.get("proofs/index.json"))
    notes = [site.get(c["key"]).decode() for c in index["checkpoints"]]
    inclusion = []
    for revision in (1, 2):
        document = edition(site, revision)
        size, root = document["checkpoint"]["size"], document["checkpoint"]["root_hash"]
        approval = document["approval"]
        leaf = base64.b64encode(event_leaf_hash(event_hash_of(approval))).decode()
        inclusion.append({"index": approval["position"] - 1, "size": size, "root": root, "leaf": leaf, "proof": approval["inclusion_proof"]})
        for item in document["figures"] + document["paragraphs"]:  # the source hash the approval names, at its position
            leaf = base64.b64encode(event_leaf_hash(approved(document, item)["hash"])).decode()
            inclusion.append({"index": item["position"] - 1, "size": size, "root": root, "leaf": leaf,
                              "proof": item["proof"]["inclusion_proof"]})  # fmt: skip
    consistency = []
    for entry in index["consistency"]:
        proof = json.loads(site.get(entry["key"]))
        consistency.append({"old": proof["old_size"], "new": proof["new_size"], "old_root": proof["old_root_hash"],
                            "new_root": proof["new_root_hash"], "proof": proof["proof"]})  # fmt: skip
    tampered = {**inclusion[0], "leaf": inclusion[1]["leaf"]}
    answer = ask_go(go_interop, {"vkey": site.get("checkpoint.pub").decode().strip(), "notes": notes,
                                 "inclusion": inclusion + [tampered], "consistency": consistency})  # fmt: skip
    assert [n["ok"] for n in answer["notes"]] == [True] * len(notes), answer["notes"]
    assert [n["text"] for n in answer["notes"]] == [note[: note.index("\n\n") + 1] for note in notes]
    assert [c["ok"] for c in answer["inclusion"]] == [True] * len(inclusion) + [False]
    assert [c["ok"] for c in answer["consistency"]] == [True] * len(consistency) == [True]


def test_publish_with_a_signing_key_file_that_is_not_a_key_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICING_METRICS_DATABASE_URL", f"sqlite:///{tmp_path / 'log.db'}")
    (tmp_path / "key").write_text("not a key\n")
    monkeypatch.setenv("POLICING_METRICS_SIGNING_KEY_FILE", str(tmp_path / "key"))
    assert run("db", "upgrade").exit_code == 0
    assert run("examples", "load").exit_code == 0
    result = run("publish", EDITION, "--to", str(tmp_path / "site"), "--now", "--override-reason", "a test")
    assert result.exit_code == 2
    assert "POLICING_METRICS_SIGNING_KEY_FILE" in result.output and "a private key is PRIVATE+KEY+NAME" in result.output
    assert not (tmp_path / "site").exists()


def test_a_scorecard_value_that_is_not_its_proven_figure_fails(site, tmp_path):
    def change(document):
        line = next(line for line in document["scorecard"] if line["measure"] == "homicide")
        line["value"] = "47"

    rewrite_edition(site, 1, change)
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1
    assert "tampered scorecard line homicide west-midlands 2021-01/2021-12: it says '47', but the proven figure says '46'" in result.output


@pytest.mark.parametrize(
    "where, said",
    [("series", "a trend's point"), ("series-extra", "a point no figure proves")],
)
def test_a_trend_point_that_is_not_a_proven_figure_fails(site, tmp_path, where, said):
    def change(document):
        line = next(line for line in document["scorecard"] if line["measure"] == "homicide")
        if where == "series":
            next(point for point in line["series"] if point["period"] == "2021-01/2021-12")["value"] = "47"
        else:
            line["series"].append({"period": "2023-01/2023-12", "value": "31337"})

    rewrite_edition(site, 1, change)
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1, said
    expected = (
        "tampered scorecard line homicide west-midlands 2021-01/2021-12: it says '47', but the proven figure says '46'"
        if where == "series"
        else "tampered scorecard line homicide west-midlands 2023-01/2023-12: it says '31337', but no proven figure is of that period"
    )
    assert expected in result.output


def test_a_figure_left_out_or_another_revisions_approval_fails_naming_it(site, example_store, tmp_path):
    rewrite_edition(site, 1, lambda d: d["figures"].remove(homicide(d)))
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1
    assert "names figure homicide west-midlands 2021-01/2021-12, which it leaves out" in result.output

    # Revision 1's approval, with a true proof that it is in revision 2's tree: it is still not revision 2's.
    first, size = edition(site, 1)["approval"], edition(site, 2)["checkpoint"]["size"]
    proof = [base64.b64encode(h).decode() for h in example_store.inclusion_proof(first["position"], size)]
    rewrite_edition(site, 2, lambda d: d.update(approval={**first, "inclusion_proof": proof}))
    result = run("proof", "check", str(site.root), "--key", key_file(tmp_path))
    assert result.exit_code == 1
    assert f"it approves revision 1 frozen at {first['data']['position']}, not this revision frozen at" in result.output
