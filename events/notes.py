"""Signed notes and checkpoints: the C2SP signed-note and tlog-checkpoint formats, with Ed25519 keys.

Pure: no I/O. The bytes are those of c2sp.org/signed-note and c2sp.org/tlog-checkpoint, and of Go's
golang.org/x/mod/sumdb/note, which reads and writes the same keys and notes (tests/test_go_interop.py):

- checkpoint text:  "<origin>\\n<tree size in decimal>\\n<base64 of the 32-byte root>\\n" (then optional
  extension lines, each non-empty and ending in a newline);
- a signed note:    the text, a blank line, then one line per signature:
                    "— <key name> <base64(key ID as 4 bytes big-endian ‖ signature)>\\n" (U+2014, then a space);
- key ID:           the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key), big-endian;
- verifier key:     "<name>+<key ID, 8 lowercase hex digits>+<base64(0x01 ‖ public key)>";
- private key:      "PRIVATE+KEY+<name>+<key ID, 8 hex digits>+<base64(0x01 ‖ 32-byte seed)>", as Go's
                    note.GenerateKey writes it.

Opening a note follows the spec: signatures by unknown keys are kept aside, not checked (room for a
rotated key's successor, cosigners, witnesses); a known key's signature that fails rejects the note;
a note no known key signed is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Iterable, NamedTuple

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

ED25519 = 0x01  # the signature type byte of Ed25519 in signed-note
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100  # as Go's note.Open; the spec asks for at least 16
# The characters Go's unicode.IsSpace calls spaces (Unicode White_Space): none may be in a key name.
_SPACES = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                    "\u200a\u2028\u2029\u202f\u205f\u3000")
_SIZE = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, key or checkpoint that is not in the format, or not signed as it must be."""


class UnverifiedNote(NoteError):
    """No key the reader knows signed the note."""


class BadSignature(NoteError):
    """A known key's signature on the note does not verify: the text or the signature was changed."""


def valid_name(name: str) -> bool:
    """A key name: non-empty, no Unicode space, no plus sign (signed-note)."""
    return bool(name) and "+" not in name and not any(character in _SPACES for character in name)


