"""Signed notes and checkpoints: byte for byte the C2SP formats (the specs' and Go's published examples), and
every change to a signed note is refused."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.notes import (
    BadSignature,
    Checkpoint,
    NoteError,
    SigningKey,
    UnverifiedNote,
    VerifierKey,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)

# c2sp.org/signed-note's example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n"
             "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
# The example in golang.org/x/mod/sumdb/note's package documentation.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def test_the_signed_note_specs_example_verifies_with_its_key():
    key = VerifierKey.parse(SPEC_VKEY)
    assert (key.name, key.key_id, str(key)) == ("example.com/foo", 0x530D903A, SPEC_VKEY)
    note = open_note(SPEC_NOTE, [key])
    assert note.text == "This is an example message.\n"
    assert [(s.name, s.key_id) for s in note.signatures] == [("example.com/foo", 0x530D903A)]


def test_gos_example_private_key_signs_gos_example_note_byte_for_byte():
    key = SigningKey.parse(GO_SKEY)
    assert str(key.verifier()) == GO_VKEY
    assert key.private_text() == GO_SKEY
    assert sign_note(GO_TEXT, key) == GO_NOTE
    assert open_note(GO_NOTE.encode(), [VerifierKey.parse(GO_VKEY)]).text == GO_TEXT


def test_a_checkpoint_is_origin_size_and_base64_root_each_on_its_line():
    root = bytes(range(32))
    checkpoint = Checkpoint("police.example/west-midlands", 23, root)
    assert checkpoint.text() == "police.example/west-midlands\n23\n" + base64.b64encode(root).decode() + "\n"
    key = SigningKey.generate("police.example/west-midlands")
    signed = sign_checkpoint(checkpoint, key)
    assert signed.startswith(checkpoint.text() + "\n— police.example/west-midlands ")
    signature = base64.b64decode(signed.rsplit(" ", 1)[1])
    assert len(signature) == 4 + 64 and int.from_bytes(signature[:4], "big") == key.key_id
    opened, note = open_checkpoint(signed, [key.verifier()])
    assert opened == checkpoint and note.unverified == ()


def test_the_c2sp_checkpoint_example_parses():
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = Checkpoint.parse(text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert checkpoint.text() == text


@pytest.mark.parametrize("text", [
    "origin\n23\n",  # no root line
    "origin\n023\n" + base64.b64encode(bytes(32)).decode() + "\n",  # a leading zero
    "origin\n+23\n" + base64.b64encode(bytes(32)).decode() + "\n",
    "origin\n２３\n" + base64.b64encode(bytes(32)).decode() + "\n",  # not ASCII digits
    "origin\n23\n" + base64.b64encode(bytes(31)).decode() + "\n",  # a root of 31 bytes
    "origin\n23\n" + base64.b64encode(bytes(32)).decode().rstrip("=") + "\n",  # unpadded base64
    "\n23\n" + base64.b64encode(bytes(32)).decode() + "\n",  # no origin
    "origin\n23\n" + base64.b64encode(bytes(32)).decode() + "\n\nextension\n",  # an empty extension line
    "origin\n23\n" + base64.b64encode(bytes(32)).decode(),  # no final newline
])
def test_a_checkpoint_text_not_in_the_format_is_refused(text):
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def signed_example() -> tuple[SigningKey, str]:
    key = SigningKey.generate("police.example/log")
    return key, sign_checkpoint(Checkpoint("police.example/log", 5, bytes(range(32))), key)


@settings(deadline=None)  # a loaded machine is no failure
@given(st.data())
def test_any_changed_character_of_a_signed_checkpoint_is_refused(data):
    key, signed = signed_example.cached  # one key for all examples: key generation is not what is tested
    at = data.draw(st.integers(0, len(signed) - 1))
    replacement = data.draw(st.sampled_from("a0+/=\n —x"))
    changed = signed[:at] + replacement + signed[at + 1 :]
    if changed == signed:
        return
    try:
        open_checkpoint(changed, [key.verifier()])
    except NoteError:
        return
    # Accepted only if the change was in the unused low bits of the signature's last base64 digit
    # (base64 readers, Go's too, decode those to the same bytes): the same signature on the same text.
    assert changed[:-3] == signed[:-3]
    assert base64.b64decode(changed.rsplit(" ", 1)[1]) == base64.b64decode(signed.rsplit(" ", 1)[1])


signed_example.cached = signed_example()


def test_a_note_signed_by_another_key_of_the_same_name_is_unverified():
    key, signed = signed_example()
    impostor = SigningKey.generate(key.name)
    with pytest.raises(UnverifiedNote, match="no known key"):
        open_note(signed, [impostor.verifier()])


def test_a_known_keys_signature_that_fails_rejects_the_note_even_if_another_verifies():
    key, signed = signed_example()
    other = SigningKey.generate("witness.example")
    text = signed.split("\n\n")[0] + "\n"
    cosigned = sign_note(text, key, other)
    forged_line = cosigned.splitlines(keepends=True)[-1]
    # the witness's line over a different text
    bad = sign_note("police.example/log\n6\n" + base64.b64encode(bytes(32)).decode() + "\n", other).splitlines(True)[-1]
    with pytest.raises(BadSignature):
        open_note(cosigned.replace(forged_line, bad), [key.verifier(), other.verifier()])


def test_unknown_signatures_are_kept_aside_so_cosigners_and_rotated_keys_fit():
    key, signed = signed_example()
    witness = SigningKey.generate("witness.example/w1")
    text = signed.split("\n\n")[0] + "\n"
    opened = open_note(signed, [key.verifier()])
    cosigned = sign_note(text, witness, signatures=opened.signatures)
    assert cosigned.startswith(signed)  # the log's own line first, the cosignature appended
    by_log = open_note(cosigned, [key.verifier()])
    assert [s.name for s in by_log.signatures] == [key.name]
    assert [s.name for s in by_log.unverified] == ["witness.example/w1"]
    by_both = open_note(cosigned, [key.verifier(), witness.verifier()])
    assert [s.name for s in by_both.signatures] == [key.name, "witness.example/w1"]


@pytest.mark.parametrize("vkey", [
    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # key ID does not match
    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not Ed25519
    "PeterNeumann+c74f20a3",
    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # base64 cut short
])
def test_a_verifier_key_not_in_the_format_is_refused(vkey):
    with pytest.raises(NoteError):
        VerifierKey.parse(vkey)


def test_a_private_key_whose_key_id_does_not_match_is_refused_without_showing_it():
    with pytest.raises(NoteError) as refused:
        SigningKey.parse(GO_SKEY.replace("c74f20a3", "c74f20a4"))
    assert "AYEKFALV" not in str(refused.value)
    with pytest.raises(NoteError) as refused:
        SigningKey.parse(GO_SKEY.replace("PRIVATE+KEY", "PRIVATE+KYE"))
    assert "AYEKFALV" not in str(refused.value)
    assert "AYEKFALV" not in repr(SigningKey.parse(GO_SKEY))


@pytest.mark.parametrize("note", [
    GO_TEXT + "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
    GO_NOTE.rstrip("\n"),
    GO_NOTE.replace("— ", "- "),
    GO_NOTE.replace("\n— ", "\n—  "),
    GO_NOTE.replace("If you", "If\tyou"),
    GO_NOTE + "— PeterNeumann AAAA\n",  # a signature too short to hold a key ID and a signature
])
def test_a_note_not_in_the_format_is_refused(note):
    with pytest.raises(NoteError):
        open_note(note, [VerifierKey.parse(GO_VKEY)])


def test_signing_refuses_a_text_that_would_not_be_a_note():
    key = SigningKey.parse(GO_SKEY)
    with pytest.raises(NoteError):
        sign_note("no final newline", key)
    with pytest.raises(NoteError):
        sign_note("a\x00b\n", key)
    with pytest.raises(NoteError):
        SigningKey.generate("two words")
