"""The signing key and signed checkpoints as an operator uses them: `keys create`, `checkpoint`, `tree`, and
`verify` on the stored tree. The private key lives in its file only."""

from __future__ import annotations

import base64
import stat

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from events import EventStore
from events.database import make_engine, upgrade
from events.merkle import MemoryTree, event_leaf_hash
from events.notes import SigningKey, VerifierKey, open_checkpoint
from events.tree import TABLE
from service.cli import cli

from .support import counted
from .support import registry as test_registry

ORIGIN = "police.example/west-midlands"


@pytest.fixture
def database(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    engine = make_engine(url)
    upgrade(engine)
    store = EventStore(engine, test_registry, clock=clock)
    for count in (1, 20, 3):
        store.append("s", [counted(count=i) for i in range(count)], expected_version=None)
    yield url, store, engine
    engine.dispose()


@pytest.fixture
def run(database, monkeypatch):
    url = database[0]
    monkeypatch.delenv("POLICING_METRICS_SIGNING_KEY_FILE", raising=False)
    runner = CliRunner()

    def invoke(*args: str, env: dict | None = None):
        return runner.invoke(cli, ["--database-url", url, *args], env=env, catch_exceptions=False)

    return invoke


def test_keys_create_writes_the_private_key_for_its_owner_only_and_prints_the_verifier_key(run, tmp_path):
    out = tmp_path / "signing.key"
    result = run("keys", "create", "--name", ORIGIN, "--out", str(out), "--public-out", str(tmp_path / "key.pub"))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = SigningKey.parse(out.read_text())
    verifier = VerifierKey.parse(result.stdout.strip())
    assert verifier == key.verifier() and verifier.name == ORIGIN
    assert (tmp_path / "key.pub").read_text() == f"{verifier}\n"
    assert out.read_text().strip().split("+")[-1] not in result.output  # the seed is never printed


def test_keys_create_never_overwrites_a_key_file_and_refuses_a_name_a_note_cannot_carry(run, tmp_path):
    out = tmp_path / "signing.key"
    out.write_text("an old key\n")
    refused = run("keys", "create", "--name", ORIGIN, "--out", str(out))
    assert refused.exit_code == 2 and "already exists" in refused.output
    assert out.read_text() == "an old key\n"
    bad_name = run("keys", "create", "--name", "two words", "--out", str(tmp_path / "other.key"))
    assert bad_name.exit_code == 2 and "--name" in bad_name.output
    assert not (tmp_path / "other.key").exists()


def test_checkpoint_prints_the_tree_of_the_whole_log_signed_with_the_configured_key(run, database, tmp_path):
    _, store, engine = database
    out = tmp_path / "signing.key"
    verifier = VerifierKey.parse(run("keys", "create", "--name", ORIGIN, "--out", str(out)).stdout.strip())
    result = run("checkpoint", env={"POLICING_METRICS_SIGNING_KEY_FILE": str(out)})
    assert result.exit_code == 0, result.output
    checkpoint, note = open_checkpoint(result.stdout, [verifier])
    tree = MemoryTree(event_leaf_hash(event.hash) for event in store.read_all())
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (ORIGIN, 24, tree.root())
    assert result.stdout.startswith(f"{ORIGIN}\n24\n{base64.b64encode(tree.root()).decode()}\n\n— {ORIGIN} ")
    earlier = run("checkpoint", "--key-file", str(out), "--size", "5")
    assert open_checkpoint(earlier.stdout, [verifier])[0].root == tree.root(5)
    # the private key is in its file and nowhere in the database
    seed_text = out.read_text().strip().split("+")[-1]
    with engine.connect() as connection:
        for table in ("events", TABLE, "checkpoints", "idempotency_keys"):
            assert all(seed_text not in repr(row) for row in connection.execute(text(f"SELECT * FROM {table}")))
    assert seed_text not in result.output


def test_checkpoint_without_a_key_or_beyond_the_log_names_what_to_do(run, tmp_path):
    missing = run("checkpoint")
    assert missing.exit_code == 2 and "POLICING_METRICS_SIGNING_KEY_FILE" in missing.output
    absent = run("checkpoint", "--key-file", str(tmp_path / "nowhere.key"))
    assert absent.exit_code == 2 and "does not exist" in absent.output
    (tmp_path / "bad.key").write_text("PRIVATE+KEY+x+00000000+AAAA\n")
    bad = run("checkpoint", "--key-file", str(tmp_path / "bad.key"))
    assert bad.exit_code == 2 and "bad.key" in bad.output
    out = tmp_path / "signing.key"
    run("keys", "create", "--name", ORIGIN, "--out", str(out))
    beyond = run("checkpoint", "--key-file", str(out), "--size", "25")
    assert beyond.exit_code == 2 and "24 events, not 25" in beyond.output
    assert run("keys", "public", "--key-file", str(out)).stdout.strip() == str(SigningKey.parse(out.read_text()).verifier())


def test_verify_names_a_damaged_tree_and_tree_rebuild_repairs_it(run, database):
    _, store, engine = database
    store.tree_head()  # the tree as the first read leaves it (appends write none of it)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {TABLE} SET hash = :h"), {"h": b"\x07" * 32})
    damaged = run("verify")
    assert damaged.exit_code == 1 and "Merkle tree damaged at position 1" in damaged.output
    rebuilt = run("tree", "rebuild")
    assert rebuilt.exit_code == 0 and "tree rebuilt: 24 events" in rebuilt.output
    verified = run("verify")
    assert verified.exit_code == 0 and "Merkle tree matches" in verified.output
    size, root = store.tree_head()
    assert run("tree", "head").stdout == f"{size} {base64.b64encode(root).decode()}\n"