def key_id(name: str, typed_public_key: bytes) -> int:
    """SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)[:4], as a big-endian unsigned integer."""
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + typed_public_key).digest()[:4], "big")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not standard base64 (RFC 4648 §4): {text!r}") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class VerifierKey:
    """A public key that checks signatures: name, key ID and Ed25519 public key."""

    def __init__(self, name: str, public_key: bytes) -> None:
        if not valid_name(name):
            raise NoteError(f"a key name is non-empty with no spaces or '+', found {name!r}")
        if len(public_key) != 32:
            raise NoteError(f"an Ed25519 public key is 32 bytes, found {len(public_key)}")
        self.name = name
        self.public_key = bytes(public_key)
        self.key_id = key_id(name, bytes([ED25519]) + self.public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self.public_key)

    @classmethod
    def parse(cls, text: str) -> "VerifierKey":
        """A verifier key from its text "name+keyid+base64(0x01 ‖ public key)"."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-fA-F]{8}", parts[1]):
            raise NoteError(f"a verifier key is NAME+KEYID(8 hex digits)+BASE64, found {text!r}")
        name, hex_id, encoded = parts
        typed = _b64decode(encoded, "the verifier key's key data")
        if not typed or typed[0] != ED25519 or len(typed) != 33:
            raise NoteError(f"the verifier key for {name!r} is not an Ed25519 key (type 0x01 and 32 bytes)")
        key = cls(name, typed[1:])
        if key.key_id != int(hex_id, 16):
            raise NoteError(f"the verifier key for {name!r} has key ID {hex_id}, but its key hashes to {key.key_id:08x}")
        return key

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([ED25519]) + self.public_key)}"

    def __repr__(self) -> str:
        return f"VerifierKey({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifierKey) and (self.name, self.public_key) == (other.name, other.public_key)

    def __hash__(self) -> int:
        return hash((self.name, self.public_key))

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except _BadSignature:
            return False
        return True


class SigningKey:
    """A private key that signs notes under a name. Never stored in the database; kept in a file."""

    def __init__(self, name: str, seed: bytes) -> None:
        if len(seed) != 32:
            raise NoteError(f"an Ed25519 private key (seed) is 32 bytes, found {len(seed)}")
        self._private = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._verifier = VerifierKey(name, public)
        self._seed = bytes(seed)

    @classmethod
    def generate(cls, name: str) -> "SigningKey":
        if not valid_name(name):
            raise NoteError(f"a key name is non-empty with no spaces or '+', found {name!r}")
        seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(name, seed)

    @classmethod
    def parse(cls, text: str) -> "SigningKey":
        """A private key from its text "PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)"."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not re.fullmatch(r"[0-9a-fA-F]{8}", parts[3]):
            raise NoteError("a private key is PRIVATE+KEY+NAME+KEYID(8 hex digits)+BASE64 (its text is not shown)")
        name, hex_id = parts[2], parts[3]
        typed = _b64decode(parts[4], "the private key's key data") if parts[4] else b""
        if not typed or typed[0] != ED25519 or len(typed) != 33:
            raise NoteError(f"the private key for {name!r} is not an Ed25519 key (type 0x01 and a 32-byte seed)")
        if not valid_name(name):
            raise NoteError(f"a key name is non-empty with no spaces or '+', found {name!r}")
        key = cls(name, typed[1:])
        if key.key_id != int(hex_id, 16):
            raise NoteError(f"the private key for {name!r} has key ID {hex_id}, but its public key hashes to {key.key_id:08x}")
        return key

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def private_text(self) -> str:
        """The private key as text, for its file only."""
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{_b64(bytes([ED25519]) + self._seed)}"

    def __repr__(self) -> str:  # never the seed
        return f"SigningKey(name={self.name!r}, key_id={self.key_id:08x})"

    def verifier(self) -> VerifierKey:
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


class Signature(NamedTuple):
    name: str
    key_id: int
    base64: str  # base64(key ID ‖ signature), as on the line

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {self.base64}\n"


class Note(NamedTuple):
    text: str  # ends in a newline; the signed bytes are its UTF-8
    signatures: tuple[Signature, ...]  # by known keys, verified
    unverified: tuple[Signature, ...] = ()  # by keys the reader does not know (cosigners, other keys)


def _check_text(text: str, what: str) -> None:
    bad = next((c for c in text if c < " " and c != "\n"), None)
    if bad is not None:
        raise NoteError(f"{what} holds the control character U+{ord(bad):04X}; only newlines are allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8 (a lone surrogate)") from None


def sign_note(text: str, *keys: SigningKey, signatures: Iterable[Signature] = ()) -> str:
    """The signed note of `text` (which ends in a newline): existing `signatures` kept, then one line per key."""
    if not text.endswith("\n"):
        raise NoteError("a note's text ends in a newline")
    _check_text(text, "the note's text")
    if not keys and not signatures:
        raise NoteError("a signed note needs at least one signature")
    message = text.encode()
    new = [
        Signature(key.name, key.key_id, _b64(key.key_id.to_bytes(4, "big") + key.sign(message))) for key in keys
    ]
    replaced = {(key.name, key.key_id) for key in keys}
    kept = [signature for signature in signatures if (signature.name, signature.key_id) not in replaced]
    return text + "\n" + "".join(signature.line() for signature in [*kept, *new])


