"""The bank's Ed25519 keys as the audit API accepts them: key objects, PEM or raw bytes.

The library never stores a private key: `AuditStore.checkpoint(signer, ...)` uses it for one
signature. Public keys may be given as an `Ed25519PublicKey`, PEM text or bytes, or the raw
32 bytes; anything else is an InputError saying what was expected.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .._base.errors import InputError

__all__ = [
    "generate_key",
    "key_id",
    "private_key",
    "public_key",
    "read_key_file",
]


def public_key(key: Any) -> Ed25519PublicKey:
    """An Ed25519 public key from a key object, PEM (str or bytes) or 32 raw bytes."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if isinstance(key, bytes):
        if len(key) == 32:
            return Ed25519PublicKey.from_public_bytes(key)
        try:
            loaded = serialization.load_pem_public_key(key)
        except ValueError:
            loaded = None
        if isinstance(loaded, Ed25519PublicKey):
            return loaded
        raise InputError(
            "public_key: expected an Ed25519 public key in PEM form (-----BEGIN PUBLIC"
            f" KEY-----) or 32 raw bytes, found {len(key)} bytes that are neither"
        )
    raise InputError(
        "public_key: expected an Ed25519 public key (cryptography's Ed25519PublicKey, PEM"
        f" or 32 raw bytes), found {type(key).__name__}"
    )


def private_key(key: Any) -> Ed25519PrivateKey:
    """An Ed25519 private key from a key object or unencrypted PEM (str or bytes)."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if isinstance(key, bytes):
        try:
            loaded = serialization.load_pem_private_key(key, password=None)
        except (ValueError, TypeError):
            loaded = None
        if isinstance(loaded, Ed25519PrivateKey):
            return loaded
        raise InputError(
            "signer: expected an unencrypted Ed25519 private key in PEM form (-----BEGIN"
            " PRIVATE KEY-----); found something else (its content is not shown)"
        )
    raise InputError(
        "signer: expected an Ed25519 private key (cryptography's Ed25519PrivateKey or PEM),"
        f" found {type(key).__name__}"
    )


def read_key_file(path: str | Path, what: str) -> bytes:
    """The bytes of a key file; InputError naming the file (never its content)."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read it ({exc.strerror})") from None


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 hex of the raw 32-byte public key: lets a verifier pick the
    right key from a keyring and detect being handed the wrong one."""
    return hashlib.sha256(public_key_bytes(public_key)).hexdigest()


def private_key_from_raw(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key_to_pem(key: Ed25519PrivateKey, password: bytes | None = None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def public_key_to_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key_pem(data: bytes, password: bytes | None = None) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=password)
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"expected an Ed25519 private key, got {type(key).__name__}")
    return key


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"expected an Ed25519 public key, got {type(key).__name__}")
    return key
