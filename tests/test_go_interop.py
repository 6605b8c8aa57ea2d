"""Interoperability is the test: Go's golang.org/x/mod/sumdb/note opens our signed checkpoints, and
golang.org/x/mod/sumdb/tlog computes, byte for byte, the roots and proofs we compute and accepts ours;
a key Go makes signs notes we accept, the same bytes as ours. Built from Debian's golang-go and
golang-golang-x-mod-dev (no network); with CI=true a missing Go fails, never skips."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from events import EventStore
from events.database import make_engine, upgrade
from events.merkle import event_leaf_hash
from events.notes import Checkpoint, SigningKey, VerifierKey, open_checkpoint, sign_note
from service.handlers.checkpoints import signed_checkpoint

from .publish_support import clock, example_database, example_store  # noqa: F401
from .support import counted
from .support import registry as test_registry

PROGRAM = Path(__file__).parent / "go" / "interop" / "main.go"
GOPATH = "/usr/share/gocode"  # where Debian's golang-*-dev packages put Go sources
NEEDED = Path(GOPATH) / "src" / "golang.org" / "x" / "mod" / "sumdb"
ORIGIN = "police.example/west-midlands"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def go_interop(tmp_path_factory) -> Path:
    go = shutil.which("go")
    if go is None or not NEEDED.is_dir():
        missing = "the `go` command (Debian golang-go)" if go is None else f"{NEEDED} (Debian golang-golang-x-mod-dev)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} is missing: the Go interoperability test cannot run")
        pytest.skip(f"{missing} is missing")
    out = tmp_path_factory.mktemp("go") / "interop"
    env = {**os.environ, "GOPATH": GOPATH, "GO111MODULE": "off", "GOFLAGS": "", "CGO_ENABLED": "0"}
    env.setdefault("GOCACHE", str(tmp_path_factory.mktemp("gocache")))
    subprocess.run([go, "build", "-o", str(out), str(PROGRAM)], env=env, check=True, capture_output=True, timeout=300)
    return out


def ask_go(program: Path, request: dict) -> dict:
    result = subprocess.run([str(program)], input=json.dumps(request), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def flipped(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return b64(bytes(raw))


def proof_requests(store: EventStore, sizes: list[int], positions_at: dict[int, list[int]], pairs: list[tuple[int, int]]):
    leaves = {event.position: event_leaf_hash(event.hash) for event in store.read_all()}
    inclusion = []
    for size in sizes:
        root = store.tree_root(size)
        for position, proof in store.inclusion_proofs(positions_at.get(size, range(1, size + 1)), size).items():
            inclusion.append({"index": position - 1, "size": size, "root": b64(root), "leaf": b64(leaves[position]),
                              "proof": [b64(h) for h in proof]})
    consistency = [
        {"old": old, "new": new, "old_root": b64(store.tree_root(old)), "new_root": b64(store.tree_root(new)),
         "proof": [b64(h) for h in store.consistency_proof(old, new)]}
        for old, new in pairs
    ]
    return inclusion, consistency


def check_proofs_agree(answer: dict, inclusion: list[dict], consistency: list[dict]) -> None:
    for asked, said in zip(inclusion, answer["inclusion"], strict=True):
        where = f"leaf {asked['index']} of {asked['size']}"
        assert said["ok"], f"tlog.CheckRecord refused our proof of {where}: {said.get('error')}"
        assert said["go_proof"] == asked["proof"], f"tlog.ProveRecord differs from ours for {where}"
        assert said["go_leaf"] == asked["leaf"], f"tlog.RecordHash differs from our leaf hash of {where}"
    for asked, said in zip(consistency, answer["consistency"], strict=True):
        where = f"sizes {asked['old']} to {asked['new']}"
        assert said["ok"], f"tlog.CheckTree refused our consistency proof for {where}: {said.get('error')}"
        assert said["go_proof"] == asked["proof"], f"tlog.ProveTree differs from ours for {where}"


def test_go_opens_our_signed_checkpoints_of_the_example_log_and_checks_every_proof(go_interop, example_store):
    store = example_store
    key, stranger = SigningKey.generate(ORIGIN), SigningKey.generate(ORIGIN)
    size = store.tree_head()[0]
    earlier = size // 2
    now_note, earlier_note = signed_checkpoint(store, key), signed_checkpoint(store, key, earlier)
    lines = now_note.split("\n")
    tampered = "\n".join([lines[0], str(size + 1), *lines[2:]])  # another size, same signature
    request = {
        "vkey": str(key.verifier()),
        "notes": [now_note, earlier_note, tampered, signed_checkpoint(store, stranger),
                  sign_note(Checkpoint(ORIGIN, size, store.tree_root(size)).text(), key, SigningKey.generate("witness.example"))],
        "leaves": [event.hash for event in store.read_all()],
        "roots": list(range(1, size + 1)),
    }
    request["inclusion"], request["consistency"] = proof_requests(
        store, [size, earlier], {}, [(1, size), (earlier, size), (size - 1, size), (size, size), (3, earlier)]
    )
    # Proofs that must fail: a hash changed, a proof for another tree size, another leaf.
    bad_inclusion = [
        {**request["inclusion"][0], "proof": [flipped(request["inclusion"][0]["proof"][0]), *request["inclusion"][0]["proof"][1:]]},
        {**request["inclusion"][-1], "size": size},  # a proof at the earlier size, checked against the later tree
        {**request["inclusion"][1], "leaf": request["inclusion"][2]["leaf"]},
    ]
    bad_consistency = [{**request["consistency"][1], "proof": [flipped(request["consistency"][1]["proof"][0]),
                                                                *request["consistency"][1]["proof"][1:]]}]
    answer = ask_go(go_interop, {**request, "inclusion": request["inclusion"] + bad_inclusion,
                                 "consistency": request["consistency"] + bad_consistency})

    signed_now, signed_earlier, changed, by_stranger, cosigned = answer["notes"]
    assert signed_now["ok"], signed_now
    assert signed_now["text"] == f"{ORIGIN}\n{size}\n{b64(store.tree_root(size))}\n"
    assert signed_now["signers"] == [f"{ORIGIN}+{key.key_id:08x}"]
    assert signed_earlier["ok"] and signed_earlier["text"].split("\n")[1] == str(earlier)
    assert not changed["ok"] and "invalid signature" in changed["error"]
    assert not by_stranger["ok"] and "no verifiable signatures" in by_stranger["error"]
    assert cosigned["ok"] and cosigned["unverified"] == [f"witness.example+{cosigned['unverified'][0].split('+')[1]}"]
    assert answer["roots"] == {str(n): b64(store.tree_root(n)) for n in range(1, size + 1)}
    count, pairs = len(request["inclusion"]), len(request["consistency"])
    check_proofs_agree({**answer, "inclusion": answer["inclusion"][:count], "consistency": answer["consistency"][:pairs]},
                       request["inclusion"], request["consistency"])
    assert [said["ok"] for said in answer["inclusion"][count:]] == [False, False, False]
    assert [said["ok"] for said in answer["consistency"][pairs:]] == [False]


def test_go_computes_our_roots_and_proofs_byte_for_byte_for_trees_of_every_shape(go_interop, tmp_path, clock):
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    try:
        upgrade(engine)
        store = EventStore(engine, test_registry, clock=clock)
        for count in (1, 2, 13, 1, 50, 200, 3, 1):
            store.append("s", [counted(count=i) for i in range(count)], expected_version=None)
        size = store.tree_head()[0]  # 271: levels 0 to 8, stored and folded hashes alike
        sizes = [1, 2, 3, 16, 17, 255, 256, 257, size]
        positions_at = {n: sorted(p for p in {1, 2, n // 2, n - 1, n} if 1 <= p <= n) for n in sizes}
        pairs = [(m, n) for n in sizes for m in sizes if m <= n]
        inclusion, consistency = proof_requests(store, sizes, positions_at, pairs)
        answer = ask_go(go_interop, {"leaves": [event.hash for event in store.read_all()], "roots": sizes,
                                     "inclusion": inclusion, "consistency": consistency})
        assert answer["roots"] == {str(n): b64(store.tree_root(n)) for n in sizes}
        check_proofs_agree(answer, inclusion, consistency)
    finally:
        engine.dispose()


def test_a_key_made_by_go_signs_notes_we_accept_and_we_sign_the_same_bytes(go_interop):
    text = Checkpoint("go.example/log", 7, bytes(range(32))).text()
    answer = ask_go(go_interop, {"generate": "go.example/log", "sign_text": text})
    key = SigningKey.parse(answer["skey"])
    assert str(key.verifier()) == answer["go_vkey"]
    assert key.private_text() == answer["skey"]
    checkpoint, note = open_checkpoint(answer["signed"], [VerifierKey.parse(answer["go_vkey"])])
    assert checkpoint == Checkpoint("go.example/log", 7, bytes(range(32)))
    assert sign_note(text, key) == answer["signed"]  # Ed25519 is deterministic: the same bytes as Go's