def open_note(message: str | bytes, verifiers: Iterable[VerifierKey]) -> Note:
    """Parse a signed note and check every signature by a key in `verifiers` (all must verify, one at least)."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("the note is not valid UTF-8") from None
    _check_text(message, "the note")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("the note's signature lines are missing or do not end in a newline")
    known: dict[tuple[str, int], VerifierKey] = {}
    for verifier in verifiers:
        if known.setdefault((verifier.name, verifier.key_id), verifier) != verifier:
            raise NoteError(f"two different verifier keys named {verifier.name!r} with key ID {verifier.key_id:08x}")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    signed_bytes = text.encode()
    verified: dict[tuple[str, int], Signature] = {}
    unverified: dict[str, Signature] = {}
    for number, line in enumerate(lines, 1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"signature line {number} does not start with an em dash and a space: {line!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not valid_name(name) or not encoded:
            raise NoteError(f"signature line {number} is not '— NAME BASE64': {line!r}")
        raw = _b64decode(encoded, f"signature line {number}'s signature")
        if len(raw) < 5:
            raise NoteError(f"signature line {number}'s signature is {len(raw)} bytes, fewer than a key ID and a signature")
        signature = Signature(name, int.from_bytes(raw[:4], "big"), encoded)
        verifier = known.get((name, signature.key_id))
        if verifier is None:
            unverified.setdefault(line, signature)
            continue
        if (name, signature.key_id) in verified:
            continue
        if not verifier.verify(signed_bytes, raw[4:]):
            raise BadSignature(f"the signature by {name} (key ID {signature.key_id:08x}) does not verify: "
                               "the note's text or its signature was changed")
        verified[(name, signature.key_id)] = signature
    if not verified:
        names = ", ".join(f"{s.name} ({s.key_id:08x})" for s in unverified.values())
        expected = ", ".join(f"{v.name} ({v.key_id:08x})" for v in known.values()) or "none given"
        raise UnverifiedNote(f"no known key signed the note: signed by {names}; known keys: {expected}")
    return Note(text, tuple(verified.values()), tuple(unverified.values()))


class Checkpoint(NamedTuple):
    """A tree head: the log's origin, its size, its root hash (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        """The note text: origin, size, base64 root, then extension lines, each ending in a newline."""
        if not self.origin or "\n" in self.origin:
            raise NoteError(f"a checkpoint's origin is one non-empty line, found {self.origin!r}")
        if not isinstance(self.size, int) or self.size < 0:
            raise NoteError(f"a checkpoint's size is a whole number, found {self.size!r}")
        if len(self.root) != 32:
            raise NoteError(f"a checkpoint's root is 32 bytes, found {len(self.root)}")
        for line in self.extensions:
            if not line or "\n" in line:
                raise NoteError(f"a checkpoint's extension line is one non-empty line, found {line!r}")
        body = f"{self.origin}\n{self.size}\n{_b64(self.root)}\n" + "".join(f"{line}\n" for line in self.extensions)
        _check_text(body, "the checkpoint")
        return body

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        """A checkpoint from a note's text (origin, size, root, extension lines)."""
        if not text.endswith("\n"):
            raise NoteError("a checkpoint's text ends in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(f"a checkpoint has an origin, a size and a root hash line; found {len(lines)} lines")
        origin, size, root, *extensions = lines
        if not origin:
            raise NoteError("a checkpoint's origin line is empty")
        if not _SIZE.fullmatch(size):
            raise NoteError(f"a checkpoint's size is a decimal number without leading zeros, found {size!r}")
        digest = _b64decode(root, "the checkpoint's root hash")
        if len(digest) != 32:
            raise NoteError(f"a checkpoint's root hash is 32 bytes, found {len(digest)}")
        if any(not line for line in extensions):
            raise NoteError("a checkpoint's extension lines are non-empty")
        return cls(origin, int(size), digest, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> str:
    """The checkpoint as a note signed by `key` (whose name should be the origin)."""
    return sign_note(checkpoint.text(), key)


def open_checkpoint(message: str | bytes, verifiers: Iterable[VerifierKey]) -> tuple[Checkpoint, Note]:
    """A signed checkpoint's contents, once a known key's signature is checked."""
    note = open_note(message, verifiers)
    return Checkpoint.parse(note.text), note
