"""Signed tree heads (checkpoints) and proof objects for the audit log.

A checkpoint commits to the Merkle root of the first ``size`` decisions plus
the digest of the policy registry in force.  It is signed with Ed25519 over

    b"dunning-checkpoint-v1\\n" + JCS({size, root_hash, timestamp,
                                      registry_digest, key_id})

The domain prefix makes a checkpoint signature useless as a signature over
anything else the same key might sign (and vice versa); bump the version in
the prefix if the field set ever changes.

Verification needs only the checkpoint, the proof and the public key: no
access to the store.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .._base.canonical import canonical_bytes
from .._base.errors import InputError
from .._decide.decision import Decision
from . import merkle
from .keys import generate_key as generate_key
from .keys import key_id as key_id
from .keys import load_private_key_pem as load_private_key_pem
from .keys import load_public_key_pem as load_public_key_pem
from .keys import private_key_from_raw as private_key_from_raw
from .keys import private_key_to_pem as private_key_to_pem
from .keys import public_key as _public_key
from .keys import public_key_bytes as public_key_bytes
from .keys import public_key_from_raw as public_key_from_raw
from .keys import public_key_to_pem as public_key_to_pem

DOMAIN = b"dunning-checkpoint-v1\n"

_HEX64 = re.compile(r"[0-9a-f]{64}")


class FormatError(InputError):
    """A checkpoint or proof does not have the expected shape."""


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _require_int(name: str, value: object) -> int:
    # bool is an int subclass; True must not pass as size 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"{name} must be a non-negative int, got {value!r}")
    return value


def _require_hex64(name: str, value: object) -> str:
    # Lower-case only, so that one hash has exactly one spelling under the
    # signature.
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise FormatError(f"{name} must be 64 lower-case hex chars, got {value!r}")
    return value


def _require_utc(value: object) -> str:
    """Accept an ISO-8601 string with an explicit zero UTC offset.  The
    string is kept verbatim (it is what gets signed); naive or non-UTC
    timestamps are refused so that checkpoints order unambiguously."""
    if not isinstance(value, str):
        raise FormatError(f"timestamp must be a string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormatError(f"timestamp {value!r} is not ISO-8601") from exc
    if parsed.utcoffset() != timedelta(0):
        raise FormatError(f"timestamp {value!r} must be timezone-aware UTC")
    return value


def _no_float(text: str) -> object:
    raise FormatError(f"float {text} not allowed")


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last duplicate; two readers could then
    # disagree about what a signed object says.
    out = dict(pairs)
    if len(out) != len(pairs):
        raise FormatError("duplicate key in JSON object")
    return out


def _loads_value(data: str | bytes) -> object:
    try:
        return json.loads(data, parse_float=_no_float, object_pairs_hook=_no_dupes)
    except json.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON: {exc}") from exc


def _loads(data: str | bytes) -> dict[str, Any]:
    obj = _loads_value(data)
    if not isinstance(obj, dict):
        raise FormatError("expected a JSON object")
    return obj


def _exact_keys(obj: dict[str, Any], cls: type) -> None:
    want = {f.name for f in fields(cls)}
    if set(obj) != want:
        raise FormatError(
            f"{cls.__name__} fields must be exactly {sorted(want)}, got {sorted(obj)}"
        )


def _hex_path(path: object) -> tuple[str, ...]:
    if not isinstance(path, (list, tuple)):
        raise FormatError("path must be a list of hex hashes")
    return tuple(_require_hex64("path element", p) for p in path)


# --------------------------------------------------------------------------
# Checkpoint
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root_hash: str
    timestamp: str
    registry_digest: str
    key_id: str
    signature: str

    def __post_init__(self) -> None:
        _require_int("size", self.size)
        _require_hex64("root_hash", self.root_hash)
        _require_utc(self.timestamp)
        _require_hex64("registry_digest", self.registry_digest)
        _require_hex64("key_id", self.key_id)
        if not isinstance(self.signature, str):
            raise FormatError("signature must be a base64 string")

    def __repr__(self) -> str:
        return (
            f"<Checkpoint size={self.size} root={self.root_hash[:12]}... at {self.timestamp}"
            f" key={self.key_id[:12]}...>"
        )

    def signed_message(self) -> bytes:
        return _message(
            self.size, self.root_hash, self.timestamp, self.registry_digest, self.key_id
        )

    def to_json(self) -> str:
        return canonical_bytes(asdict(self)).decode("utf-8")

    @classmethod
    def from_json(cls, data: str | bytes) -> Checkpoint:
        obj = _loads(data)
        _exact_keys(obj, cls)
        return cls(**obj)

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.root_hash)


def _message(size: int, root_hash: str, timestamp: str, registry_digest: str, kid: str) -> bytes:
    body = {
        "size": size,
        "root_hash": root_hash,
        "timestamp": timestamp,
        "registry_digest": registry_digest,
    }
    body["key_id"] = kid
    return DOMAIN + canonical_bytes(body)


def sign_checkpoint(
    size: int,
    root: bytes | str,
    timestamp: str,
    registry_digest: str,
    private_key: Ed25519PrivateKey,
) -> Checkpoint:
    """Sign the tree head for ``size`` leaves.  ``root`` may be raw bytes or
    lower-case hex; ``timestamp`` is ISO-8601 UTC chosen by the caller (the
    store's clock, so it can be tested and replayed)."""
    root_hex = root.hex() if isinstance(root, bytes) else root
    # Validate before signing: never produce a signature over junk.
    _require_int("size", size)
    _require_hex64("root_hash", root_hex)
    _require_utc(timestamp)
    _require_hex64("registry_digest", registry_digest)
    kid = key_id(private_key.public_key())
    sig = private_key.sign(_message(size, root_hex, timestamp, registry_digest, kid))
    return Checkpoint(
        size, root_hex, timestamp, registry_digest, kid, base64.b64encode(sig).decode("ascii")
    )


def verify_checkpoint(cp: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True iff ``cp`` was signed by ``public_key`` (and names that key)."""
    if cp.key_id != key_id(public_key):
        return False
    try:
        sig = base64.b64decode(cp.signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    # Only the canonical base64 spelling is accepted: otherwise one
    # signature would have several valid encodings.
    if len(sig) != 64 or base64.b64encode(sig).decode("ascii") != cp.signature:
        return False
    try:
        public_key.verify(sig, cp.signed_message())
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------
# Proof objects
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    path: tuple[str, ...]  # hex, leaf-to-root; a tuple keeps the object immutable

    def __post_init__(self) -> None:
        _require_int("leaf_index", self.leaf_index)
        _require_int("tree_size", self.tree_size)
        object.__setattr__(self, "path", _hex_path(self.path))

    def __repr__(self) -> str:
        return (
            f"<InclusionProof leaf {self.leaf_index} of {self.tree_size}, {len(self.path)} hashes>"
        )

    @classmethod
    def from_hashes(cls, leaf_index: int, tree_size: int, path: Sequence[bytes]) -> InclusionProof:
        return cls(leaf_index, tree_size, tuple(h.hex() for h in path))

    def hashes(self) -> list[bytes]:
        return [bytes.fromhex(h) for h in self.path]

    def to_json(self) -> str:
        body = {"leaf_index": self.leaf_index, "tree_size": self.tree_size, "path": list(self.path)}
        return canonical_bytes(body).decode()

    @classmethod
    def from_json(cls, data: str | bytes) -> InclusionProof:
        obj = _loads(data)
        _exact_keys(obj, cls)
        return cls(obj["leaf_index"], obj["tree_size"], _hex_path(obj["path"]))


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    path: tuple[str, ...]

    def __post_init__(self) -> None:
        _require_int("old_size", self.old_size)
        _require_int("new_size", self.new_size)
        object.__setattr__(self, "path", _hex_path(self.path))

    def __repr__(self) -> str:
        return f"<ConsistencyProof {self.old_size} -> {self.new_size}, {len(self.path)} hashes>"

    @classmethod
    def from_hashes(cls, old_size: int, new_size: int, path: Sequence[bytes]) -> ConsistencyProof:
        return cls(old_size, new_size, tuple(h.hex() for h in path))

    def hashes(self) -> list[bytes]:
        return [bytes.fromhex(h) for h in self.path]

    def to_json(self) -> str:
        body = {"old_size": self.old_size, "new_size": self.new_size, "path": list(self.path)}
        return canonical_bytes(body).decode()

    @classmethod
    def from_json(cls, data: str | bytes) -> ConsistencyProof:
        obj = _loads(data)
        _exact_keys(obj, cls)
        return cls(obj["old_size"], obj["new_size"], _hex_path(obj["path"]))


# --------------------------------------------------------------------------
# End-to-end verification
# --------------------------------------------------------------------------


def record_leaf_data(record: bytes | str | object) -> bytes:
    """The bytes that were hashed into the leaf for ``record``.

    * ``bytes``: taken verbatim (caller holds the stored canonical bytes).
    * ``str``: JSON text; parsed (floats refused) and re-canonicalised, so
      whitespace or key order in an export does not matter.
    * anything else: a JSON value (normally a dict), canonicalised.
    """
    if isinstance(record, bytes):
        return record
    if isinstance(record, Decision):
        return record.to_json().encode("utf-8")
    if isinstance(record, str):
        record = _loads_value(record)
    return canonical_bytes(record)


def verify_inclusion(
    decision_json: bytes | str | object,
    proof: InclusionProof,
    checkpoint: Checkpoint,
    public_key: Ed25519PublicKey | bytes | str,
) -> bool:
    """True when `checkpoint` is signed by `public_key` and `decision_json` (the decision's
    JSON text, its bytes, the Decision, or the parsed object) is leaf `proof.leaf_index`
    (record seq - 1) of the tree it commits to. Needs no database."""
    key = _public_key(public_key)
    if not verify_checkpoint(checkpoint, key):
        return False
    if proof.tree_size != checkpoint.size:
        return False
    leaf = merkle.leaf_hash(record_leaf_data(decision_json))
    return merkle.verify_inclusion(
        proof.leaf_index, proof.tree_size, leaf, proof.hashes(), checkpoint.root
    )


def verify_consistency(
    old: Checkpoint,
    new: Checkpoint,
    proof: ConsistencyProof,
    public_key: Ed25519PublicKey | bytes | str,
) -> bool:
    """True when both checkpoints are signed by `public_key` and the tree of `new` is an
    append-only extension of the tree of `old` (nothing under `old` changed). No database."""
    key = _public_key(public_key)
    if not (verify_checkpoint(old, key) and verify_checkpoint(new, key)):
        return False
    if (proof.old_size, proof.new_size) != (old.size, new.size):
        return False
    return merkle.verify_consistency(old.size, new.size, old.root, new.root, proof.hashes())
