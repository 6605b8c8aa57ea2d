"""The auditor's recipe in docs/hash-chain.md works as written."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "hash-chain.md"


def test_the_worked_example_hash_is_sha256_of_genesis_and_the_envelope():
    doc = DOC.read_text()
    envelope = re.search(r"```\n(\{\"data\".*\})\n```", doc).group(1)
    stated = re.search(r"\| hash \| `([0-9a-f]{64})` \|", doc).group(1)
    assert hashlib.sha256(bytes(32) + envelope.encode()).hexdigest() == stated


def test_the_worked_example_is_what_the_store_hashes_for_the_columns_shown():
    from events.chain import envelope_bytes, event_hash

    doc = DOC.read_text()
    columns = dict(re.findall(r"^\| (\w+) \| `(.*)` \|$", doc, re.M))
    envelope = envelope_bytes(
        **{name: int(columns[name]) for name in ("position", "version", "schema_version")},
        **{name: columns[name] for name in ("stream", "type", "data", "metadata", "recorded_at")},
    )
    assert envelope.decode() == re.search(r"```\n(\{\"data\".*\})\n```", doc).group(1)
    assert event_hash(columns["prev_hash"], envelope) == columns["hash"]


def test_the_python_verifier_in_the_docs_verifies_a_log_we_wrote(tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    db = tmp_path / "var" / "policing-metrics.db"
    env = {"POLICING_METRICS_DATABASE_URL": f"sqlite:///{db}"}
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "service", *args], env=env, check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert re.match(r"ok: head \d+:[0-9a-f]{64}$", result.stdout.strip())


def test_the_configuration_page_lists_every_setting():
    from service.config import Settings

    page = (DOC.parent / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"`POLICING_METRICS_{name.upper()}`" in page, f"docs/configuration.md does not list {name}"


def test_the_recording_walkthrough_in_the_docs_runs_as_written(tmp_path):
    import shlex

    from typer.testing import CliRunner

    from service.cli import cli

    page = (DOC.parent / "recording.md").read_text()
    block = re.search(r"```sh\n(.*?)```", page, re.S).group(1)
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'docs.db'}"
    output = ""
    for line in block.strip().splitlines():
        command, _, comment = line.partition("  # ")
        args = shlex.split(command)
        assert args[0] == "policing-metrics"
        result = runner.invoke(cli, ["--database-url", url, *args[1:]], catch_exceptions=False)
        expected = 1 if comment.startswith("exits 1") else 0
        assert result.exit_code == expected, f"{command}\n{result.output}"
        output = result.output
    assert "saw 46 homicides, compared to 52 in the year ending June 2019, a 12% reduction" in output


PROOFS = DOC.parent / "proofs.md"


def test_the_proofs_pages_leaf_hash_runs_as_written_in_a_shell_and_is_what_the_tree_computes(tmp_path):
    from events.merkle import event_leaf_hash

    doc = PROOFS.read_text()
    block = re.search(r"```sh\n(printf '\\000'.*?)\n# ([0-9a-f]{64})  leaf\n```", doc, re.S)
    script, stated = block.group(1), block.group(2)
    result = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert result.stdout.split()[0] == stated
    event_hash = re.search(r"\| hash \| `([0-9a-f]{64})` \|", DOC.read_text()).group(1)
    assert event_leaf_hash(event_hash).hex() == stated


def test_the_proofs_pages_example_key_signs_exactly_the_checkpoint_shown():
    import base64

    from events.merkle import event_leaf_hash
    from events.notes import Checkpoint, SigningKey, VerifierKey, open_checkpoint, sign_checkpoint

    doc = PROOFS.read_text()
    private = re.search(r"^private key:  (\S+)$", doc, re.M).group(1)
    public = re.search(r"^verifier key: (\S+)$", doc, re.M).group(1)
    shown = re.search(r"```\n(police\.example/west-midlands\n1\n.*?\n)```", doc, re.S).group(1)
    key = SigningKey.parse(private)
    assert str(key.verifier()) == public
    event_hash = re.search(r"\| hash \| `([0-9a-f]{64})` \|", DOC.read_text()).group(1)
    assert sign_checkpoint(Checkpoint(key.name, 1, event_leaf_hash(event_hash)), key) == shown
    checkpoint, _ = open_checkpoint(shown, [VerifierKey.parse(public)])
    assert base64.b64encode(checkpoint.root).decode() in shown
